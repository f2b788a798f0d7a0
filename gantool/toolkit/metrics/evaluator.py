"""`Evaluator`: gantool's feature network plus the real test split's statistics, built once, reused.

Samples come from seeded PCG64 latents (gantool.runtime.latents), so a checkpoint and its
exports are scored on the same latents and their FIDs are comparable.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Optional

import numpy as np

from gantool.core.errors import GantoolError
from gantool.runtime.generator import Generator, check_finite, to_uint8
from gantool.runtime.latents import cycle_labels, latents
from gantool.toolkit.metrics import scores
from gantool.toolkit.metrics.features import FeatureExtractor, load_or_train


def reference_dataset(train_dataset: str) -> str:
    """The dataset whose test split scores a model trained on `train_dataset`."""
    return "mnist" if train_dataset == "mnist-sample" else train_dataset


@dataclass
class Scores:
    """Quality of generated images against a real test split (gantool's own feature network)."""

    fid: float  # Fréchet distance of the 128-d penultimate features
    inception_score: float  # the Inception-Score analogue, from the feature net's class probabilities
    coverage: float  # normalised entropy of the predicted classes: 1.0 = all classes equally
    precision: float  # k-NN manifolds (Kynkäänniemi et al. 2019)
    recall: float
    class_accuracy: Optional[dict[str, float]] = None  # conditional samples: {"overall": …, "0": …, …}

    @property
    def accuracy(self) -> Optional[float]:
        """The share of conditional samples classified as the class asked for (None: unconditional)."""
        return None if self.class_accuracy is None else self.class_accuracy["overall"]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if self.class_accuracy is None:
            del out["class_accuracy"]
        return out


class Evaluator:
    """The feature network and the real test split's features, built once and reused."""

    def __init__(
        self,
        train_dataset: str,
        data_dir: Optional[str] = None,
        seed: int = 0,
        progress: bool = True,
        download: bool = False,
    ) -> None:
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
            train.images,
            train.labels,
            dataset=train.name,
            seed=seed,
            test=(test.images, test.labels),
            progress=progress,
        )
        self.test_feats, self.test_probs = self.extractor(test.images)
        self.test_stats = scores.gaussian_stats(self.test_feats)

    @classmethod
    def for_model(
        cls, train_config: Any, dataset: Optional[str] = None, data_dir: Optional[str] = None, **kwargs: Any
    ) -> "Evaluator":
        """The evaluator for a model trained with `train_config` (a TrainConfig or its dict):
        its dataset and data dir unless overridden."""
        cfg = train_config if isinstance(train_config, dict) else train_config.to_dict()
        return cls(dataset or cfg.get("dataset") or "mnist", data_dir or cfg.get("data_dir"), **kwargs)

    def floor(self, n: int, seed: int = 0) -> float:
        """FID of real training digits against the test digits, for the same sample size."""
        rng = np.random.default_rng(seed)
        m = min(n, len(self.train_images))
        feats, _ = self.extractor(self.train_images[rng.choice(len(self.train_images), m, replace=False)])
        return scores.frechet_distance(*self.test_stats, *scores.gaussian_stats(feats))

    def score(
        self, images: np.ndarray, labels: Optional[np.ndarray] = None, pr_samples: int = 5000, k: int = 3, seed: int = 0
    ) -> Scores:
        """Metrics for generated uint8 images (N, 28, 28) against the real test split."""
        feats, probs = self.extractor(images)
        rng = np.random.default_rng(seed)
        real_pr = self.test_feats[
            rng.choice(len(self.test_feats), min(pr_samples, len(self.test_feats)), replace=False)
        ]
        fake_pr = feats[rng.choice(len(feats), min(pr_samples, len(feats)), replace=False)]
        precision, recall = scores.precision_recall(real_pr, fake_pr, k=k)
        return Scores(
            fid=scores.frechet_distance(*self.test_stats, *scores.gaussian_stats(feats)),
            inception_score=scores.inception_score(probs),
            coverage=scores.class_coverage(probs),
            precision=precision,
            recall=recall,
            class_accuracy=None if labels is None else scores.class_accuracy(probs, labels),
        )

    def score_generator(self, generator: Generator, n: int, seed: int = 0, pr_samples: int = 5000) -> Scores:
        images, labels = generated_images(generator, n, seed)
        return self.score(images, labels, pr_samples=min(pr_samples, n), seed=seed)


def generated_images(
    generator: Generator, n: int, seed: int, batch: int = 500
) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """n uint8 images from seeded latents (PCG64(seed); a seeded file: its seeds seed .. seed+n-1);
    labels cycle 0..K-1. Chunked: memory stays bounded."""
    labels = cycle_labels(n, generator.num_classes) if generator.conditional else None
    if generator.seeded:
        seeds = np.arange(seed, seed + n, dtype=np.int64)
        parts = [
            to_uint8(
                check_finite(
                    generator.run_seeds(seeds[i : i + batch], None if labels is None else labels[i : i + batch])
                )
            )
            for i in range(0, n, batch)
        ]
    else:
        z = latents(n, generator.latent_dim, seed)
        parts = [
            generator.images(z[i : i + batch], None if labels is None else labels[i : i + batch])
            for i in range(0, n, batch)
        ]
    return np.concatenate(parts), labels
