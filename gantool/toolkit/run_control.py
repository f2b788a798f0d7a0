"""The Trainer's run control: threads that follow the free cores, the time budget, Ctrl-C / SIGTERM,
and the progress bar (gantool.toolkit.trainer provides the attributes used here)."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Optional

import torch

from gantool.core.errors import GantoolError
from gantool.toolkit import distributed as ddp
from gantool.toolkit import hardware

if TYPE_CHECKING:
    from gantool.toolkit.config import TrainConfig
    from gantool.toolkit.gan_step import GANStep

LOG_EVERY = 10  # steps between loss readings (a .item() syncs the GPU)


class RunControlMixin:
    cfg: TrainConfig
    gan: GANStep
    info: ddp.DistInfo
    device: torch.device
    threads: int
    epoch: int
    step: int
    batch_in_epoch: int
    elapsed_s: float
    _stop_signal: Optional[int]

    def _auto_threads(self) -> bool:
        """Threads follow the free cores: a CPU run in one process without --threads."""
        return self.cfg.threads is None and self.device.type == "cpu" and not self.info.enabled

    def _say_setup(self) -> None:
        """One line: what the run chose for this machine (precision, memory format, threads) and why."""
        if not self.info.is_main:
            return
        layout = "channels_last" if self.gan.channels_last else "NCHW"
        line = f"training on {self.device}: {self.gan.precision}, {layout}"
        if self.device.type == "cpu":
            cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
            why = (
                "--threads"
                if self.cfg.threads is not None
                else f"{max(cores - self.threads, 0)} of {cores} cores busy at start; re-checked each epoch"
            )
            line += f", {self.threads} thread{'s' if self.threads > 1 else ''} ({why})"
        print(line, file=sys.stderr)

    def _follow_free_cores(self, since) -> None:
        """Between epochs: as many threads as the cores other processes left free during this one (a run
        that started beside a short job takes the core back). --threads pins the count, and with it the
        exact reproducibility of the run (results depend on the thread count)."""
        if not self._auto_threads():
            return
        n = hardware.free_cores_during(since)
        if n is None or n == self.threads:
            return
        torch.set_num_threads(n)
        if self.info.is_main:
            print(
                f"note: {n} core{'s' if n > 1 else ''} free during epoch {self.epoch}: now {n} thread"
                f"{'s' if n > 1 else ''} (--threads N pins the count and keeps the run exactly reproducible)",
                file=sys.stderr,
            )
        self.threads = n

    def _progress_fraction(self, steps_per_epoch: int) -> float:
        """How far the run is: by steps when the run has an epoch limit (reproducible: --epochs, or the
        default epochs when there is no --minutes either), else by the clock of the --minutes budget."""
        if self.cfg.epochs is not None or self.cfg.minutes is None:
            return min(1.0, self.step / (self.cfg.max_epochs * steps_per_epoch))
        return min(1.0, self.elapsed_s / (self.cfg.minutes * 60))

    def _finite_losses(self, d_loss: torch.Tensor, g_loss: torch.Tensor) -> tuple[float, float]:
        d, g = float(d_loss), float(g_loss)
        if not (math.isfinite(d) and math.isfinite(g)):
            raise GantoolError(
                f"training diverged at step {self.step}: the losses are not finite (D {d}, G {g}); "
                f"the last good checkpoint (epoch {self.epoch}) is kept. Lower --lr-g / --lr-d"
            )
        return d, g

    def _should_stop(self, sync_now: bool = False) -> bool:
        """Stop for the time budget or a signal; under DDP all ranks agree (checked every
        LOG_EVERY steps, or `sync_now` where every rank is at the same point)."""
        over_time = self.cfg.minutes is not None and self.elapsed_s >= self.cfg.minutes * 60
        flag = over_time or self._stop_signal is not None
        if not self.info.enabled:
            return flag
        if not sync_now and self.step % LOG_EVERY:
            return False
        return ddp.any_rank(flag, self.info)

    def _progress_bar(self, steps: int, progress: bool):
        if not (progress and self.info.is_main):
            return None
        from tqdm.auto import tqdm

        # In a log file (not a terminal) redraw rarely so logs stay readable.
        interval = 0.1 if sys.stderr.isatty() else 10.0
        return tqdm(
            total=steps,
            initial=self.batch_in_epoch,
            desc=f"epoch {self.epoch + 1}/{self.cfg.max_epochs}"
            if self.cfg.max_epochs < 1 << 62
            else f"epoch {self.epoch + 1}",
            unit="step",
            leave=True,
            dynamic_ncols=True,
            file=sys.stderr,
            mininterval=interval,
        )

    @contextlib.contextmanager
    def _stop_signals(self):
        """First Ctrl-C or SIGTERM (what `docker stop` and schedulers send): finish the current
        step, checkpoint, exit. A second one: stop at once."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, frame):
            if self._stop_signal is not None:
                raise KeyboardInterrupt
            self._stop_signal = signum
            if self.info.is_main:
                name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
                print(f"\n{name}: finishing this step and writing a checkpoint (again to abort)…", file=sys.stderr)

        previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for s, h in previous.items():
                signal.signal(s, h)
