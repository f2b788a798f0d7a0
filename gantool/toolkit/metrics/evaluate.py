"""`evaluate(source, EvalConfig)`: quality metrics for a checkpoint or an exported ONNX file.

Samples come from seeded PCG64 latents (gantool.runtime.latents), so a checkpoint and
its exports are scored on the same latents and their FIDs are comparable.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from gantool.errors import GantoolError
from gantool.runtime.latents import cycle_labels, latents
from gantool.toolkit.metrics import scores
from gantool.toolkit.metrics.features import FeatureExtractor, load_or_train

MAX_N = 50_000  # 50k samples ~ 40 MB of images and 25 MB of features: bounded memory


@dataclass
class EvalConfig:
    n: int = 10_000  # generated samples
    seed: int = 0  # latent seed
    dataset: Optional[str] = None  # reference dataset; default: the model's (mnist-sample -> mnist)
    data_dir: Optional[str] = None  # where the reference test split lives
    pr_samples: int = 5_000  # precision / recall on at most this many of each
    pr_k: int = 3
    feature_seed: int = 0

    def validate(self) -> "EvalConfig":
        if isinstance(self.n, bool) or not isinstance(self.n, int) or not 2 <= self.n <= MAX_N:
            raise GantoolError(f"n must be between 2 and {MAX_N}, got {self.n}")
        if self.pr_samples < self.pr_k + 2:
            raise GantoolError(f"pr_samples must be > k + 1, got {self.pr_samples}")
        return self


def reference_dataset(train_dataset: str) -> str:
    """The dataset whose test split judges a model trained on `train_dataset`."""
    return "mnist" if train_dataset == "mnist-sample" else train_dataset


class Evaluator:
    """The feature network and the real test split's features, built once and reused."""

    def __init__(self, train_dataset: str, data_dir: Optional[str] = None, seed: int = 0,
                 progress: bool = True, download: bool = False) -> None:
        from gantool.toolkit.data import load_dataset

        ref = reference_dataset(train_dataset)
        try:
            test = load_dataset(ref, "test", data_dir, download=download)
        except GantoolError as e:
            raise GantoolError(f"evaluation needs the {ref} test split: {e}") from None
        train = load_dataset(train_dataset, "train", data_dir, download=download)
        self.train_images = train.images
        self.dataset, self.reference = train_dataset, ref
        self.extractor: FeatureExtractor = load_or_train(
            train.images, train.labels, dataset=train.name, seed=seed, test=(test.images, test.labels),
            progress=progress)
        self.test_feats, self.test_probs = self.extractor(test.images)
        self.test_stats = scores.gaussian_stats(self.test_feats)

    def floor(self, n: int, seed: int = 0) -> float:
        """FID of real training digits against the test digits, for the same sample size."""
        rng = np.random.default_rng(seed)
        m = min(n, len(self.train_images))
        feats, _ = self.extractor(self.train_images[rng.choice(len(self.train_images), m, replace=False)])
        return scores.frechet_distance(*self.test_stats, *scores.gaussian_stats(feats))

    def score(self, images: np.ndarray, labels: Optional[np.ndarray] = None, pr_samples: int = 5000,
              k: int = 3, seed: int = 0) -> dict[str, Any]:
        """Metrics for generated uint8 images (N, 28, 28) against the real test split."""
        feats, probs = self.extractor(images)
        rng = np.random.default_rng(seed)
        real_pr = self.test_feats[rng.choice(len(self.test_feats), min(pr_samples, len(self.test_feats)), replace=False)]
        fake_pr = feats[rng.choice(len(feats), min(pr_samples, len(feats)), replace=False)]
        precision, recall = scores.precision_recall(real_pr, fake_pr, k=k)
        out = {
            "fid": scores.frechet_distance(*self.test_stats, *scores.gaussian_stats(feats)),
            "inception_score": scores.inception_score(probs),
            "coverage": scores.class_coverage(probs),
            "precision": precision,
            "recall": recall,
        }
        if labels is not None:
            out["class_accuracy"] = scores.class_accuracy(probs, labels)
        return out


def generated_images(sample: Callable[[np.ndarray, Optional[np.ndarray]], np.ndarray], n: int, latent_dim: int,
                     num_classes: int, seed: int, batch: int = 500) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """n uint8 images from `sample(z, labels)` on seeded latents; labels cycle 0..K-1."""
    z = latents(n, latent_dim, seed)
    labels = cycle_labels(n, num_classes) if num_classes else None
    parts = [sample(z[i : i + batch], None if labels is None else labels[i : i + batch]) for i in range(0, n, batch)]
    return np.concatenate(parts), labels


def torch_sampler(generator) -> Callable:
    import torch

    from gantool.toolkit.plots import to_uint8

    def run(z: np.ndarray, labels: Optional[np.ndarray]) -> np.ndarray:
        with torch.no_grad():
            x = generator(torch.from_numpy(z), None if labels is None else torch.from_numpy(labels))
        return to_uint8(x)

    return run


def load_source(source: str | Path) -> tuple[Callable, dict[str, Any], str]:
    """A checkpoint / run dir (PyTorch, EMA generator) or an exported ONNX file / export dir
    -> (sample(z, labels), model metadata, kind)."""
    path = Path(source)
    if path.is_dir() and (path / "manifest.json").is_file() and (path / "model.onnx").is_file():
        path = path / "model.onnx"
    if path.suffix == ".onnx":
        from gantool.runtime import Sampler

        sampler = Sampler(path)
        meta = dict(sampler.metadata)
        return (lambda z, labels: sampler.generate(z, labels)), meta, f"onnx:{meta.get('variant', 'fp32')}"
    from gantool.toolkit.checkpoint import generator_from_checkpoint, load_checkpoint

    ckpt = load_checkpoint(path)
    meta = {**ckpt["model_config"], "train_config": ckpt["train_config"], "model": ckpt["model_config"]["arch"]}
    return torch_sampler(generator_from_checkpoint(ckpt)), meta, "pytorch"


def evaluate(source: str | Path, cfg: EvalConfig, progress: bool = True) -> dict[str, Any]:
    cfg.validate()
    sample, meta, kind = load_source(source)
    train_cfg = meta.get("train_config") or {}
    dataset = cfg.dataset or train_cfg.get("dataset") or "mnist"
    data_dir = cfg.data_dir or train_cfg.get("data_dir")
    evaluator = Evaluator(dataset, data_dir, seed=cfg.feature_seed, progress=progress)
    t0 = time.perf_counter()
    images, labels = generated_images(sample, cfg.n, int(meta["latent_dim"]), int(meta["num_classes"]), cfg.seed)
    gen_s = time.perf_counter() - t0
    result = evaluator.score(images, labels, cfg.pr_samples, cfg.pr_k, cfg.seed)
    result.update({
        "source": str(source), "kind": kind, "model": meta.get("model"), "n": cfg.n, "seed": cfg.seed,
        "dataset": dataset, "reference": f"{evaluator.reference} test split",
        "fid_floor": evaluator.floor(cfg.n, cfg.seed),
        "feature_net_test_accuracy": evaluator.extractor.test_accuracy,
        "generation_images_per_s": cfg.n / max(gen_s, 1e-9), "config": asdict(cfg),
    })
    return result


def format_table(result: dict[str, Any]) -> str:
    rows = [("FID", f"{result['fid']:.2f}"), ("FID floor (real train vs test)", f"{result['fid_floor']:.2f}"),
            ("Inception-Score analogue", f"{result['inception_score']:.3f}"),
            ("class coverage", f"{result['coverage']:.4f}"), ("precision", f"{result['precision']:.3f}"),
            ("recall", f"{result['recall']:.3f}")]
    if "class_accuracy" in result:
        rows.append(("conditional accuracy", f"{result['class_accuracy']['overall']:.3f}"))
    acc = result.get("feature_net_test_accuracy")
    rows.append(("feature net test accuracy", "-" if acc is None else f"{acc:.4f}"))
    width = max(len(r[0]) for r in rows)
    head = f"{result['source']} ({result['kind']}, {result['n']} samples vs {result['reference']})"
    return "\n".join([head] + [f"  {name:<{width}}  {value}" for name, value in rows])


def to_json(result: dict[str, Any]) -> str:
    return json.dumps(result, indent=2, sort_keys=True)
