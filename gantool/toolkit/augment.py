"""Batch augmentation on the training device, driven by an explicit torch.Generator."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def random_rotate(x: torch.Tensor, max_degrees: float, gen: torch.Generator) -> torch.Tensor:
    """Rotate each image of `x` (B, C, H, W) in [-1, 1] by a uniform angle in ±max_degrees.

    Angles come from `gen` (a CPU generator) so runs are reproducible and resumable.
    Areas rotated in from outside are background (-1).
    """
    b = x.shape[0]
    angles = (torch.rand(b, generator=gen) * 2 - 1) * math.radians(max_degrees)  # (B,)
    cos, sin = torch.cos(angles), torch.sin(angles)
    zeros = torch.zeros_like(cos)
    theta = torch.stack([torch.stack([cos, -sin, zeros], 1), torch.stack([sin, cos, zeros], 1)], 1)  # (B, 2, 3)
    grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)
    # Shift to [0, 2] so zero padding means background, then back to [-1, 1].
    return F.grid_sample(x + 1, grid, align_corners=False, padding_mode="zeros") - 1
