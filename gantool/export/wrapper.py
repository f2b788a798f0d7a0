"""The module that is exported: the inference form of the EMA generator, pixels in [0, 1] out."""

from __future__ import annotations

import torch
import torch.nn as nn

from gantool.toolkit.inference import PixelGenerator, to_pixels


def wrap(generator: nn.Module, conditional: bool) -> PixelGenerator:
    """z [, label] -> pixels in [0, 1], in eval mode: what every exported file computes."""
    return to_pixels(generator.eval(), conditional).eval()


def inference_form(generator: nn.Module) -> nn.Module:
    """The module to export: an architecture's `for_export()` rewrite if it has one
    (equivalent maths, faster kernels), else the generator itself. Verification
    always compares the exported files with the original generator."""
    rewrite = getattr(generator, "for_export", None)
    return rewrite() if callable(rewrite) else generator


def quantization_form(generator: nn.Module) -> tuple[nn.Module | None, str]:
    """(the module an int8 file is built from, a note): an architecture's `for_quantization()`
    (heavy layers onnxruntime can run in int8), else None and why the int8 file will not be faster."""
    rewrite = getattr(generator, "for_quantization", None)
    if not callable(rewrite):
        return None, ""
    try:
        return rewrite(), (
            "ConvTranspose layers quantized in their sub-pixel form and run as 2x2 phase convolutions (integer kernels)"
        )
    except ValueError as e:
        return None, f"{e}: onnxruntime has no int8 ConvTranspose, so the int8 file will not be faster than fp32"


def example_inputs(latent_dim: int, num_classes: int, batch: int = 2) -> tuple[torch.Tensor, ...]:
    """Tracing inputs; batch >= 2 so no exporter specialises the batch axis to 1."""
    z = torch.randn(batch, latent_dim, generator=torch.Generator().manual_seed(0))
    if num_classes:
        return z, torch.arange(batch, dtype=torch.int64) % num_classes
    return (z,)
