"""Seeded model inputs (numpy only), shared by the sampler, verification and calibration.

Latents come from numpy's PCG64 bit generator: `np.random.Generator(np.random.PCG64(seed))`
`.standard_normal((n, latent_dim), dtype=float32)`. The same seed gives the same
latents in any process, on any platform numpy supports.
"""

from __future__ import annotations

import numpy as np


def latents(n: int, latent_dim: int, seed: int | None = None, truncation: float | None = None) -> np.ndarray:
    """(n, latent_dim) float32 standard normal; with `truncation`, every |z_i| <= truncation
    (values outside are redrawn: the truncation trick)."""
    rng = np.random.Generator(np.random.PCG64(seed))
    z = rng.standard_normal((n, latent_dim), dtype=np.float32)
    if truncation is not None:
        bad = np.abs(z) > truncation
        while bad.any():
            z[bad] = rng.standard_normal(int(bad.sum()), dtype=np.float32)
            bad = np.abs(z) > truncation
    return z


def cycle_labels(n: int, num_classes: int, offset: int = 0) -> np.ndarray:
    """(n,) int64 labels 0, 1, …, K-1, 0, 1, … (every class once per K samples)."""
    return ((np.arange(n) + offset) % num_classes).astype(np.int64)


def seeded_inputs(n: int, latent_dim: int, num_classes: int, seed: int = 0, offset: int = 0) -> dict[str, np.ndarray]:
    """Feeds for an exported generator: {"z": …} [+ {"label": …}]."""
    feeds = {"z": latents(n, latent_dim, seed)}
    if num_classes:
        feeds["label"] = cycle_labels(n, num_classes, offset)
    return feeds
