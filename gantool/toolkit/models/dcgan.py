"""DCGAN for 28x28: ConvTranspose+BatchNorm+ReLU generator, Conv+LeakyReLU(+BN) critic."""

from __future__ import annotations

import copy
from typing import Optional

import torch
import torch.nn as nn

from gantool.toolkit.config import ModelConfig
from gantool.toolkit.models.conditioning import LabelEmbedding, MinibatchStdDev, ProjectionHead, spectral_normalize
from gantool.toolkit.models.registry import MODELS, ModelPair
from gantool.toolkit.models.subpixel import rewrite_sequential


def _init_dcgan(module: nn.Module) -> None:
    """DCGAN paper init: N(0, 0.02) conv weights, N(1, 0.02) BN scales."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class DCGANGenerator(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.latent_dim, self.num_classes = cfg.latent_dim, cfg.num_classes
        w = cfg.width
        self.cond = LabelEmbedding(cfg.num_classes, cfg.latent_dim)
        self.net = nn.Sequential(
            # (B, Z, 1, 1) -> (B, 4w, 7, 7)
            nn.ConvTranspose2d(cfg.latent_dim + self.cond.dim, 4 * w, 7, 1, 0, bias=False),
            nn.BatchNorm2d(4 * w),
            nn.ReLU(),
            # -> (B, 2w, 14, 14)
            nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1, bias=False),
            nn.BatchNorm2d(2 * w),
            nn.ReLU(),
            # -> (B, w, 28, 28)
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False),
            nn.BatchNorm2d(w),
            nn.ReLU(),
            # -> (B, C, 28, 28) in [-1, 1]
            nn.Conv2d(w, cfg.channels, 3, 1, 1),
            nn.Tanh(),
        )
        _init_dcgan(self)

    def forward(self, z: torch.Tensor, label: Optional[torch.Tensor] = None) -> torch.Tensor:
        h = self.cond(z, label)  # (B, Z [+ Z])
        return self.net(h[:, :, None, None])

    def for_export(self) -> nn.Module:
        """An equivalent eval-mode module that runtimes execute faster (see DCGANInference)."""
        return DCGANInference(copy.deepcopy(self).eval())

    def for_quantization(self) -> nn.Module:
        """The same maths with every stride-2 ConvTranspose as a sub-pixel Conv (BatchNorm folded in):
        integer kernels exist for it, so an int8 file runs its heavy layers in int8 (see subpixel)."""
        inference = self.for_export()
        assert isinstance(inference.net, nn.Sequential)
        layers, _, why = rewrite_sequential(list(inference.net))
        if why:
            raise ValueError("; ".join(why))
        inference.net = nn.Sequential(*layers)
        return inference


class _Project(nn.Module):
    """The first ConvTranspose (k x k kernel on a 1x1 input) and its BatchNorm, as one Linear.

    On a 1x1 input, out[c, i, j] = sum_z W[z, c, i, j] * h[z]: a matrix product.
    onnxruntime's Gemm does it ~5x faster than its ConvTranspose kernel.
    """

    def __init__(self, convt: nn.ConvTranspose2d, bn: nn.BatchNorm2d) -> None:
        super().__init__()
        assert bn.running_var is not None and bn.running_mean is not None  # eval-mode statistics
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # eval-mode BN: y * scale + shift
        shift = bn.bias - bn.running_mean * scale
        w = convt.weight * scale.view(1, -1, 1, 1)  # (Z, C, k, k)
        bias = shift if convt.bias is None else convt.bias * scale + shift
        z_dim, c, k, _ = w.shape
        self.shape = (c, k, k)
        self.linear = nn.Linear(z_dim, c * k * k)
        with torch.no_grad():
            self.linear.weight.copy_(w.permute(1, 2, 3, 0).reshape(c * k * k, z_dim))
            self.linear.bias.copy_(bias.view(c, 1).expand(c, k * k).reshape(-1))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.linear(h).view(-1, *self.shape)  # (B, Z) -> (B, C, k, k)


class DCGANInference(nn.Module):
    """DCGANGenerator for inference only; same outputs up to float rounding (export verifies)."""

    def __init__(self, g: DCGANGenerator) -> None:
        super().__init__()
        self.cond = g.cond
        convt, bn = g.net[0], g.net[1]
        assert isinstance(convt, nn.ConvTranspose2d) and isinstance(bn, nn.BatchNorm2d)  # DCGANGenerator's layout
        self.project = _Project(convt, bn)
        self.net = nn.Sequential(*list(g.net)[2:])  # ReLU, ConvTranspose, … Tanh

    def forward(self, z: torch.Tensor, label: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.net(self.project(self.cond(z, label)))


class DCGANDiscriminator(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        w, spectral = cfg.critic_width, cfg.d_norm == "spectral"
        norm = (lambda c: nn.Identity()) if spectral else nn.BatchNorm2d
        self.body = nn.Sequential(
            # (B, C, 28, 28) -> (B, w, 14, 14); no BN on the input layer (DCGAN)
            nn.Conv2d(cfg.channels, w, 4, 2, 1),
            nn.LeakyReLU(0.2),
            # -> (B, 2w, 7, 7)
            nn.Conv2d(w, 2 * w, 4, 2, 1, bias=spectral),
            norm(2 * w),
            nn.LeakyReLU(0.2),
            # -> (B, 4w, 4, 4)
            nn.Conv2d(2 * w, 4 * w, 3, 2, 1, bias=spectral),
            norm(4 * w),
            nn.LeakyReLU(0.2),
            *([MinibatchStdDev()] if cfg.d_mbstd else []),  # -> (B, 4w + 1, 4, 4)
            nn.Flatten(),  # (B, 16 * (4w [+ 1]))
        )
        self.head = ProjectionHead(16 * (4 * w + int(cfg.d_mbstd)), cfg.num_classes)
        _init_dcgan(self)
        if spectral:
            spectral_normalize(self)

    def forward(self, x: torch.Tensor, label: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.head(self.body(x), label)  # (B,) logits


@MODELS.register("dcgan")
def dcgan(cfg: ModelConfig) -> ModelPair:
    return ModelPair(DCGANGenerator(cfg), DCGANDiscriminator(cfg))
