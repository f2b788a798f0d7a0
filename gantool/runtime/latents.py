"""Seeded model inputs (numpy only), shared by the sampler, verification and calibration.

Latents come from numpy's PCG64 bit generator: `np.random.Generator(np.random.PCG64(seed))`
`.standard_normal((n, latent_dim), dtype=float32)`. The same seed gives the same
latents in any process, on any platform numpy supports.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional

import numpy as np

from gantool.core.errors import GantoolError

MAX_SEED = 2**63 - 1  # seeds are int64 everywhere (numpy, ONNX inputs, JSON)
MIN_TRUNCATION = 1e-3  # below this every latent is ~0 anyway; bounds the input, not the time


def check_seed(seed: Any, name: str = "seed") -> Optional[int]:
    """None, or an integer in 0..2**63-1."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise GantoolError(f"{name} must be an integer, got {seed!r:.40}")
    if not 0 <= int(seed) <= MAX_SEED:
        raise GantoolError(f"{name} must be between 0 and {MAX_SEED} (int64), got {seed}")
    return int(seed)


def check_truncation(truncation: Any) -> Optional[float]:
    if truncation is None:
        return None
    if (
        isinstance(truncation, bool)
        or not isinstance(truncation, numbers.Real)
        or not math.isfinite(truncation)
        or truncation < MIN_TRUNCATION
    ):
        raise GantoolError(f"truncation must be a positive finite number >= {MIN_TRUNCATION:g}, got {truncation!r:.40}")
    return float(truncation)


def latents(n: int, latent_dim: int, seed: Optional[int] = None, truncation: Optional[float] = None) -> np.ndarray:
    """(n, latent_dim) float32 standard normal; with `truncation` T, every |z_i| <= T
    (the truncation trick), drawn from the normal truncated to [-T, T]."""
    rng = np.random.Generator(np.random.PCG64(check_seed(seed)))
    z = rng.standard_normal((n, latent_dim), dtype=np.float32)
    limit = check_truncation(truncation)
    if limit is not None:
        _truncate(z, limit, rng)
    return z


def _truncate(z: np.ndarray, t: float, rng: np.random.Generator) -> None:
    """Redraw, in place, the values outside [-T, T] from the normal truncated to [-T, T].

    Rejection sampling whose acceptance never falls below ~0.6 whatever T, so the time does
    not depend on T: for T >= 1 a normal proposal (accepted when |x| <= T: >= 68%); for
    T < 1 a uniform proposal on [-T, T] accepted with probability exp(-x^2 / 2) (>= 61%).
    """
    bad = np.abs(z) > t
    while bad.any():
        k = int(bad.sum())
        if t >= 1.0:
            x = rng.standard_normal(k, dtype=np.float32)
            ok = np.abs(x) <= t
        else:
            x = rng.uniform(-t, t, k).astype(np.float32)
            ok = rng.random(k) <= np.exp(-0.5 * x.astype(np.float64) ** 2)
        idx = np.flatnonzero(bad)[ok]
        z.flat[idx] = x[ok]
        bad.flat[idx] = False


def cycle_labels(n: int, num_classes: int, offset: int = 0) -> np.ndarray:
    """(n,) int64 labels 0, 1, …, K-1, 0, 1, … (every class once per K samples)."""
    return ((np.arange(n) + offset) % num_classes).astype(np.int64)


def seeded_inputs(n: int, latent_dim: int, num_classes: int, seed: int = 0, offset: int = 0) -> dict[str, np.ndarray]:
    """Feeds for an exported generator: {"z": …} [+ {"label": …}]."""
    feeds = {"z": latents(n, latent_dim, seed)}
    if num_classes:
        feeds["label"] = cycle_labels(n, num_classes, offset)
    return feeds


def parse_seed_ranges(text: str, limit: int = 100_000, name: str = "--seeds") -> list[int]:
    """'0-15' or '1,5,7-9' -> the seeds, in order (as StyleGAN's generate.py reads --seeds); at
    most `limit` of them, counted before any list is built."""
    items, total = [], 0
    for part in (p.strip() for p in str(text).split(",")):
        lo, sep, hi = part.partition("-")
        try:
            a, b = int(lo), int(hi) if sep else int(lo)
        except ValueError:
            raise GantoolError(f"{name} takes seeds and ranges like 0-15 or 1,5,7-9; got {str(text)[:40]!r}") from None
        if not (0 <= a <= b <= MAX_SEED):
            raise GantoolError(f"{name}: {part[:40]!r} must be seeds in 0..{MAX_SEED}, low to high")
        total += b - a + 1
        if total > limit:
            raise GantoolError(f"{name} names more than {limit} seeds")
        items.append((a, b))
    return [s for a, b in items for s in range(a, b + 1)]
