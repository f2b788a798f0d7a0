"""Fully connected GAN: LeakyReLU MLPs, dropout in D, Tanh output."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn

from gantool.toolkit.config import ModelConfig
from gantool.toolkit.models.conditioning import LabelEmbedding, ProjectionHead, spectral_normalize
from gantool.toolkit.models.registry import MODELS, ModelPair


class MLPGenerator(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.latent_dim, self.num_classes = cfg.latent_dim, cfg.num_classes
        self.image_shape = (cfg.channels, cfg.image_size, cfg.image_size)
        h = cfg.width * 8  # width 32 -> 256-512-1024 hidden units
        self.cond = LabelEmbedding(cfg.num_classes, cfg.latent_dim)
        self.net = nn.Sequential(
            nn.Linear(cfg.latent_dim + self.cond.dim, h),
            nn.LeakyReLU(0.2),
            nn.Linear(h, 2 * h),
            nn.LeakyReLU(0.2),
            nn.Linear(2 * h, 4 * h),
            nn.LeakyReLU(0.2),
            nn.Linear(4 * h, cfg.channels * cfg.image_size**2),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor, label: Optional[torch.Tensor] = None) -> torch.Tensor:
        x = self.net(self.cond(z, label))  # (B, C*H*W) in [-1, 1]
        return x.view(-1, *self.image_shape)  # (B, C, H, W)


class MLPDiscriminator(nn.Module):
    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        h = cfg.critic_width * 8
        self.body = nn.Sequential(
            nn.Flatten(),
            nn.Linear(cfg.channels * cfg.image_size**2, 4 * h),
            nn.LeakyReLU(0.2),
            nn.Dropout(0.3),
            nn.Linear(4 * h, 2 * h),
            nn.LeakyReLU(0.2),
            nn.Dropout(0.3),
            nn.Linear(2 * h, h),
            nn.LeakyReLU(0.2),
            nn.Dropout(0.3),
        )
        self.head = ProjectionHead(h, cfg.num_classes)
        if cfg.d_norm == "spectral":
            spectral_normalize(self)

    def forward(self, x: torch.Tensor, label: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.head(self.body(x), label)  # (B,) logits


@MODELS.register("mlp")
def mlp(cfg: ModelConfig) -> ModelPair:
    return ModelPair(MLPGenerator(cfg), MLPDiscriminator(cfg))
