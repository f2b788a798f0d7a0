"""Sample-quality scores on features and class probabilities (numpy only).

fid(real_feats, fake_feats)            Fréchet distance of Gaussian fits (Heusel et al. 2017)
inception_score(probs)                 exp E[KL(p(y|x) || p(y))] (Salimans et al. 2016)
class_coverage(probs)                  normalised entropy of the predicted-class histogram
precision_recall(real, fake, k=3)      k-NN manifolds (Kynkäänniemi et al. 2019)
class_accuracy(probs, labels)          share of samples of class k classified as k
"""

from __future__ import annotations

import numpy as np


def gaussian_stats(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    feats = np.asarray(feats, dtype=np.float64)
    return feats.mean(axis=0), np.cov(feats, rowvar=False)


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + tr(C1 + C2 - 2 (C1^1/2 C2 C1^1/2)^1/2), via symmetric eigendecompositions
    (stable, no complex sqrtm round-off)."""
    vals, vecs = np.linalg.eigh(cov1)
    sqrt1 = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T  # C1^1/2
    middle = sqrt1 @ cov2 @ sqrt1
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * tr_sqrt, 0.0))


def fid(real_feats: np.ndarray, fake_feats: np.ndarray) -> float:
    return frechet_distance(*gaussian_stats(real_feats), *gaussian_stats(fake_feats))


def inception_score(probs: np.ndarray, eps: float = 1e-12) -> float:
    probs = np.asarray(probs, dtype=np.float64)
    marginal = probs.mean(axis=0, keepdims=True)
    kl = (probs * (np.log(probs + eps) - np.log(marginal + eps))).sum(axis=1)
    return float(np.exp(kl.mean()))


def class_coverage(probs: np.ndarray) -> float:
    """1.0: the predicted classes are used equally; 0.0: everything is one class."""
    k = probs.shape[1]
    hist = np.bincount(np.asarray(probs).argmax(axis=1), minlength=k) / len(probs)
    nz = hist[hist > 0]
    return float(-(nz * np.log(nz)).sum() / np.log(k))


def class_accuracy(probs: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """For conditional samples: per-class and overall share classified as the asked-for class."""
    pred = np.asarray(probs).argmax(axis=1)
    labels = np.asarray(labels)
    per = {str(int(c)): float((pred[labels == c] == c).mean()) for c in np.unique(labels)}
    return {"overall": float((pred == labels).mean()), **per}


def _pairwise_sq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T
    return np.maximum(d, 0)


def _knn_radii(feats: np.ndarray, k: int, chunk: int) -> np.ndarray:
    """Squared distance from each point to its k-th nearest neighbour (itself excluded)."""
    radii = np.empty(len(feats))
    for i in range(0, len(feats), chunk):
        d = _pairwise_sq(feats[i : i + chunk], feats)
        radii[i : i + chunk] = np.partition(d, k, axis=1)[:, k]  # column 0 is the point itself
    return radii


def _inside(queries: np.ndarray, refs: np.ndarray, ref_radii: np.ndarray, chunk: int) -> np.ndarray:
    hits = np.zeros(len(queries), dtype=bool)
    for i in range(0, len(queries), chunk):
        d = _pairwise_sq(queries[i : i + chunk], refs)
        hits[i : i + chunk] = (d <= ref_radii[None, :]).any(axis=1)
    return hits


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3, chunk: int = 1024) -> tuple[float, float]:
    """Precision: share of fakes inside the real manifold; recall: share of reals inside the fake one.
    Each manifold is the union of balls reaching every point's k-th nearest neighbour."""
    real = np.asarray(real, dtype=np.float32)
    fake = np.asarray(fake, dtype=np.float32)
    precision = _inside(fake, real, _knn_radii(real, k, chunk), chunk).mean()
    recall = _inside(real, fake, _knn_radii(fake, k, chunk), chunk).mean()
    return float(precision), float(recall)
