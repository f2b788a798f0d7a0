"""PyTorch generators as `gantool.runtime.Generator`s: the eager reference, the trainer's grids and FID.

`to_pixels(G)` wraps a generator so it maps `z [, label]` to pixels in [0, 1] (the module that
is exported); `TorchGenerator` runs such a module behind the runtime's numpy interface;
`open_checkpoint(path)` is the "pytorch" backend of `gantool.artifacts`.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np
import torch
import torch.nn as nn

from gantool.runtime.generator import Generator
from gantool.runtime.metadata import ModelMetadata
from gantool.toolkit.config import ModelConfig


class PixelGenerator(nn.Module):
    """z (N, Z) float32 [, label (N,) int64] -> image (N, C, H, W) float32 in [0, 1].

    The Tanh-to-pixel mapping lives in the module (and so in every exported graph) so every
    consumer gets the same pixels; no random sampling happens inside."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        x = self.generator(z, label)  # (N, C, H, W) in [-1, 1]
        return ((x + 1.0) * 0.5).clamp(0.0, 1.0)


class UnconditionalPixelGenerator(PixelGenerator):
    def forward(self, z: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        x = self.generator(z, None)
        return ((x + 1.0) * 0.5).clamp(0.0, 1.0)


def to_pixels(generator: nn.Module, conditional: bool) -> PixelGenerator:
    cls = PixelGenerator if conditional else UnconditionalPixelGenerator
    return cls(generator)


@contextlib.contextmanager
def eval_mode(*modules: nn.Module) -> Iterator[None]:
    """Put modules in eval mode for a block and restore each one's mode after, exceptions included."""
    was = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, training in zip(modules, was, strict=True):
            m.train(training)


def model_metadata(model: ModelConfig) -> dict[str, Any]:
    """The model part of gantool's artifact metadata (what the runtime needs to drive it)."""
    return {
        "model": model.arch,
        "latent_dim": model.latent_dim,
        "num_classes": model.num_classes,
        "image_shape": [model.channels, model.image_size, model.image_size],
        "value_range": [0.0, 1.0],
        "inputs": ["z", "label"] if model.conditional else ["z"],
        "outputs": ["image"],
    }


class TorchGenerator(Generator):
    """A pixel module (see `to_pixels`) behind the numpy Generator interface, on its own device."""

    backend = "pytorch"

    def __init__(
        self,
        module: nn.Module,
        metadata: dict[str, Any] | ModelMetadata,
        path: Optional[Path] = None,
        max_batch: int = 500,
        checkpoint: Any = None,
    ) -> None:
        meta = metadata if isinstance(metadata, ModelMetadata) else ModelMetadata.from_dict(metadata)
        super().__init__(meta, path, max_batch)
        self.module = module
        self.checkpoint = checkpoint  # the Checkpoint it was rebuilt from, if any
        param = next(module.parameters(), None)
        self.device = param.device if param is not None else torch.device("cpu")

    def _run(self, z: np.ndarray, labels: Optional[np.ndarray]) -> np.ndarray:
        args = [torch.from_numpy(z).to(self.device)]
        if labels is not None:
            args.append(torch.from_numpy(labels).to(self.device))
        with torch.inference_mode():
            return self.module(*args).float().cpu().numpy()


def open_checkpoint(path: str | Path, prefer_ema: bool = True) -> TorchGenerator:
    """The "pytorch" backend: a run dir or checkpoint's (EMA) generator in eval mode, on the CPU."""
    from gantool.toolkit.checkpoint import load_checkpoint

    ckpt = load_checkpoint(path)
    module = to_pixels(ckpt.generator(prefer_ema), ckpt.conditional).eval()
    meta = {
        **model_metadata(ckpt.model),
        "variant": "fp32",
        "train_config": ckpt.train.to_dict(),
        "model_config": ckpt.train.to_dict()["model"],
    }
    return TorchGenerator(module, meta, ckpt.path, checkpoint=ckpt)
