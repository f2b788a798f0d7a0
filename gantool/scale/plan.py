"""What `gantool generate` makes, as a pure function of the image index.

Image i (0 <= i < n) is drawn from seed `seed + i` (Sampler.sample_seeds: a seeded file draws it in its
graph, any other file uses the first latent of PCG64(seed + i)) with the label labels_for_range gives it. Images are
made in chunks of CHUNK (configs.py) rows aligned to the global index, and shards are whole chunks, so every engine,
shard size or worker count runs exactly the same onnxruntime calls: the same bytes.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from gantool.core.errors import GantoolError

GOLDEN = 2654435769  # 2**32 / golden ratio: i * GOLDEN mod 2**32 spreads any prefix of i over [0, 2**32)


def parse_mix(text: str, num_classes: int) -> tuple[float, ...]:
    """'0:1,3:2' -> weights (1, 0, 0, 2, 0, …): classes not named get 0."""
    weights = [0.0] * num_classes
    for part in text.split(","):
        cls, sep, w = part.partition(":")
        try:
            k, weight = int(cls), float(w)
        except ValueError:
            raise GantoolError(f"--mix must look like 0:1,3:2 (class:weight, …), got {text[:40]!r}") from None
        if not sep or not 0 <= k < num_classes:
            raise GantoolError(f"--mix classes must be in 0..{num_classes - 1}, got {part[:20]!r}")
        if not (np.isfinite(weight) and weight >= 0):
            raise GantoolError(f"--mix weights must be finite and >= 0, got {w[:20]!r}")
        weights[k] = weight
    if sum(weights) <= 0:
        raise GantoolError("--mix gives every class weight 0; give at least one a positive weight")
    return tuple(weights)


def labels_for_range(start: int, stop: int, num_classes: int, mix: Optional[tuple[float, ...]]) -> np.ndarray:
    """Labels of images [start, stop): (stop-start,) int64, a function of each index alone.

    Balanced: i % K (every class within one image of n/K). A mix: the class whose cumulative share of
    2**32 holds i * GOLDEN mod 2**32, a low-discrepancy sequence, so any prefix is within a few images of
    the asked proportions and no shard needs to know another.
    """
    i = np.arange(start, stop, dtype=np.uint64)
    if mix is None:
        return (i % np.uint64(num_classes)).astype(np.int64)
    u = (i * np.uint64(GOLDEN)) & np.uint64(0xFFFFFFFF)
    cum = np.cumsum(np.asarray(mix, dtype=np.float64))
    edges = np.round(cum / cum[-1] * 2**32).astype(np.uint64)
    return np.minimum(np.searchsorted(edges, u, side="right"), num_classes - 1).astype(np.int64)
