"""What a training run gives back: its result, the interruption it may end in, the per-step hook.

A leaf module: both the run policy (gantool.toolkit.runs) and the loop (gantool.toolkit.trainer) use
these types, so neither imports the other for them.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


class TrainingInterrupted(Exception):
    """Ctrl-C or SIGTERM: a checkpoint was written at `checkpoint`; resume with --resume."""

    def __init__(self, checkpoint: Path, signum: int = signal.SIGINT, is_main: bool = True) -> None:
        super().__init__(f"interrupted; checkpoint saved to {checkpoint}")
        self.checkpoint, self.signum = checkpoint, signum
        self.is_main = is_main  # rank 0 (or a single process): the one that says so


@dataclass
class TrainResult:
    run_dir: Path
    checkpoint: Path
    epochs_done: int
    steps: int
    stopped_by: str  # "epochs" | "time"
    history: list[dict] = field(default_factory=list)
    is_main: bool = True  # rank 0 (or a single process): the one that reports


StepHook = Callable[[Any], None]  # called with the Trainer after every step
