"""The files of a run directory a person opens, written by rank 0 only:

    config.json             the TrainConfig, as asdict()
    samples/epoch_NNN.png   a grid from fixed noise (one row per digit when conditional)
    samples/step_NNNNNNN.png  the same, when a run stops mid-epoch
    losses.png              D and G loss curves
    metrics.jsonl           one JSON object per epoch

Each is written atomically. The trainer writes them before the epoch's checkpoint, so a
run killed in between re-trains that epoch on resume and writes them again.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from gantool.core.fileio import write_json_atomic, write_text_atomic
from gantool.runtime.grid import make_grid, save_png
from gantool.toolkit.plots import plot_losses

PLOT_EVERY_S = 60.0  # seconds between loss-plot redraws during training


class RunWriter:
    def __init__(self, run_dir: Path, enabled: bool = True) -> None:
        self.run_dir, self.enabled = Path(run_dir), enabled
        self._last_plot = time.monotonic()

    def start(self, config: dict) -> None:
        if self.enabled:
            (self.run_dir / "samples").mkdir(parents=True, exist_ok=True)
            write_json_atomic(self.run_dir / "config.json", config)

    def grid(self, images: np.ndarray, nrow: int, name: str) -> None:
        """images: (N, H, W) uint8 -> samples/NAME."""
        if self.enabled:
            save_png(make_grid(images, nrow), self.run_dir / "samples" / name)

    def metrics(self, history: list[dict]) -> None:
        if self.enabled:
            write_text_atomic(self.run_dir / "metrics.jsonl", "".join(json.dumps(h) + "\n" for h in history))

    def plot(self, loss_log: list[dict], force: bool, history: list[dict] | None = None) -> None:
        """losses.png: at most every PLOT_EVERY_S seconds while training (matplotlib costs
        ~0.3 s a plot, a lot beside a 2 s epoch), and always when the run stops."""
        now = time.monotonic()
        if self.enabled and (force or now - self._last_plot >= PLOT_EVERY_S):
            plot_losses(loss_log, self.run_dir / "losses.png", history)
            self._last_plot = now
