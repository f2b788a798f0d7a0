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

    def forward(self, z: torch.Tensor, label: Optional[torch.Tensor]) -> torch.Tensor:
        """Concatenate z (B, Z) with the label's embedding -> (B, Z + dim)."""
        if self.embed is None:
            return z
        if label is None:
            raise ValueError("this model is conditional: pass a label tensor of shape (B,)")
        return torch.cat([z, self.embed(label)], dim=1)


class ProjectionHead(nn.Module):
    """Projection discriminator head (Miyato & Koyama 2018): logit = w.h + <embed(y), h>."""

    def __init__(self, features: int, num_classes: int) -> None:
        super().__init__()
        self.linear = nn.Linear(features, 1)
        self.embed = nn.Embedding(num_classes, features) if num_classes > 0 else None
        if self.embed is not None:
            # Small start: an N(0, 1) projection would swamp the linear term at init.
            nn.init.normal_(self.embed.weight, 0.0, 0.02)

    def forward(self, h: torch.Tensor, label: Optional[torch.Tensor]) -> torch.Tensor:
        out = self.linear(h).squeeze(1)  # (B,)
        if self.embed is not None:
            if label is None:
                raise ValueError("this model is conditional: pass a label tensor of shape (B,)")
            out = out + (self.embed(label) * h).sum(dim=1)
        return out
