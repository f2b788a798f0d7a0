"""The model registry's leaf module: architectures register here (`@MODELS.register("dcgan")`).

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
