"""Runs: `train(TrainConfig)` and `resume(run_dir, overrides)`, the public entry points of training.

A process training into a run directory holds a lock on it (an flock on the directory itself):
a second one is refused, and the lock dies with the process (kill -9 included). Temp files a killed writer
left are removed by the next holder. The loop itself is gantool.toolkit.trainer.Trainer.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Optional

from gantool.core.errors import GantoolError
from gantool.core.fileio import check_writable_dir, dir_lock, remove_stale_temps
from gantool.toolkit import distributed as ddp
from gantool.toolkit.checkpoint import RESUME_PARTS, Checkpoint, load_checkpoint
from gantool.toolkit.config import TrainConfig
from gantool.toolkit.data import load_dataset
from gantool.toolkit.device import resolve_device
from gantool.toolkit.hardware import resolve_precision
from gantool.toolkit.models import MODELS
from gantool.toolkit.results import StepHook, TrainResult

RESUMABLE = ("epochs", "minutes", "device", "precision", "threads", "amp", "channels_last")  # what --resume may change


def train(
    cfg: TrainConfig, *, progress: bool = True, on_step: Optional[StepHook] = None, overwrite: bool = False
) -> TrainResult:
    """Train a GAN as `cfg` says and leave a run directory at `cfg.run_dir`."""
    cfg.validate()
    MODELS.get(cfg.model.arch)  # an unknown architecture fails before any data is loaded

    def refuse_existing() -> None:
        if (Path(cfg.run_dir) / "checkpoints" / "last.pt").exists() and not overwrite:
            raise GantoolError(
                f"run dir {cfg.run_dir!r} already holds a run; continue it with --resume "
                f"{cfg.run_dir}, or choose another --run-dir"
            )

    return _run(cfg, None, progress, on_step, refuse_existing)


def resume(
    run_dir: str | Path,
    overrides: Optional[dict[str, Any]] = None,
    *,
    progress: bool = True,
    on_step: Optional[StepHook] = None,
) -> TrainResult:
    """Continue a run from its last checkpoint. `overrides` holds the options the user gave:
    epochs, minutes and device may change; any other TrainConfig / ModelConfig field must equal
    the run's (a one-line error names the first that does not)."""
    ckpt = load_checkpoint(run_dir)
    ckpt.require(RESUME_PARTS, "resume training")
    cfg = apply_resume_overrides(ckpt, overrides or {})
    run_path = Path(run_dir) if Path(run_dir).is_dir() else ckpt.path.parent.parent
    refuse_finished(ckpt, cfg, run_path)
    return _run(replace(cfg, run_dir=str(run_path)).validate(), ckpt, progress, on_step)


def _stretch_warning(ckpt: Checkpoint, cfg: TrainConfig) -> None:
    """Said once the checkpoint's states have loaded (a damaged checkpoint gets its one error line only)."""
    if (
        cfg.lr_decay_start < 1.0
        and (cfg.epochs, cfg.minutes) != (ckpt.train.epochs, ckpt.train.minutes)
        and os.environ.get("RANK", "0") == "0"
    ):  # under torchrun, rank 0 alone says it
        # The decay is a fraction of the run's length: a new length moves it (interrupted runs resumed as
        # they were stay exact; with --lr-decay-start 1 a longer run equals one trained that long).
        print(
            f"warning: --resume with a new length stretches the learning-rate decay (--lr-decay-start "
            f"{cfg.lr_decay_start:g}) over it; the result differs from a run trained to that length from the start",
            file=sys.stderr,
        )


def refuse_finished(ckpt: Checkpoint, cfg: TrainConfig, run_path: Path) -> None:
    """A run that already reached its length has nothing to resume: say so and how to extend it, before
    anything is loaded or written (resuming it would only rewrite its config)."""
    epoch, mid_epoch = int(ckpt.state["epoch"]), int(ckpt.state["batch_in_epoch"]) > 0
    done_epochs = epoch >= cfg.max_epochs and not mid_epoch
    done_time = cfg.minutes is not None and float(ckpt.state["elapsed_s"]) >= cfg.minutes * 60
    if done_epochs:
        raise GantoolError(
            f"the run in {str(run_path)!r} is already complete ({epoch} of {cfg.max_epochs} epochs); "
            f"extend it with gantool train --resume {run_path} --epochs {epoch + 10} (or any N > {epoch})"
        )
    if done_time:
        raise GantoolError(
            f"the run in {str(run_path)!r} already used its {cfg.minutes:g}-minute budget; extend it "
            f"with gantool train --resume {run_path} --minutes {(cfg.minutes or 0) * 2:g} (a larger budget)"
        )


def apply_resume_overrides(ckpt: Checkpoint, overrides: dict[str, Any]) -> TrainConfig:
    cfg = replace(ckpt.train, model=replace(ckpt.model))
    model_fields = set(cfg.model.__dataclass_fields__)
    for key, value in overrides.items():
        if value is None:
            continue
        if key in model_fields:
            if getattr(cfg.model, key) != value:
                raise GantoolError(
                    f"--resume: the checkpoint's {key} is {getattr(cfg.model, key)!r}, not {value!r}; "
                    "drop that option or start a new run"
                )
        elif key in RESUMABLE:
            setattr(cfg, key, value)
        elif getattr(cfg, key, object()) != value:
            raise GantoolError(
                f"--resume keeps the run's settings; only --epochs, --minutes, --device, --precision, "
                f"--threads and --channels-last may change (got --{key.replace('_', '-')})"
            )
    return cfg


def _run(
    cfg: TrainConfig,
    ckpt: Optional[Checkpoint],
    progress: bool,
    on_step: Optional[StepHook],
    before_start: Callable[[], None] = lambda: None,
) -> TrainResult:
    info = ddp.init_distributed(cfg.device)
    if cfg.r1_gamma > 0 and info.enabled:
        # DDP does not support higher-order gradients (pytorch/pytorch#63831); R1's double
        # backward under DDP aborted a rank in about 1 test run in 20, so torchrun runs
        # train without it, and config.json says so.
        if info.is_main:
            print(
                "warning: the R1 penalty is off under torchrun (DDP does not support double backward); "
                "train in one process to use it",
                file=sys.stderr,
            )
        cfg = replace(cfg, r1_gamma=0.0)
    try:
        # A precision the device cannot do fails before any data is loaded or anything is written.
        resolve_precision(cfg.precision if cfg.amp else "fp32", resolve_device(cfg.device, info.local_rank))
        data = load_dataset(cfg.dataset, "train", cfg.data_dir, cfg.download)  # before anything is written
        if cfg.model.conditional and cfg.model.num_classes != data.num_classes:
            raise GantoolError(
                f"model has {cfg.model.num_classes} classes but dataset {cfg.dataset!r} has "
                f"{data.num_classes} (labels 0..{data.num_classes - 1}); train it with --unconditional"
            )
        run_dir = Path(cfg.run_dir)
        if info.is_main:
            check_writable_dir(run_dir, "run dir")
        lock = dir_lock(run_dir, f"run dir {str(run_dir)!r}") if info.is_main else contextlib.nullcontext()
        with lock:
            before_start()
            if info.is_main:
                remove_stale_temps(run_dir)  # from a writer killed mid-write
                remove_stale_temps(run_dir / "checkpoints")
                remove_stale_temps(run_dir / "samples")
            from gantool.toolkit.trainer import Trainer

            trainer = Trainer(cfg, data, info)
            if ckpt is not None:
                trainer.load_state_dict(ckpt.state)
                _stretch_warning(ckpt, cfg)
            return trainer.fit(progress=progress, on_step=on_step)
    finally:
        ddp.shutdown_distributed(info)
