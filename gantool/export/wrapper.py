"""The module that is exported: explicit inputs, pixels in [0, 1] out."""

from __future__ import annotations

import torch
import torch.nn as nn


class ExportGenerator(nn.Module):
    """z (N, Z) float32 [, label (N,) int64] -> image (N, 1, 28, 28) float32 in [0, 1].

    The Tanh-to-pixel mapping lives in the graph so every consumer gets the same
    pixels; no random sampling happens inside.
    """

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator.eval()

    def forward(self, z: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        x = self.generator(z, label)  # (N, 1, 28, 28) in [-1, 1]
        return ((x + 1.0) * 0.5).clamp(0.0, 1.0)


class UnconditionalExportGenerator(ExportGenerator):
    def forward(self, z: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        x = self.generator(z, None)
        return ((x + 1.0) * 0.5).clamp(0.0, 1.0)


def wrap(generator: nn.Module, conditional: bool) -> ExportGenerator:
    cls = ExportGenerator if conditional else UnconditionalExportGenerator
    return cls(generator).eval()


def inference_form(generator: nn.Module) -> nn.Module:
    """The module to export: an architecture's `for_export()` rewrite if it has one
    (equivalent maths, faster kernels), else the generator itself. Verification
    always compares the exported files with the original generator."""
    rewrite = getattr(generator, "for_export", None)
    return rewrite() if callable(rewrite) else generator


def example_inputs(latent_dim: int, num_classes: int, batch: int = 2) -> tuple[torch.Tensor, ...]:
    """Tracing inputs; batch >= 2 so no exporter specialises the batch axis to 1."""
    z = torch.randn(batch, latent_dim, generator=torch.Generator().manual_seed(0))
    if num_classes:
        return z, torch.arange(batch, dtype=torch.int64) % num_classes
    return (z,)
