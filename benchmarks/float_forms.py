"""Float forms of the DCGAN generator's stride-2 ConvTransposes, measured by benchmarks/fp32_forms.py
(results/fp32_forms.md: none beats onnxruntime's own ConvTranspose in float, so the package exports
that; the int8 file's phase form lives in gantool/export/makers/int8_phase.py).

Phase forms. `ConvTranspose2d(k=4, s=2, p=1)` [+ eval BatchNorm] output phase (a, b) -- rows 2m + a,
columns 2n + b -- is a 2x2 convolution of the input with the ConvTranspose's kernel rows {3, 1}
(a = 0) or {2, 0} (a = 1) (columns alike), padded [1 - a, 1 - b, a, b]:

- PhaseConvShared: ONE Conv2d(C_in, 4 C_out, 2, padding=1) gives every phase on an (H+1) x (W+1)
  grid; phase (a, b) is its window at (a, b). The four windows, concatenated on channels in (a, b)
  order, interleave by DepthToSpace in DCR mode. (H+1)(W+1) / HW more multiply-adds than exact.
- PhaseConvSplit: four Conv2d(C_in, C_out, 2) on the input padded per phase, then the same interleave.

NHWC matrix products (DCGANMatMul): no ConvTranspose,
no layout changes between layers, every multiply-add in one large GEMM per layer.

- The projection (a k x k ConvTranspose on a 1x1 input) is a Linear whose rows are ordered (i, j, c),
  so its output is already (B, k, k, C).
- Each stride-2 ConvTranspose(4, 2, 1) [+ BatchNorm] is its phase form (above)
  with the 2x2 windows gathered explicitly: the input padded by 1, its four shifted (H+1) x (W+1)
  views concatenated on channels (B, H+1, W+1, 4 C_in), one MatMul with (4 C_in, 4 C_out) gives every
  phase on the (H+1) x (W+1) grid, phase (a, b) is the window at (a, b), and the four interleave by
  concatenation and reshapes: (B, H, W, C) x 4 -> (B, 2H, 2W, C).
- The last 3x3 convolution to C_img channels is a MatMul to 9 C_img values per pixel (one per tap),
  then the nine shifted planes summed: no 9x im2col copy of a wide activation.

(B, Z [+ label]) -> (B, C_img, 28, 28), equal to the trained generator to float rounding.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from gantool.toolkit.models.subpixel import can_rewrite, fold_batchnorm

KERNEL_ROWS = {0: (3, 1), 1: (2, 0)}  # phase parity -> the ConvTranspose kernel rows (cols) it reads


def phase_weights(ct: nn.ConvTranspose2d, bn: Optional[nn.BatchNorm2d]) -> tuple[torch.Tensor, torch.Tensor]:
    """(4, C_out, C_in, 2, 2) weights of the phases in (a, b) order, and the (C_out,) folded bias."""
    folded, bias = fold_batchnorm(ct, bn)  # (C_in, C_out, 4, 4)
    phases = []
    for a in (0, 1):
        for b in (0, 1):
            rows, cols = KERNEL_ROWS[a], KERNEL_ROWS[b]
            w = folded[:, :, list(rows)][:, :, :, list(cols)]  # (C_in, C_out, 2, 2)
            phases.append(w.permute(1, 0, 2, 3))
    return torch.stack(phases), bias


def _interleave_dcr(y: torch.Tensor) -> torch.Tensor:
    """(B, 4C, H, W) phases in (a, b) order on channels -> (B, C, 2H, 2W): DepthToSpace, DCR mode."""
    b, c4, h, w = y.shape
    c = c4 // 4
    return y.view(b, 2, 2, c, h, w).permute(0, 3, 4, 1, 5, 2).reshape(b, c, 2 * h, 2 * w)


class PhaseConvShared(nn.Module):
    def __init__(self, ct: nn.ConvTranspose2d, bn: Optional[nn.BatchNorm2d] = None) -> None:
        super().__init__()
        if not can_rewrite(ct):
            raise ValueError("only ConvTranspose2d(kernel 4, stride 2, padding 1) has a phase form here")
        w, bias = phase_weights(ct, bn)
        _, c_out, c_in = w.shape[:3]
        self.conv = nn.Conv2d(c_in, 4 * c_out, 2, 1, 1)
        with torch.no_grad():
            self.conv.weight.copy_(w.reshape(4 * c_out, c_in, 2, 2))
            self.conv.bias.copy_(bias.repeat(4))  # type: ignore[union-attr]  # Conv2d(bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2], x.shape[3]
        y = self.conv(x)  # (B, 4C, H+1, W+1): phase (a, b) is the window at (a, b)
        c = y.shape[1] // 4
        windows = [y[:, (2 * a + b) * c : (2 * a + b + 1) * c, a : a + h, b : b + w] for a in (0, 1) for b in (0, 1)]
        return _interleave_dcr(torch.cat(windows, dim=1))


class PhaseConvSplit(nn.Module):
    def __init__(self, ct: nn.ConvTranspose2d, bn: Optional[nn.BatchNorm2d] = None) -> None:
        super().__init__()
        if not can_rewrite(ct):
            raise ValueError("only ConvTranspose2d(kernel 4, stride 2, padding 1) has a phase form here")
        w, bias = phase_weights(ct, bn)
        _, c_out, c_in = w.shape[:3]
        self.convs = nn.ModuleList(nn.Conv2d(c_in, c_out, 2) for _ in range(4))
        with torch.no_grad():
            for conv, wp in zip(self.convs, w, strict=True):
                conv.weight.copy_(wp)
                conv.bias.copy_(bias)  # type: ignore[union-attr]  # Conv2d(bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = [(1 - b, b, 1 - a, a) for a in (0, 1) for b in (0, 1)]  # F.pad order: left, right, top, bottom
        return _interleave_dcr(torch.cat([conv(F.pad(x, p)) for conv, p in zip(self.convs, pads, strict=True)], 1))


FORMS = {"shared": PhaseConvShared, "split": PhaseConvSplit}


def rewrite_phases(layers: list[nn.Module], form: str) -> list[nn.Module]:
    """Each rewritable ConvTranspose2d (and the BatchNorm after it) of a layer list in a phase form."""
    out: list[nn.Module] = []
    i = 0
    while i < len(layers):
        layer = layers[i]
        after = layers[i + 1] if i + 1 < len(layers) else None
        if isinstance(layer, nn.ConvTranspose2d) and can_rewrite(layer):
            bn = after if isinstance(after, nn.BatchNorm2d) else None
            out.append(FORMS[form](layer, bn))
            i += 2 if bn is not None else 1
            continue
        out.append(layer)
        i += 1
    return out


class PhaseMatMul(nn.Module):
    """ConvTranspose2d(4, 2, 1) [+ eval BatchNorm] on NHWC tensors: (B, H, W, C_in) -> (B, 2H, 2W, C_out)."""

    def __init__(self, ct: nn.ConvTranspose2d, bn: nn.BatchNorm2d | None) -> None:
        super().__init__()
        w, bias = phase_weights(ct, bn)  # (4 phases, C_out, C_in, 2, 2), (C_out,)
        p, c_out, c_in = w.shape[:3]
        # rows: (dy, dx, c_in) as the windows are concatenated; columns: (phase, c_out)
        self.linear = nn.Linear(4 * c_in, p * c_out)
        with torch.no_grad():
            self.linear.weight.copy_(w.permute(0, 1, 3, 4, 2).reshape(p * c_out, 4 * c_in))
            self.linear.bias.copy_(bias.repeat(p))
        self.c_out = c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = x.shape
        xp = F.pad(x, (0, 0, 1, 1, 1, 1))  # (B, H+2, W+2, C_in)
        windows = torch.cat([xp[:, dy : dy + h + 1, dx : dx + w + 1] for dy in (0, 1) for dx in (0, 1)], dim=3)
        y = self.linear(windows)  # (B, H+1, W+1, 4 C_out): phase (a, b) at channels [(2a + b) C_out, ...)
        c = self.c_out
        rows = []
        for a in (0, 1):
            cols = [y[:, a : a + h, bb : bb + w, (2 * a + bb) * c : (2 * a + bb + 1) * c] for bb in (0, 1)]
            rows.append(torch.stack(cols, dim=3).reshape(b, h, 2 * w, c))  # columns interleaved
        return torch.stack(rows, dim=2).reshape(b, 2 * h, 2 * w, c)  # rows interleaved


class Conv3x3MatMul(nn.Module):
    """Conv2d(C, C_img, 3, 1, 1) on NHWC as a MatMul to the nine taps' values, then their shifted sum."""

    def __init__(self, conv: nn.Conv2d) -> None:
        super().__init__()
        c_img, c_in = conv.weight.shape[:2]
        self.linear = nn.Linear(c_in, 9 * c_img, bias=False)
        with torch.no_grad():
            self.linear.weight.copy_(conv.weight.permute(2, 3, 0, 1).reshape(9 * c_img, c_in))  # (ky, kx, c_img)
        self.bias = nn.Parameter(conv.bias.detach().clone() if conv.bias is not None else torch.zeros(c_img))
        self.c_img = c_img

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = x.shape
        taps = F.pad(self.linear(x), (0, 0, 1, 1, 1, 1))  # (B, H+2, W+2, 9 C_img)
        c = self.c_img
        out = self.bias
        for ky in range(3):
            for kx in range(3):
                t = 3 * ky + kx
                out = out + taps[:, ky : ky + h, kx : kx + w, t * c : (t + 1) * c]
        return out  # (B, H, W, C_img)


class DCGANMatMul(nn.Module):
    """DCGANInference (projection, ReLU, [ConvT, BN, ReLU] x 2, Conv, Tanh) in NHWC matrix products."""

    def __init__(self, inference: nn.Module) -> None:
        super().__init__()
        layers = list(inference.net)
        kinds = [type(m).__name__ for m in layers]
        if kinds != [
            "ReLU",
            "ConvTranspose2d",
            "BatchNorm2d",
            "ReLU",
            "ConvTranspose2d",
            "BatchNorm2d",
            "ReLU",
            "Conv2d",
            "Tanh",
        ]:
            raise ValueError(f"no matrix-product form for a generator of layers {kinds}")
        self.cond = inference.cond
        project = inference.project
        c, k, _ = project.shape
        self.k, self.c = k, c
        self.project = nn.Linear(project.linear.in_features, c * k * k)
        with torch.no_grad():  # rows (c, i, j) -> (i, j, c): the output is NHWC
            self.project.weight.copy_(
                project.linear.weight.view(c, k, k, -1).permute(1, 2, 0, 3).reshape(c * k * k, -1)
            )
            self.project.bias.copy_(project.linear.bias.view(c, k, k).permute(1, 2, 0).reshape(-1))
        self.up1 = PhaseMatMul(layers[1], layers[2])
        self.up2 = PhaseMatMul(layers[4], layers[5])
        self.out = Conv3x3MatMul(layers[7])

    def forward(self, z: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        h = torch.relu(self.project(self.cond(z, label)).view(-1, self.k, self.k, self.c))  # (B, 7, 7, 4w)
        h = torch.relu(self.up2(torch.relu(self.up1(h))))  # (B, 28, 28, w)
        y = torch.tanh(self.out(h))  # (B, 28, 28, C_img)
        return y.permute(0, 3, 1, 2)  # (B, C_img, 28, 28): a reshape when C_img is 1
