"""DCGAN for 28x28: ConvTranspose+BatchNorm+ReLU generator, Conv+LeakyReLU(+BN) critic."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn

from gantool.toolkit.config import ModelConfig
from gantool.toolkit.models import MODELS, ModelPair
from gantool.toolkit.models.conditioning import LabelEmbedding, ProjectionHead


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


class DCGANDiscriminator(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        w = cfg.width
        self.body = nn.Sequential(
            # (B, C, 28, 28) -> (B, w, 14, 14); no BN on the input layer (DCGAN)
            nn.Conv2d(cfg.channels, w, 4, 2, 1),
            nn.LeakyReLU(0.2),
            # -> (B, 2w, 7, 7)
            nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False),
            nn.BatchNorm2d(2 * w),
            nn.LeakyReLU(0.2),
            # -> (B, 4w, 4, 4)
            nn.Conv2d(2 * w, 4 * w, 3, 2, 1, bias=False),
            nn.BatchNorm2d(4 * w),
            nn.LeakyReLU(0.2),
            nn.Flatten(),  # (B, 16 * 4w)
        )
        self.head = ProjectionHead(16 * 4 * w, cfg.num_classes)
        _init_dcgan(self)

    def forward(self, x: torch.Tensor, label: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.head(self.body(x), label)  # (B,) logits


@MODELS.register("dcgan")
def dcgan(cfg: ModelConfig) -> ModelPair:
    return ModelPair(DCGANGenerator(cfg), DCGANDiscriminator(cfg))
