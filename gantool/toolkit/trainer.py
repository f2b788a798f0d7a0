"""The training loop (`Trainer`); start a run with gantool.toolkit.runs.train / resume.

A run directory holds config.json, checkpoints/last.pt (written atomically every epoch and
on Ctrl-C / SIGTERM / the time budget), per-epoch sample grids, losses.png and
metrics.jsonl (see run_outputs).

Runs are deterministic on CPU for a given seed: every random draw (permutation, noise,
fake labels, rotation angles) comes from explicit generators whose state is checkpointed,
so an interrupted and resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import signal
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from gantool.toolkit import distributed as ddp
from gantool.toolkit import hardware
from gantool.toolkit.augment import random_rotate
from gantool.toolkit.checkpoint import save_checkpoint
from gantool.toolkit.config import TrainConfig
from gantool.toolkit.data import ImageData
from gantool.toolkit.device import resolve_device
from gantool.toolkit.gan_step import GANStep
from gantool.toolkit.hardware import choose_threads
from gantool.toolkit.inference import TorchGenerator, eval_mode, model_metadata, to_pixels
from gantool.toolkit.results import StepHook, TrainingInterrupted, TrainResult
from gantool.toolkit.run_control import LOG_EVERY, RunControlMixin
from gantool.toolkit.run_outputs import RunWriter
from gantool.toolkit.training_state import StateMixin


class Trainer(StateMixin, RunControlMixin):
    def __init__(self, cfg: TrainConfig, data: ImageData, info: ddp.DistInfo) -> None:
        self.cfg, self.info = cfg, info
        self.device = resolve_device(cfg.device, info.local_rank)
        self.threads = choose_threads(cfg.threads, self.device)  # before any op: torch fixes its pool on first use
        self.run_dir = Path(cfg.run_dir)
        torch.manual_seed(self.seed("torch"))  # global RNG: dropout
        # All of a rank's random draws; CPU so results do not depend on the device.
        self.rng = torch.Generator().manual_seed(self.seed("draws"))
        self.gan = GANStep(cfg, self.device, info, self.rng)
        self.G, self.D = self.gan.G, self.gan.D
        # Data lives on the device once (47 MB for MNIST): batches are index slices.
        images = torch.from_numpy(data.images)
        if self.device.type == "cuda":
            images = images.pin_memory()
        self.images = images.to(self.device, non_blocking=True)  # (N, 28, 28) uint8
        self.labels = torch.from_numpy(data.labels).to(self.device)  # (N,) int64
        self.epoch = 0  # completed epochs
        self.batch_in_epoch = 0  # batches done in the current epoch (after an interrupt)
        self.step = 0
        self.elapsed_s = 0.0
        self.history: list[dict] = []
        self.loss_log: list[dict] = []
        self._window: list = [0.0, 0.0, 0]  # D and G loss sums and steps since the last loss_log point
        self.best_fid = float("inf")
        self._stop_signal: Optional[int] = None
        self.writer = RunWriter(self.run_dir, enabled=info.is_main)
        self.evaluator = None
        if cfg.eval_every > 0 and info.is_main:
            from gantool.toolkit.metrics.evaluator import Evaluator

            self.evaluator = Evaluator(cfg.dataset, cfg.data_dir, seed=0, progress=True, download=cfg.download)

    def seed(self, purpose: str, offset: int = 0) -> int:
        """Every seed of the run, derived from cfg.seed in one place (values kept stable across
        versions so old runs reproduce): the global torch RNG, this rank's draws, epoch `offset`'s
        permutation, the fixed grid noise. `offset` also re-seeds a rank after a DDP resume."""
        s, rank = self.cfg.seed, self.info.rank
        return {
            "torch": s + rank,
            "draws": s * 7919 + rank + 1,
            "epoch": s + 1_000_003 * (offset + 1),
            "grid": s + 4242,
        }[purpose] + (offset if purpose in ("torch", "draws") else 0)

    def generator(self) -> TorchGenerator:
        """The sample generator (EMA copy when enabled) behind the runtime's Generator interface."""
        module = to_pixels(self.gan.sample_generator, self.cfg.model.conditional)
        return TorchGenerator(module, model_metadata(self.cfg.model))

    # ----- the loop -----------------------------------------------------------------
    def _batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        idx = idx.to(self.device)
        real = self.images[idx].unsqueeze(1).float().div_(127.5).sub_(1.0)  # (B, 1, 28, 28) in [-1, 1]
        if self.cfg.rotate > 0:
            real = random_rotate(real, self.cfg.rotate, self.rng)
        labels = self.labels[idx] if self.cfg.model.conditional else None
        return real, labels

    def _epoch_indices(self, epoch: int) -> tuple[torch.Tensor, int, int]:
        """This rank's shard of epoch `epoch`'s permutation, its batch size and step count."""
        n = len(self.images)
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed("epoch", epoch)))
        per_rank = n // self.info.world_size
        shard = perm[self.info.rank :: self.info.world_size][:per_rank]
        bs = min(self.cfg.batch_size, per_rank)
        return shard, bs, max(1, per_rank // bs)  # drop the last partial batch

    def fit(self, progress: bool = True, on_step: Optional[StepHook] = None) -> TrainResult:
        self.writer.start(self.cfg.to_dict())
        if progress:
            self._say_setup()
        stopped_by = "epochs"
        self._clock0 = time.perf_counter() - self.elapsed_s  # resumed runs continue their clock
        with self._stop_signals():
            while self.epoch < self.cfg.max_epochs:
                shard, bs, steps = self._epoch_indices(self.epoch)
                if not self._run_epoch(shard, bs, steps, progress, on_step):
                    stopped_by = "time" if self._stop_signal is None else "interrupt"
                    break
        if stopped_by != "epochs" and self.batch_in_epoch > 0:
            # Stopped mid-epoch: the epoch-end checkpoint does not cover this step.
            self._outputs(partial=True)
            self.save()
        self.writer.plot(self.loss_log, force=True, history=self.history)  # the final curves
        last = self.run_dir / "checkpoints" / "last.pt"
        if stopped_by == "interrupt":
            raise TrainingInterrupted(last, self._stop_signal or signal.SIGINT, self.info.is_main)
        return TrainResult(self.run_dir, last, self.epoch, self.step, stopped_by, list(self.history), self.info.is_main)

    def _run_epoch(self, shard: torch.Tensor, bs: int, steps: int, progress: bool, on_step: Optional[StepHook]) -> bool:
        """Train the rest of the current epoch; False if stopped early (time, Ctrl-C, SIGTERM)."""
        bar = self._progress_bar(steps, progress)
        snapshot = hardware.cpu_snapshot()
        d_sum = g_sum = torch.zeros((), device=self.device)
        n_steps, t0 = 0, time.perf_counter()
        with bar or contextlib.nullcontext():
            for i in range(self.batch_in_epoch, steps):
                if self.cfg.lr_decay_start < 1.0:
                    self.gan.set_progress(self._progress_fraction(steps))
                d_loss, g_loss = self.gan.step(*self._batch(shard[i * bs : (i + 1) * bs]), self.step)
                d_sum, g_sum, n_steps = d_sum + d_loss, g_sum + g_loss, n_steps + 1
                self._window = [self._window[0] + d_loss, self._window[1] + g_loss, self._window[2] + 1]
                self.batch_in_epoch, self.step = i + 1, self.step + 1
                self.elapsed_s = time.perf_counter() - self._clock0  # wall clock, outputs included
                if self.step % LOG_EVERY == 0:
                    # The mean of the steps since the last reading, as the epoch line prints the mean of
                    # its steps (a single step's loss jumps with the lazy R1 steps and the batch drawn).
                    win_d, win_g, win_n = self._window
                    d, g = self._finite_losses(win_d / win_n, win_g / win_n)
                    self._window = [0.0, 0.0, 0]
                    self.loss_log.append({"step": self.step, "d_loss": d, "g_loss": g})
                    if bar is not None:
                        ips = n_steps * bs * self.info.world_size / max(time.perf_counter() - t0, 1e-9)
                        bar.set_postfix(d=f"{d:.3f}", g=f"{g:.3f}", img_s=f"{ips:.0f}")
                if bar is not None:
                    bar.update(1)
                if on_step is not None:
                    on_step(self)
                if self._should_stop() and i + 1 < steps:
                    self._finite_losses(d_loss, g_loss)  # never checkpoint a diverged model
                    return False
        wall = time.perf_counter() - t0
        d_mean, g_mean = self._finite_losses(d_sum / max(n_steps, 1), g_sum / max(n_steps, 1))
        self.epoch, self.batch_in_epoch = self.epoch + 1, 0
        entry = {
            "epoch": self.epoch,
            "step": self.step,
            "d_loss": d_mean,
            "g_loss": g_mean,
            "images_per_s": n_steps * bs * self.info.world_size / max(wall, 1e-9),
            "precision": self.gan.precision,
            "channels_last": self.gan.channels_last,
            "threads": self.threads,
            "epoch_time_s": wall,
            "elapsed_s": self.elapsed_s,
        }
        is_best = False
        if self.evaluator is not None and (self.epoch % self.cfg.eval_every == 0 or self.epoch == self.cfg.max_epochs):
            quality = self.evaluate()
            entry.update(quality)
            is_best = quality["fid"] < self.best_fid
            self.best_fid = min(self.best_fid, quality["fid"])
        self.history.append(entry)
        self._outputs(partial=False)  # before the checkpoint: a kill in between re-runs the epoch
        self.save()
        if is_best:
            self.save("best.pt")
        self._follow_free_cores(snapshot)
        self.elapsed_s = time.perf_counter() - self._clock0  # the budget or a signal may land on the last step
        return not (self._should_stop(sync_now=True) and self.epoch < self.cfg.max_epochs)

    # ----- outputs ------------------------------------------------------------------
    def sample_grid_images(self, per_class: int = 10, unconditional: int = 64) -> tuple[np.ndarray, int]:
        """Images from fixed noise: (N, 28, 28) uint8 and the grid's row length."""
        m = self.cfg.model
        gen = torch.Generator().manual_seed(self.seed("grid"))
        if m.conditional:
            labels, n, nrow = (
                torch.arange(m.num_classes).repeat_interleave(per_class).numpy(),
                m.num_classes * per_class,
                per_class,
            )  # one row per digit
        else:
            labels, n, nrow = None, unconditional, 8
        z = torch.randn(n, m.latent_dim, generator=gen).numpy()
        with eval_mode(self.gan.sample_generator):
            return self.generator().images(z, labels), nrow

    def _outputs(self, partial: bool) -> None:
        if not self.info.is_main:
            return
        name = f"step_{self.step:07d}.png" if partial else f"epoch_{self.epoch:03d}.png"
        if partial or self.epoch % self.cfg.sample_every == 0 or self.epoch == self.cfg.max_epochs:
            self.writer.grid(*self.sample_grid_images(), name)
        self.writer.metrics(self.history)
        self.writer.plot(self.loss_log, force=partial, history=self.history)

    def evaluate(self) -> dict:
        """FID and friends of the sample generator on cfg.eval_n seeded samples."""
        assert self.evaluator is not None  # evaluate() runs only when the run has an evaluator
        with eval_mode(self.gan.sample_generator):
            res = self.evaluator.score_generator(self.generator(), self.cfg.eval_n, self.cfg.seed, pr_samples=2000)
        # The quality's precision and recall (Kynkäänniemi et al.) under their own names: the epoch's entry
        # already has "precision", the arithmetic it trained in ("bf16" | "fp32").
        out = {
            "fid": res.fid,
            "coverage": res.coverage,
            "sample_precision": res.precision,
            "sample_recall": res.recall,
            "inception_score": res.inception_score,
        }
        if res.accuracy is not None:
            out["class_accuracy"] = res.accuracy
        return out

    def save(self, name: str = "last.pt") -> Path:
        path = self.run_dir / "checkpoints" / name
        if self.info.is_main:
            save_checkpoint(self.state_dict(), path)
        return path
