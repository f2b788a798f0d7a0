"""Model registry: `create_models(ModelConfig(arch="dcgan"))`; each architecture is one function.

A registered builder takes a ModelConfig and returns a ModelPair. Generators map
`z (B, latent_dim)` [+ `label (B,) int64`] to images `(B, C, 28, 28)` in [-1, 1];
discriminators map images [+ labels] to logits `(B,)`.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import torch.nn as nn

from gantool.toolkit.config import ModelConfig
from gantool.toolkit.registry import Registry


class ModelPair(NamedTuple):
    generator: nn.Module
    discriminator: nn.Module


MODELS: Registry[Callable[[ModelConfig], ModelPair]] = Registry("model")


def create_models(cfg: ModelConfig) -> ModelPair:
    """Build G and D; the architecture name is checked here (an unknown one is a one-line error)."""
    builder = MODELS.get(cfg.arch)
    cfg.validate()
    return builder(cfg)


def create_generator(cfg: ModelConfig) -> nn.Module:
    return create_models(cfg).generator


def create_discriminator(cfg: ModelConfig) -> nn.Module:
    return create_models(cfg).discriminator


# Importing the modules registers their architectures.
from gantool.toolkit.models import dcgan, mlp  # noqa: E402,F401
