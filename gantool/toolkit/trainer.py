"""The training loop: `train(TrainConfig)` and `resume(run_dir)`.

A run directory holds:
    config.json             the TrainConfig, as asdict()
    checkpoints/last.pt     written atomically every epoch (and on Ctrl-C / time budget)
    samples/epoch_NNN.png   a grid from fixed noise (one row per digit when conditional)
    losses.png              D and G loss curves
    metrics.jsonl           one JSON object per epoch

Runs are deterministic on CPU for a given seed: every random draw (permutation,
noise, fake labels, rotation angles) comes from explicit generators whose state
is checkpointed, so an interrupted and resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional

import torch

from gantool.errors import GantoolError
from gantool.fileio import check_writable_dir, write_json_atomic, write_text_atomic
from gantool.toolkit import distributed as ddp
from gantool.toolkit.augment import diff_augment, parse_policy, random_rotate
from gantool.toolkit.checkpoint import load_checkpoint, load_state, save_checkpoint
from gantool.toolkit.config import TrainConfig
from gantool.toolkit.data import ImageData, load_dataset
from gantool.toolkit.device import resolve_device
from gantool.toolkit.ema import EMA
from gantool.toolkit.losses import create_loss
from gantool.toolkit.models import create_models
from gantool.toolkit.models.conditioning import set_condition_strength
from gantool.toolkit.plots import plot_losses, to_uint8

LOG_EVERY = 10  # steps between loss readings (a .item() syncs the GPU)
PLOT_EVERY_S = 60.0  # seconds between loss-plot redraws during training


class TrainingInterrupted(Exception):
    """Ctrl-C: a checkpoint was written at `checkpoint`; resume with --resume."""

    def __init__(self, checkpoint: Path) -> None:
        super().__init__(f"interrupted; checkpoint saved to {checkpoint}")
        self.checkpoint = checkpoint


@dataclass
class TrainResult:
    run_dir: Path
    checkpoint: Path
    epochs_done: int
    steps: int
    stopped_by: str  # "epochs" | "time"
    history: list[dict] = field(default_factory=list)


StepHook = Callable[["Trainer"], None]


def train(cfg: TrainConfig, *, progress: bool = True, on_step: Optional[StepHook] = None,
          overwrite: bool = False) -> TrainResult:
    """Train a GAN as `cfg` says and leave a run directory at `cfg.run_dir`."""
    cfg.validate()
    run_dir = Path(cfg.run_dir)
    if (run_dir / "checkpoints" / "last.pt").exists() and not overwrite:
        raise GantoolError(
            f"run dir {str(run_dir)!r} already holds a run; continue it with --resume {run_dir}, "
            "or choose another --run-dir"
        )
    return _run(cfg, None, progress, on_step)


def resume(run_dir: str | Path, *, epochs: Optional[int] = None, minutes: Optional[float] = None,
           device: Optional[str] = None, progress: bool = True,
           on_step: Optional[StepHook] = None) -> TrainResult:
    """Continue a run from its last checkpoint (optionally with more epochs or time)."""
    ckpt = load_checkpoint(run_dir)
    cfg = TrainConfig.from_dict(ckpt["train_config"])
    run_path = Path(run_dir) if Path(run_dir).is_dir() else Path(ckpt["path"]).parent.parent
    cfg = replace(cfg, run_dir=str(run_path))
    if epochs is not None:
        cfg.epochs = epochs
    if minutes is not None:
        cfg.minutes = minutes
    if device is not None:
        cfg.device = device
    cfg.validate()
    return _run(cfg, ckpt, progress, on_step)


def _run(cfg: TrainConfig, ckpt: Optional[dict], progress: bool, on_step: Optional[StepHook]) -> TrainResult:
    info = ddp.init_distributed(cfg.device)
    if cfg.r1_gamma > 0 and info.enabled:
        # DDP does not support higher-order gradients (pytorch/pytorch#63831); R1's double
        # backward under DDP aborted a rank in about 1 test run in 20, so torchrun runs
        # train without it, and config.json says so.
        if info.is_main:
            print("warning: the R1 penalty is off under torchrun (DDP does not support double backward); "
                  "train in one process to use it", file=sys.stderr)
        cfg = replace(cfg, r1_gamma=0.0)
    try:
        if info.is_main:
            check_writable_dir(cfg.run_dir, "run dir")
        data = load_dataset(cfg.dataset, "train", cfg.data_dir, cfg.download)
        if cfg.model.num_classes > data.num_classes:
            raise GantoolError(
                f"model has {cfg.model.num_classes} classes but dataset {cfg.dataset!r} has {data.num_classes}; "
                "train it with --unconditional"
            )
        trainer = Trainer(cfg, data, info)
        if ckpt is not None:
            trainer.load_state_dict(ckpt)
        return trainer.fit(progress=progress, on_step=on_step)
    finally:
        ddp.shutdown_distributed(info)


class Trainer:
    def __init__(self, cfg: TrainConfig, data: ImageData, info: ddp.DistInfo) -> None:
        self.cfg, self.info = cfg, info
        self.device = resolve_device(cfg.device, info.local_rank)
        self.run_dir = Path(cfg.run_dir)
        torch.manual_seed(cfg.seed + info.rank)  # global RNG: dropout
        G, D = create_models(cfg.model)
        self.G, self.D = G.to(self.device), D.to(self.device)  # raw modules: what we save
        self.ema = EMA(self.G, cfg.ema_decay) if cfg.ema else None
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2))
        self.loss = create_loss(cfg.loss, cfg.label_smoothing)
        G_c = torch.compile(self.G) if cfg.compile else self.G
        D_c = torch.compile(self.D) if cfg.compile else self.D
        self.G_fwd, self.D_fwd = self._ddp(G_c), self._ddp(D_c)
        # D as called in the G step: not DDP-wrapped, so its grads (zeroed before the
        # next D step anyway) are not all-reduced.
        self.D_plain = D_c
        # All of a rank's random draws; CPU so results do not depend on the device.
        self.rng = torch.Generator().manual_seed(cfg.seed * 7919 + info.rank + 1)
        self.amp = self.device.type == "cuda" and cfg.amp
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
        self._stop_requested = False
        self._last_plot = time.monotonic()
        self.policy = parse_policy(cfg.diffaug)
        self.best_fid = float("inf")
        self.evaluator = None
        if cfg.eval_every > 0 and info.is_main:
            from gantool.toolkit.metrics.evaluate import Evaluator

            self.evaluator = Evaluator(cfg.dataset, cfg.data_dir, seed=0, progress=True, download=cfg.download)

    # ----- set-up -------------------------------------------------------------------
    def _ddp(self, module: torch.nn.Module) -> torch.nn.Module:
        if not self.info.enabled:
            return module
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids)

    def _autocast(self):
        if self.amp:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    @property
    def sample_generator(self) -> torch.nn.Module:
        """The generator used for samples and export: the EMA copy when enabled."""
        return self.ema.model if self.ema is not None else self.G

    # ----- one step -----------------------------------------------------------------
    def _batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        idx = idx.to(self.device)
        real = self.images[idx].unsqueeze(1).float().div_(127.5).sub_(1.0)  # (B, 1, 28, 28) in [-1, 1]
        if self.cfg.rotate > 0:
            real = random_rotate(real, self.cfg.rotate, self.rng)
        labels = self.labels[idx] if self.cfg.model.conditional else None
        return real, labels

    def train_step(self, real: torch.Tensor, labels: Optional[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        b, m = real.shape[0], self.cfg.model
        if m.conditional and self.cfg.cond_warmup:
            strength = min(1.0, self.step / self.cfg.cond_warmup)
            set_condition_strength(self.G, strength)
            set_condition_strength(self.D, strength)
        z = torch.randn(b, m.latent_dim, generator=self.rng).to(self.device)  # (B, Z)
        fake_labels = (torch.randint(0, m.num_classes, (b,), generator=self.rng).to(self.device)
                       if m.conditional else None)
        with self._autocast():
            fake = self.G_fwd(z, fake_labels)  # (B, 1, 28, 28) in [-1, 1]

        # D step: real and fake as separate batches (each with its own BN statistics);
        # under DDP the first backward skips the all-reduce, the second syncs the sum.
        self.opt_d.zero_grad(set_to_none=True)
        r1 = self.cfg.r1_gamma > 0 and self.step % self.cfg.r1_every == 0
        with ddp.no_sync(self.D_fwd):
            real_in = self._d_input(real)
            if r1:
                real_in = real_in.detach().requires_grad_(True)
            with self._autocast():
                logits_real = self.D_fwd(real_in, labels).float()
                d_real = self.loss.d_real(logits_real)
            if r1:  # R1 (Mescheder et al. 2018): penalise D's gradient on real data, lazily
                (grad,) = torch.autograd.grad(logits_real.sum(), real_in, create_graph=True)
                d_real = d_real + grad.square().sum(dim=(1, 2, 3)).mean() * (
                    self.cfg.r1_gamma / 2 * self.cfg.r1_every)
            d_real.backward()
        with self._autocast():
            d_fake = self.loss.d_fake(self.D_fwd(self._d_input(fake.detach()), fake_labels).float())
        d_fake.backward()
        self.opt_d.step()

        # G step through the updated D.
        self.opt_g.zero_grad(set_to_none=True)
        with self._autocast():
            g_loss = self.loss.g(self.D_plain(self._d_input(fake), fake_labels).float())
        g_loss.backward()
        self.opt_g.step()
        if self.ema is not None:
            self.ema.update(self.G)
        return (d_real + d_fake).detach(), g_loss.detach()

    def _d_input(self, x: torch.Tensor) -> torch.Tensor:
        """What D sees: DiffAugment'ed when a policy is set (the same for real and fake)."""
        return diff_augment(x, self.policy, self.rng) if self.policy else x

    # ----- the loop -----------------------------------------------------------------
    def _epoch_indices(self, epoch: int) -> tuple[torch.Tensor, int, int]:
        """This rank's shard of epoch `epoch`'s permutation, its batch size and step count."""
        n = len(self.images)
        perm = torch.randperm(n, generator=torch.Generator().manual_seed(self.cfg.seed + 1_000_003 * (epoch + 1)))
        per_rank = n // self.info.world_size
        shard = perm[self.info.rank :: self.info.world_size][:per_rank]
        bs = min(self.cfg.batch_size, per_rank)
        return shard, bs, max(1, per_rank // bs)  # drop the last partial batch

    def fit(self, progress: bool = True, on_step: Optional[StepHook] = None) -> TrainResult:
        cfg = self.cfg
        if self.info.is_main:
            (self.run_dir / "samples").mkdir(parents=True, exist_ok=True)
            write_json_atomic(self.run_dir / "config.json", cfg.to_dict())
        stopped_by = "epochs"
        self._clock0 = time.perf_counter() - self.elapsed_s  # resumed runs continue their clock
        with self._sigint_handler():
            while self.epoch < cfg.epochs:
                shard, bs, steps = self._epoch_indices(self.epoch)
                finished = self._run_epoch(shard, bs, steps, progress, on_step)
                if not finished:
                    stopped_by = "time" if not self._stop_requested else "interrupt"
                    break
        if stopped_by != "epochs" and self.batch_in_epoch > 0:
            # Stopped mid-epoch: the epoch-end checkpoint does not cover this step.
            self._save()
            self._write_outputs(partial=True)
        else:
            self._plot(force=True)  # the final curves
        if stopped_by == "interrupt":
            raise TrainingInterrupted(self.run_dir / "checkpoints" / "last.pt")
        return TrainResult(self.run_dir, self.run_dir / "checkpoints" / "last.pt", self.epoch, self.step,
                           stopped_by, list(self.history))

    def _run_epoch(self, shard: torch.Tensor, bs: int, steps: int, progress: bool,
                   on_step: Optional[StepHook]) -> bool:
        """Train the rest of the current epoch; False if stopped early (time or Ctrl-C)."""
        cfg = self.cfg
        bar = self._progress_bar(steps, progress)
        d_sum = g_sum = torch.zeros((), device=self.device)
        n_steps, t0 = 0, time.perf_counter()
        for i in range(self.batch_in_epoch, steps):
            real, labels = self._batch(shard[i * bs : (i + 1) * bs])
            d_loss, g_loss = self.train_step(real, labels)
            d_sum, g_sum, n_steps = d_sum + d_loss, g_sum + g_loss, n_steps + 1
            self.batch_in_epoch, self.step = i + 1, self.step + 1
            self.elapsed_s = time.perf_counter() - self._clock0  # wall clock, outputs included
            if self.step % LOG_EVERY == 0:
                self.loss_log.append({"step": self.step, "d_loss": float(d_loss), "g_loss": float(g_loss)})
                if bar is not None:
                    ips = n_steps * bs * self.info.world_size / max(time.perf_counter() - t0, 1e-9)
                    bar.set_postfix(d=f"{float(d_loss):.3f}", g=f"{float(g_loss):.3f}", img_s=f"{ips:.0f}")
            if bar is not None:
                bar.update(1)
            if on_step is not None:
                on_step(self)
            over_time = cfg.minutes is not None and self.elapsed_s >= cfg.minutes * 60
            if self._should_stop(over_time) and i + 1 < steps:
                if bar is not None:
                    bar.close()
                return False
        if bar is not None:
            bar.close()
        wall = time.perf_counter() - t0
        self.epoch, self.batch_in_epoch = self.epoch + 1, 0
        entry = {
            "epoch": self.epoch,
            "step": self.step,
            "d_loss": float(d_sum) / max(n_steps, 1),
            "g_loss": float(g_sum) / max(n_steps, 1),
            "images_per_s": n_steps * bs * self.info.world_size / max(wall, 1e-9),
            "epoch_time_s": wall,
            "elapsed_s": self.elapsed_s,
        }
        is_best = False
        if self.evaluator is not None and (self.epoch % cfg.eval_every == 0 or self.epoch == cfg.epochs):
            entry.update(self.evaluate())
            is_best = entry["fid"] < self.best_fid
            self.best_fid = min(self.best_fid, entry["fid"])
        self.history.append(entry)
        self._save()
        if is_best:
            self._save("best.pt")
        self._write_outputs(partial=False)
        # The budget or Ctrl-C may land exactly on an epoch's last step.
        self.elapsed_s = time.perf_counter() - self._clock0
        over_time = cfg.minutes is not None and self.elapsed_s >= cfg.minutes * 60
        if self._should_stop(over_time, sync_now=True) and self.epoch < cfg.epochs:
            return False
        return True

    def _should_stop(self, over_time: bool, sync_now: bool = False) -> bool:
        """Stop for the time budget or Ctrl-C; under DDP all ranks agree (checked every
        LOG_EVERY steps, or `sync_now` where every rank is at the same point)."""
        flag = over_time or self._stop_requested
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
        return tqdm(total=steps, initial=self.batch_in_epoch, desc=f"epoch {self.epoch + 1}/{self.cfg.epochs}",
                    unit="step", leave=True, dynamic_ncols=True, file=sys.stderr, mininterval=interval)

    @contextlib.contextmanager
    def _sigint_handler(self):
        """First Ctrl-C: finish the current step, checkpoint, exit. Second: stop at once."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum, frame):
            if self._stop_requested:
                raise KeyboardInterrupt
            self._stop_requested = True
            if self.info.is_main:
                print("\nCtrl-C: finishing this step and writing a checkpoint (again to abort)…",
                      file=sys.stderr)

        previous = signal.signal(signal.SIGINT, handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    # ----- outputs ------------------------------------------------------------------
    @torch.no_grad()
    def sample_grid_images(self, per_class: int = 10, unconditional: int = 64):
        """Images from fixed noise: (N, 28, 28) uint8 and the grid's row length."""
        m = self.cfg.model
        gen = torch.Generator().manual_seed(self.cfg.seed + 4242)
        if m.conditional:
            labels = torch.arange(m.num_classes).repeat_interleave(per_class).to(self.device)
            n, nrow = len(labels), per_class  # one row per digit
        else:
            labels, n, nrow = None, unconditional, 8
        z = torch.randn(n, m.latent_dim, generator=gen).to(self.device)
        G = self.sample_generator
        was_training = G.training
        G.eval()
        images = G(z, labels)
        G.train(was_training)
        return to_uint8(images), nrow

    def _write_outputs(self, partial: bool) -> None:
        if not self.info.is_main:
            return
        from gantool.runtime.grid import make_grid, save_png

        images, nrow = self.sample_grid_images()
        name = f"step_{self.step:07d}.png" if partial else f"epoch_{self.epoch:03d}.png"
        if partial or self.epoch % self.cfg.sample_every == 0 or self.epoch == self.cfg.epochs:
            save_png(make_grid(images, nrow), self.run_dir / "samples" / name)
        lines = "".join(json.dumps(h) + "\n" for h in self.history)
        write_text_atomic(self.run_dir / "metrics.jsonl", lines)
        self._plot(force=partial)

    def _plot(self, force: bool) -> None:
        """losses.png: at most every PLOT_EVERY_S seconds while training (matplotlib costs
        ~0.3 s a plot, a lot beside a 2 s epoch), and always when the run stops."""
        now = time.monotonic()
        if self.info.is_main and (force or now - self._last_plot >= PLOT_EVERY_S):
            plot_losses(self.loss_log, self.run_dir / "losses.png")
            self._last_plot = now

    def state_dict(self) -> dict:
        return {
            "model_config": self.cfg.to_dict()["model"],
            "train_config": self.cfg.to_dict(),
            "generator": self.G.state_dict(),
            "discriminator": self.D.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                "trainer": self.rng.get_state(),
            },
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "step": self.step,
            "elapsed_s": self.elapsed_s,
            "history": self.history,
            "loss_log": self.loss_log,
            "best_fid": self.best_fid,
        }

    def load_state_dict(self, ckpt: dict) -> None:
        arch = self.cfg.model.arch
        load_state(self.G, ckpt["generator"], "generator", arch)
        load_state(self.D, ckpt["discriminator"], "discriminator", arch)
        if self.ema is not None and ckpt.get("ema"):
            self.ema.load_state_dict(ckpt["ema"])
        self.opt_g.load_state_dict(ckpt["opt_g"])
        self.opt_d.load_state_dict(ckpt["opt_d"])
        rng = ckpt["rng"]
        if self.info.enabled:
            # Rank 0's states were saved; give every rank its own stream again.
            torch.manual_seed(self.cfg.seed + self.info.rank + 7 * ckpt["step"])
            self.rng.manual_seed(self.cfg.seed * 7919 + self.info.rank + 1 + 7 * ckpt["step"])
        else:
            torch.set_rng_state(rng["torch"])
            self.rng.set_state(rng["trainer"])
            if rng.get("cuda") and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(rng["cuda"])
        self.epoch, self.batch_in_epoch = int(ckpt["epoch"]), int(ckpt["batch_in_epoch"])
        self.step, self.elapsed_s = int(ckpt["step"]), float(ckpt["elapsed_s"])
        self.history, self.loss_log = list(ckpt["history"]), list(ckpt["loss_log"])
        self.best_fid = float(ckpt.get("best_fid", float("inf")))

    def evaluate(self) -> dict:
        """FID and friends of the sample generator on cfg.eval_n seeded samples."""
        from gantool.toolkit.metrics.evaluate import generated_images

        m, G = self.cfg.model, self.sample_generator
        was_training = G.training
        G.eval()

        @torch.no_grad()
        def run(z, labels):
            x = G(torch.from_numpy(z).to(self.device), None if labels is None else torch.from_numpy(labels).to(self.device))
            return to_uint8(x)

        images, labels = generated_images(run, self.cfg.eval_n, m.latent_dim, m.num_classes, seed=self.cfg.seed)
        G.train(was_training)
        res = self.evaluator.score(images, labels, pr_samples=min(2000, self.cfg.eval_n))
        out = {k: res[k] for k in ("fid", "coverage", "precision", "recall", "inception_score")}
        if "class_accuracy" in res:
            out["class_accuracy"] = res["class_accuracy"]["overall"]
        return out

    def _save(self, name: str = "last.pt") -> Path:
        path = self.run_dir / "checkpoints" / name
        if self.info.is_main:
            save_checkpoint(self.state_dict(), path)
        return path
