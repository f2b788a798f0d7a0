"""GAN losses, each split into the three terms a training step backpropagates.

`d_real(logits)` and `d_fake(logits)` are the discriminator's terms on real and
generated batches (kept apart so each batch keeps its own BatchNorm statistics),
`g(logits)` the generator's term on D's logits for its samples. Logits: (B,).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class BCELoss:
    """Non-saturating BCE-with-logits (Goodfellow et al. 2014), one-sided label smoothing."""

    def __init__(self, label_smoothing: float = 0.0) -> None:
        self.real_target = 1.0 - label_smoothing  # smoothing applies to real targets only

    def d_real(self, logits: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, self.real_target))

    def d_fake(self, logits: torch.Tensor) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))

    def g(self, logits: torch.Tensor) -> torch.Tensor:
        # -log D(G(z)) rather than log(1 - D(G(z))): strong gradients early on
        return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


class HingeLoss:
    """Hinge loss (Lim & Ye 2017; SAGAN, BigGAN)."""

    def d_real(self, logits: torch.Tensor) -> torch.Tensor:
        return F.relu(1.0 - logits).mean()

    def d_fake(self, logits: torch.Tensor) -> torch.Tensor:
        return F.relu(1.0 + logits).mean()

    def g(self, logits: torch.Tensor) -> torch.Tensor:
        return -logits.mean()


def create_loss(name: str, label_smoothing: float = 0.0):
    if name == "bce":
        return BCELoss(label_smoothing)
    if name == "hinge":
        return HingeLoss()
    from gantool.core.errors import GantoolError

    raise GantoolError(f"unknown loss {name!r}; choose bce or hinge")
