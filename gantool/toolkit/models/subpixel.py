"""Sub-pixel form of a stride-2 ConvTranspose: the same maths as integer-friendly ops.

onnxruntime has no quantized ConvTranspose (its issue #8988), so an int8 DCGAN ran its two heavy
layers in float. `ConvTranspose2d(k=4, s=2, p=1)` followed by eval-mode BatchNorm equals one
`Conv2d(k=3, p=1)` producing the four output phases, then `PixelShuffle(2)`:

    y[c, 2m + a, 2n + b] = sum over taps of x[ci, m + dy - 1, n + dx - 1] * W[ci, c, ky, kx]

where phase a (resp. b) reads input rows m-1, m (kernel rows 3, 1) for a = 0 and rows m, m+1
(kernel rows 2, 0) for a = 1. The 3x3 kernel holds the 2x2 taps of each phase (5 of its 9 taps
are zero per phase); onnxruntime runs it as QLinearConv, and DepthToSpace moves uint8 values.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

# phase -> {3x3 conv tap: ConvTranspose kernel index} (taps absent from a phase stay zero)
TAPS = {0: {0: 3, 1: 1}, 1: {1: 2, 2: 0}}


def fold_batchnorm(ct: nn.ConvTranspose2d, bn: Optional[nn.BatchNorm2d]) -> tuple[torch.Tensor, torch.Tensor]:
    """The ConvTranspose's weight (C_in, C_out, k, k) and bias (C_out,) with an eval-mode BatchNorm after
    it folded in (y * scale + shift, per output channel)."""
    w = ct.weight.detach()
    bias = ct.bias.detach() if ct.bias is not None else torch.zeros(w.shape[1])
    if bn is not None:
        assert bn.running_var is not None and bn.running_mean is not None  # eval-mode statistics
        scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
        w = w * scale.view(1, -1, 1, 1)
        bias = bias * scale + (bn.bias - bn.running_mean * scale).detach()
    return w, bias


def can_rewrite(ct: nn.Module) -> bool:
    return (
        isinstance(ct, nn.ConvTranspose2d)
        and ct.kernel_size == (4, 4)
        and ct.stride == (2, 2)
        and ct.padding == (1, 1)
        and ct.output_padding == (0, 0)
        and ct.groups == 1
        and ct.dilation == (1, 1)
    )


class SubPixelConv(nn.Module):
    """ConvTranspose2d(k=4, s=2, p=1) [+ eval BatchNorm folded in] as Conv2d(k=3, p=1) + PixelShuffle(2).

    (B, C_in, H, W) -> (B, C_out, 2H, 2W)."""

    def __init__(self, ct: nn.ConvTranspose2d, bn: Optional[nn.BatchNorm2d] = None) -> None:
        super().__init__()
        if not can_rewrite(ct):
            raise ValueError("only ConvTranspose2d(kernel 4, stride 2, padding 1) has a sub-pixel form here")
        c_in, c_out = ct.weight.shape[:2]
        folded, bias = fold_batchnorm(ct, bn)
        w = torch.zeros(c_out, 2, 2, c_in, 3, 3)  # (C_out, phase a, phase b, C_in, 3, 3)
        for a, rows in TAPS.items():
            for b, cols in TAPS.items():
                for dy, ky in rows.items():
                    for dx, kx in cols.items():
                        w[:, a, b, :, dy, dx] = folded[:, :, ky, kx].T
        self.conv = nn.Conv2d(c_in, 4 * c_out, 3, 1, 1)
        with torch.no_grad():
            self.conv.weight.copy_(w.reshape(4 * c_out, c_in, 3, 3))  # channel c*4 + a*2 + b: PixelShuffle's order
            self.conv.bias.copy_(bias.repeat_interleave(4))  # type: ignore[union-attr]  # Conv2d(bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.conv(x), 2)


def rewrite_sequential(layers: list[nn.Module]) -> tuple[list[nn.Module], int, list[str]]:
    """Replace each ConvTranspose2d (and the BatchNorm after it) by its sub-pixel form.
    Returns (new layers, how many were rewritten, why any were not)."""
    out: list[nn.Module] = []
    done, why, i = 0, [], 0
    while i < len(layers):
        layer = layers[i]
        if isinstance(layer, nn.ConvTranspose2d):
            if can_rewrite(layer):
                after = layers[i + 1] if i + 1 < len(layers) else None
                bn = after if isinstance(after, nn.BatchNorm2d) else None
                out.append(SubPixelConv(layer, bn))
                done, i = done + 1, i + (2 if bn is not None else 1)
                continue
            why.append(f"ConvTranspose2d(kernel {layer.kernel_size}, stride {layer.stride}) has no sub-pixel form here")
        out.append(layer)
        i += 1
    return out, done, why
