"""Phase form of a stride-2 ConvTranspose: four small convolutions with no zero taps.

`ConvTranspose2d(k=4, s=2, p=1)` writes each output pixel from a 2x2 window of its input: output
phase (a, b) (row parity a, column parity b) is a 2x2 convolution of the input,

    y[c, 2m + a, 2n + b] = sum over ci, dy, dx of x[ci, m + dy - 1 + a, n + dx - 1 + b] * W[ci, c, ky, kx]

with kernel rows {3, 1} for a = 0 and {2, 0} for a = 1 (columns alike), and zero padding
[top, left, bottom, right] = [1 - a, 1 - b, a, b]. Four 2x2 convolutions do 16 multiply-adds per
input channel and output pixel, as the ConvTranspose does; the sub-pixel form (one 3x3 conv and
PixelShuffle, gantool.toolkit.models.subpixel) does 36, 5 of its 9 taps zero per phase. The phases
are interleaved in NHWC order (Transpose, Concat on W then on H, Reshape): onnxruntime's NHWC
transformer wraps each int8 convolution in Transposes of its own, which cancel against these, and
every step moves uint8 values. The eval-mode BatchNorm and the ReLU after the ConvTranspose are
folded in, per phase (onnxruntime fuses the ReLU into its QLinearConv).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from gantool.toolkit.models.subpixel import can_rewrite, fold_batchnorm

# row (or column) parity -> the ConvTranspose kernel index of each of the 2x2 kernel's taps
PHASE_TAPS = {0: (3, 1), 1: (2, 0)}


class PhaseConv(nn.Module):
    """ConvTranspose2d(k=4, s=2, p=1) [+ eval BatchNorm] [+ ReLU] as four 2x2 phase convolutions.

    (B, C_in, H, W) -> (B, C_out, 2H, 2W)."""

    def __init__(self, ct: nn.ConvTranspose2d, bn: Optional[nn.BatchNorm2d] = None, relu: bool = False) -> None:
        super().__init__()
        if not can_rewrite(ct):
            raise ValueError("only ConvTranspose2d(kernel 4, stride 2, padding 1) has a phase form here")
        weight, bias = fold_batchnorm(ct, bn)  # (C_in, C_out, 4, 4), (C_out,)
        self.relu = relu
        self.phases = nn.ModuleList()
        for a in (0, 1):
            for b in (0, 1):
                conv = nn.Conv2d(weight.shape[0], weight.shape[1], 2)
                rows, cols = PHASE_TAPS[a], PHASE_TAPS[b]
                w = weight[:, :, list(rows), :][:, :, :, list(cols)]  # (C_in, C_out, 2, 2)
                with torch.no_grad():
                    conv.weight.copy_(w.permute(1, 0, 2, 3))
                    conv.bias.copy_(bias)
                self.phases.append(conv)

    def phase(self, x: torch.Tensor, a: int, b: int) -> torch.Tensor:
        """Phase (a, b): (B, C_in, H, W) -> (B, C_out, H, W). The Pad becomes the Conv's own pads in
        ONNX (the exporter folds it)."""
        y = self.phases[2 * a + b](F.pad(x, (1 - b, b, 1 - a, a)))
        return F.relu(y) if self.relu else y

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, _, h, w = x.shape
        rows = []
        for a in (0, 1):
            pair = [self.phase(x, a, b).permute(0, 2, 3, 1) for b in (0, 1)]  # 2 x (B, H, W, C)
            rows.append(torch.stack(pair, dim=3).reshape(-1, h, 2 * w, pair[0].shape[-1]))  # (B, H, 2W, C)
        out = torch.stack(rows, dim=2).reshape(-1, 2 * h, 2 * w, rows[0].shape[-1])  # (B, 2H, 2W, C)
        return out.permute(0, 3, 1, 2)  # (B, C, 2H, 2W)


def rewrite_phase(layers: list[nn.Module]) -> tuple[list[nn.Module], int, list[str]]:
    """Replace each ConvTranspose2d (and the BatchNorm and ReLU after it) by its phase form.
    Returns (new layers, how many were rewritten, why any were not)."""
    out, done, why, i = [], 0, [], 0
    while i < len(layers):
        layer = layers[i]
        if isinstance(layer, nn.ConvTranspose2d):
            if can_rewrite(layer):
                j = i + 1
                bn = layers[j] if j < len(layers) and isinstance(layers[j], nn.BatchNorm2d) else None
                j += bn is not None
                relu = j < len(layers) and isinstance(layers[j], nn.ReLU)
                out.append(PhaseConv(layer, bn, relu))
                done, i = done + 1, j + relu
                continue
            why.append(f"ConvTranspose2d(kernel {layer.kernel_size}, stride {layer.stride}) has no phase form here")
        out.append(layer)
        i += 1
    return out, done, why
