"""Models: `create_models(ModelConfig(arch="dcgan"))`; each architecture is one function in its own
module, registered in `gantool.toolkit.models.registry` (importing this package registers them all).
"""

from __future__ import annotations

import torch.nn as nn

from gantool.toolkit.config import ModelConfig
from gantool.toolkit.models import dcgan, mlp  # noqa: F401  (each registers its architecture)
from gantool.toolkit.models.registry import MODELS, ModelPair

__all__ = ["MODELS", "ModelPair", "create_discriminator", "create_generator", "create_models"]


def create_models(cfg: ModelConfig) -> ModelPair:
    """Build G and D; the architecture name is checked here (an unknown one is a one-line error)."""
    builder = MODELS.get(cfg.arch)
    cfg.validate()
    return builder(cfg)


def create_generator(cfg: ModelConfig) -> nn.Module:
    return create_models(cfg).generator


def create_discriminator(cfg: ModelConfig) -> nn.Module:
    return create_models(cfg).discriminator
