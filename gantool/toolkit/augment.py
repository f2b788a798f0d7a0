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


DIFFAUG_POLICIES = ("translation", "cutout", "brightness", "contrast")


def parse_policy(policy: str) -> tuple[str, ...]:
    """'translation,cutout' -> ('translation', 'cutout'); '' -> ()."""
    from gantool.core.errors import GantoolError

    names = tuple(p.strip() for p in policy.split(",") if p.strip())
    unknown = [p for p in names if p not in DIFFAUG_POLICIES]
    if unknown:
        raise GantoolError(f"unknown DiffAugment policy {unknown[0]!r}; choose from {', '.join(DIFFAUG_POLICIES)}")
    return names


def diff_augment(x: torch.Tensor, policy: tuple[str, ...], gen: torch.Generator) -> torch.Tensor:
    """Differentiable augmentation (Zhao et al. 2020), applied to real and fake batches alike
    before D, so D cannot memorise a small training set. x: (B, C, H, W) in [-1, 1]."""
    b, _, h, w = x.shape
    for name in policy:
        if name == "brightness":  # shift by U(-0.25, 0.25) of the [-1, 1] range
            x = x + ((torch.rand(b, 1, 1, 1, generator=gen) - 0.5) * 0.5).to(x.device, x.dtype)
        elif name == "contrast":  # scale deviations from the image mean by U(0.5, 1.5)
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            x = (x - mean) * (torch.rand(b, 1, 1, 1, generator=gen) + 0.5).to(x.device, x.dtype) + mean
        elif name == "translation":  # integer shifts of up to 1/8 of the size; background fills in
            shift = torch.randint(-(h // 8), h // 8 + 1, (b, 2), generator=gen).float()
            theta = torch.zeros(b, 2, 3)
            theta[:, 0, 0] = theta[:, 1, 1] = 1.0
            theta[:, 0, 2], theta[:, 1, 2] = 2 * shift[:, 0] / w, 2 * shift[:, 1] / h
            grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)
            x = F.grid_sample(x + 1, grid, mode="nearest", padding_mode="zeros", align_corners=False) - 1
        elif name == "cutout":  # one background square of half the size at a random place
            size = h // 2
            cy = torch.randint(0, h, (b, 1, 1), generator=gen)
            cx = torch.randint(0, w, (b, 1, 1), generator=gen)
            ys, xs = torch.arange(h).view(1, h, 1), torch.arange(w).view(1, 1, w)
            hole = ((ys - cy).abs() <= size // 2) & ((xs - cx).abs() <= size // 2)  # (B, H, W)
            keep = (~hole).unsqueeze(1).to(x.device, x.dtype)
            x = (x + 1) * keep - 1
    return x
