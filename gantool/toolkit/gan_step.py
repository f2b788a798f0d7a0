"""One GAN training step: the networks, their optimizers, the EMA copy and the loss.

`GANStep.step(real, labels, step)` does the discriminator update (with the lazy R1 penalty)
then the generator update through the updated discriminator, and returns both losses.
Randomness comes only from the `rng` it is given, so a run is reproducible on CPU.
"""

from __future__ import annotations

import contextlib
from typing import Any, Optional, cast

import torch
from torch import nn

from gantool.core.errors import GantoolError, first_line
from gantool.toolkit import distributed as ddp
from gantool.toolkit.augment import diff_augment, parse_policy
from gantool.toolkit.checkpoint import load_state
from gantool.toolkit.config import TrainConfig
from gantool.toolkit.ema import EMA
from gantool.toolkit.losses import create_loss
from gantool.toolkit.models import create_models
from gantool.toolkit.models.conditioning import set_condition_strength


class GANStep:
    def __init__(self, cfg: TrainConfig, device: torch.device, info: ddp.DistInfo, rng: torch.Generator) -> None:
        self.cfg, self.device, self.info, self.rng = cfg, device, info, rng
        G, D = create_models(cfg.model)
        self.G, self.D = G.to(device), D.to(device)  # the raw modules: what is saved and exported
        from gantool.toolkit.hardware import resolve_channels_last, resolve_precision

        self.precision = resolve_precision(cfg.precision if cfg.amp else "fp32", device)  # "bf16" | "fp32"
        self.channels_last = resolve_channels_last(
            cfg.channels_last, self.precision, device, cfg.batch_size, _convolutional(self.G, self.D)
        )
        if self.channels_last:  # in place: before the EMA copy and the optimizers take the parameters
            for net in (self.G, self.D):
                net.to(memory_format=torch.channels_last)
        self.ema = EMA(self.G, cfg.ema_decay) if cfg.ema else None
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2))
        self.loss = create_loss(cfg.loss, cfg.label_smoothing)
        # torch.compile returns the module wrapped (an OptimizedModule), typed as a plain callable.
        compiled_g = cast(nn.Module, torch.compile(self.G)) if cfg.compile else self.G
        compiled_d = cast(nn.Module, torch.compile(self.D)) if cfg.compile else self.D
        self.G_train = self._ddp(compiled_g)  # G as the steps call it
        self.D_train = self._ddp(compiled_d)  # D in its own step (gradients all-reduced under DDP)
        # D as called in the G step: not DDP-wrapped, so its grads (zeroed before the next
        # D step anyway) are not all-reduced.
        self.D_in_g_step = compiled_d
        self.policy = parse_policy(cfg.diffaug)

    @property
    def sample_generator(self) -> torch.nn.Module:
        """The generator used for samples and export: the EMA copy when enabled."""
        return self.ema.model if self.ema is not None else self.G

    def _ddp(self, module: torch.nn.Module) -> torch.nn.Module:
        if not self.info.enabled:
            return module
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(module, device_ids=ids)

    def _autocast(self):
        if self.precision == "bf16":  # CUDA, or a CPU with bf16 units (oneDNN's AVX512-BF16 / AMX kernels)
            return torch.autocast(self.device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _d_input(self, x: torch.Tensor) -> torch.Tensor:
        """What D sees: DiffAugment'ed when a policy is set (the same for real and fake)."""
        return diff_augment(x, self.policy, self.rng) if self.policy else x

    def set_progress(self, fraction: float) -> None:
        """Learning rates for this point of the run (fraction 0..1): constant, then, past
        cfg.lr_decay_start, falling linearly to 0 at the end."""
        start = self.cfg.lr_decay_start
        scale = 1.0 if fraction <= start or start >= 1.0 else max(0.0, (1.0 - fraction) / (1.0 - start))
        for opt, lr in ((self.opt_g, self.cfg.lr_g), (self.opt_d, self.cfg.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * scale

    def step(self, real: torch.Tensor, labels: Optional[torch.Tensor], step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """real (B, 1, 28, 28) in [-1, 1], labels (B,) or None -> (D loss, G loss), detached."""
        cfg, m, b = self.cfg, self.cfg.model, real.shape[0]
        if self.channels_last:
            real = real.contiguous(memory_format=torch.channels_last)
        if m.conditional and cfg.cond_warmup:
            strength = min(1.0, step / cfg.cond_warmup)
            set_condition_strength(self.G, strength)
            set_condition_strength(self.D, strength)
        z = torch.randn(b, m.latent_dim, generator=self.rng).to(self.device)  # (B, Z)
        fake_labels = (
            torch.randint(0, m.num_classes, (b,), generator=self.rng).to(self.device) if m.conditional else None
        )
        with self._autocast():
            fake = self.G_train(z, fake_labels)  # (B, 1, 28, 28) in [-1, 1]

        # D step: real and fake as separate batches (each with its own BN statistics);
        # under DDP the first backward skips the all-reduce, the second syncs the sum.
        self.opt_d.zero_grad(set_to_none=True)
        r1 = cfg.r1_gamma > 0 and step % cfg.r1_every == 0
        with ddp.no_sync(self.D_train):
            real_in = self._d_input(real)
            if r1:
                real_in = real_in.detach().requires_grad_(True)
            with self._autocast():
                logits_real = self.D_train(real_in, labels).float()
                d_real = self.loss.d_real(logits_real)
            if r1:  # R1 (Mescheder et al. 2018): penalise D's gradient on real data, lazily
                (grad,) = torch.autograd.grad(logits_real.sum(), real_in, create_graph=True)
                d_real = d_real + grad.square().sum(dim=(1, 2, 3)).mean() * (cfg.r1_gamma / 2 * cfg.r1_every)
            d_real.backward()
        with self._autocast():
            d_fake = self.loss.d_fake(self.D_train(self._d_input(fake.detach()), fake_labels).float())
        d_fake.backward()
        self.opt_d.step()

        # G step through the updated D.
        self.opt_g.zero_grad(set_to_none=True)
        with self._autocast():
            g_loss = self.loss.g(self.D_in_g_step(self._d_input(fake), fake_labels).float())
        g_loss.backward()
        self.opt_g.step()
        if self.ema is not None:
            self.ema.update(self.G)
        return (d_real + d_fake).detach(), g_loss.detach()

    def state_dict(self) -> dict[str, Any]:
        ema = self.ema.state_dict() if self.ema is not None else None
        if ema is not None:
            ema = {**ema, "model": _plain(ema["model"])}
        return {
            "generator": _plain(self.G.state_dict()),
            "discriminator": _plain(self.D.state_dict()),
            "ema": ema,
            "opt_g": _plain_optimizer(self.opt_g.state_dict()),
            "opt_d": _plain_optimizer(self.opt_d.state_dict()),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        arch = self.cfg.model.arch
        load_state(self.G, state["generator"], "generator", arch)
        load_state(self.D, state["discriminator"], "discriminator", arch)
        try:
            if self.ema is not None and isinstance(state.get("ema"), dict):
                self.ema.load_state_dict(state["ema"])
            self.opt_g.load_state_dict(state["opt_g"])
            self.opt_d.load_state_dict(state["opt_d"])
        except (ValueError, KeyError, RuntimeError, TypeError, AttributeError, IndexError) as e:
            raise GantoolError(
                f"the checkpoint's optimizer or EMA state does not fit this model "
                f"({first_line(e, 100)}); use another checkpoint"
            ) from None


def _convolutional(*nets: torch.nn.Module) -> bool:
    return any(isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d)) for net in nets for m in net.modules())


def _plain(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The tensors in the default (NCHW) memory format: a checkpoint reads the same whatever trained it."""
    return {k: v.contiguous() for k, v in state.items()}


def _plain_optimizer(state: dict[str, Any]) -> dict[str, Any]:
    """An optimizer's state_dict with its moment tensors (shaped like the parameters) in NCHW."""
    per_param = {
        i: {k: v.contiguous() if isinstance(v, torch.Tensor) else v for k, v in s.items()}
        for i, s in state["state"].items()
    }
    return {**state, "state": per_param}
