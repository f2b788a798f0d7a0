"""The seeds each use of latents in an export draws from, in one place.

Every one derives from the export's `--seed` (ExportConfig.seed), and no two uses share latents:
the int8 files are calibrated on other latents than any check runs, so a check never grades a file
on the inputs it was fitted to. Changing an offset changes every export's verification.json.
"""

from __future__ import annotations

import numpy as np


def calibration_seed(seed: int) -> int:
    """The int8 makers' calibration latents (ONNX, ExecuTorch and LiteRT alike: the same latents)."""
    return seed + 1


def exact_seed(seed: int, batch: int, run: int) -> int:
    """The atol checks against PyTorch eager: batch `batch`, run `run` of those that cover every label."""
    return seed + 1000 * batch + run


def gate_seed(seed: int) -> int:
    """The pixel/FID gates of a reduced-precision file against the file it was made from."""
    return seed + 7


def c_check_seeds(seed: int, n: int) -> np.ndarray:
    """(n,) int64 seeds for the C export's seed-by-seed check, spread over the seed space."""
    return np.arange(seed, seed + n, dtype=np.int64) * 7919 + 1
