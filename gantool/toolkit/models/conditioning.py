"""Label conditioning built from standard ops only (Embedding -> Gather in ONNX)."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn


class LabelEmbedding(nn.Module):
    """`label (B,)` -> `(B, dim)`; an identity-sized zero tensor for unconditional models."""

    def __init__(self, num_classes: int, dim: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.dim = dim if num_classes > 0 else 0
        self.embed = nn.Embedding(num_classes, dim) if num_classes > 0 else None
        if self.embed is not None:
            # Start the label small beside z (norm ~0.4 vs ~8): with an N(0, 1) embedding the
            # ten label vectors are as large as z and G learns ten images, ignoring z (measured:
            # per-label sample diversity falls to a sixth of the unconditional model's).
            nn.init.normal_(self.embed.weight, 0.0, 0.05)
        # How much the label counts (0..1): ramped up during training (see set_condition_strength).
        self.register_buffer("strength", torch.ones(()))

    def forward(self, z: torch.Tensor, label: Optional[torch.Tensor]) -> torch.Tensor:
        """Concatenate z (B, Z) with the label's embedding -> (B, Z + dim)."""
        if self.embed is None:
            return z
        if label is None:
            raise ValueError("this model is conditional: pass a label tensor of shape (B,)")
        return torch.cat([z, self.embed(label) * self.strength], dim=1)


class ProjectionHead(nn.Module):
    """Projection discriminator head (Miyato & Koyama 2018): logit = w.h + <embed(y), h>."""

    def __init__(self, features: int, num_classes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(features, 1)
        self.embed = nn.Embedding(num_classes, features) if num_classes > 0 else None
        if self.embed is not None:
            # Small start: an N(0, 1) projection would swamp the linear term at init.
            nn.init.normal_(self.embed.weight, 0.0, 0.02)
        self.register_buffer("strength", torch.ones(()))

    def forward(self, h: torch.Tensor, label: Optional[torch.Tensor]) -> torch.Tensor:
        out = self.linear(h).squeeze(1)  # (B,)
        if self.embed is not None:
            if label is None:
                raise ValueError("this model is conditional: pass a label tensor of shape (B,)")
            out = out + (self.embed(label) * h).sum(dim=1) * self.strength
        return out


def set_condition_strength(module: nn.Module, value: float) -> None:
    """Transitional conditioning (Shahbazi et al. 2022, "Collapse by Conditioning"): with
    little data per class, class-conditional GANs collapse to a few images per class unless
    they start unconditional and bring the label in gradually. 0 = ignore labels, 1 = full."""
    for m in module.modules():
        if isinstance(m, (LabelEmbedding, ProjectionHead)):
            m.get_buffer("strength").fill_(value)


def spectral_normalize(module: nn.Module) -> None:
    """Spectral normalisation (Miyato et al. 2018) of every conv, linear and embedding weight
    in a discriminator: a 1-Lipschitz critic that stays stable without BatchNorm."""
    from torch.nn.utils.parametrizations import spectral_norm

    for m in list(module.modules()):
        if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding)):
            spectral_norm(m)


class MinibatchStdDev(nn.Module):
    """Append the mean per-feature std over groups of samples as one more feature (ProGAN,
    Karras et al. 2018): a batch of near-identical fakes becomes easy to spot, so G cannot
    ignore z. (B, C, H, W) -> (B, C + 1, H, W)."""

    def __init__(self, group: int = 4) -> None:
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        g = min(self.group, b)
        if b % g:
            g = 1 if b == 1 else next(k for k in range(g, 0, -1) if b % k == 0)
        y = x.reshape(g, -1, c, h, w)  # (G, B/G, C, H, W)
        std = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (B/G,)
        std = std.view(1, -1, 1, 1, 1).expand(g, -1, 1, h, w).reshape(b, 1, h, w)
        return torch.cat([x, std], dim=1)
