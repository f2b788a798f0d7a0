"""The C lowering's intermediate form: one dataclass per kind of layer (gantool.export.c.lower makes
them, gantool.export.c.source writes one C call per layer). Shapes are per image (batch 1, NCHW)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

import numpy as np

from gantool.core.errors import GantoolError


@dataclass(kw_only=True)
class _Layer:
    shape_in: tuple[int, ...]
    shape_out: tuple[int, ...]

    @property
    def macs(self) -> int:
        return 0


@dataclass(kw_only=True)
class InputLayer(_Layer):
    """The float latent quantized (onnxruntime's QuantizeLinear), [+ the label's embedding row,
    quantized at export: `embed` (num_classes, E) uint8]."""

    scale: np.float32
    zp: int
    embed: Optional[np.ndarray] = None


@dataclass
class Requant:
    """A linear layer's int32 sums to uint8, in onnxruntime's order: float(acc) * multiplier[o], rounded
    half to even, plus y_zp, clamped."""

    multiplier: np.ndarray  # (C_out,) float32: x_scale * w_scale[o] / y_scale
    y_zp: int


@dataclass(kw_only=True)
class LinearLayer(_Layer):
    """A QDQ Gemm or Conv: int8 weights, int32 bias, the input's zero point and scale. Its output
    quantization comes from the QuantizeLinear after it (`requantize_to`, once)."""

    weight: np.ndarray  # int8: (C_out, K) for a Gemm, (C_out, C_in, kh, kw) for a Conv
    bias: np.ndarray  # (C_out,) int32
    x_zp: int
    x_scale: np.float32
    w_scale: np.ndarray  # (1,) or (C_out,) float32
    out: Optional[Requant] = field(default=None)

    def requantize_to(self, y_scale: np.float32, y_zp: int) -> None:
        channels = self.weight.shape[0]
        w_scale = np.broadcast_to(self.w_scale, (channels,)).astype(np.float32)
        self.out = Requant(((np.float32(self.x_scale) * w_scale) / np.float32(y_scale)).astype(np.float32), y_zp)

    @property
    def requant(self) -> Requant:
        if self.out is None:
            raise GantoolError("a Gemm or Conv of the int8 file has no QuantizeLinear after it; export it again")
        return self.out

    def keep_channels(self, n: int, first: int = 0) -> None:
        """Only output channels first .. first + n - 1 (a Slice of a widened convolution, or one phase's
        channels of a row-phase convolution)."""
        r, keep = self.requant, slice(first, first + n)
        self.weight, self.bias, self.out = self.weight[keep], self.bias[keep], Requant(r.multiplier[keep], r.y_zp)
        if self.w_scale.size > 1:
            self.w_scale = self.w_scale[keep]
        self.shape_out = (n,) + tuple(self.shape_out[1:])


@dataclass(kw_only=True)
class GemmLayer(LinearLayer):
    @property
    def macs(self) -> int:
        return int(self.weight.size)


@dataclass(kw_only=True)
class ConvLayer(LinearLayer):
    pads: tuple[int, ...]  # (top, left, bottom, right)
    strides: tuple[int, int]

    @property
    def macs(self) -> int:
        return int(np.prod(self.shape_out) * np.prod(self.weight.shape[1:]))

    def column_phase(self, b: int) -> None:
        """A row-phase 2x3 convolution (pads [1 - a, 1, a, 1]) -> column phase b's 2x2 convolution (pads
        [1 - a, 1 - b, a, b]): kernel columns {0, 1} (b = 0) or {1, 2} (b = 1); the third must be zero."""
        unused = 2 if b == 0 else 0
        shape, pads = self.weight.shape[2:], self.pads
        if shape != (2, 3) or pads[1] != 1 or pads[3] != 1 or np.any(self.weight[..., unused]):
            raise GantoolError("a row-phase convolution's unused kernel column holds weights; export it again")
        self.weight = np.ascontiguousarray(self.weight[..., [0, 1] if b == 0 else [1, 2]])
        self.pads = (self.pads[0], 1 - b, self.pads[2], b)

    def unblocked(self, block: int) -> Optional["ConvLayer"]:
        """A block convolution (gantool.export.makers.int8_narrow: (block+2)^2 kernel, stride `block`,
        pads 1, output r*block + s = one 3x3 kernel at rows r.., columns s..) followed by
        DepthToSpace(DCR, block) -> the 1-output 3x3 convolution it computes; None when it is not one."""
        c, h, w = self.shape_out
        k = block + 2
        r = self.out
        if (
            c != block * block
            or self.strides != (block, block)
            or self.pads != (1, 1, 1, 1)
            or self.weight.shape[2:] != (k, k)
            or r is None
            or np.any(self.bias != self.bias[0])
            or np.any(r.multiplier != r.multiplier[0])
        ):
            return None
        kernel = self.weight[0, :, :3, :3]
        for i in range(block * block):
            want = np.zeros_like(self.weight[0])
            want[:, i // block : i // block + 3, i % block : i % block + 3] = kernel
            if not np.array_equal(self.weight[i], want):
                return None
        return ConvLayer(
            shape_in=self.shape_in,
            shape_out=(1, h * block, w * block),
            pads=(1, 1, 1, 1),
            strides=(1, 1),
            weight=kernel[None].copy(),
            bias=self.bias[:1].copy(),
            x_zp=self.x_zp,
            x_scale=self.x_scale,
            w_scale=self.w_scale[:1].copy(),
            out=Requant(r.multiplier[:1].copy(), r.y_zp),
        )


@dataclass(kw_only=True)
class PhaseLayer(_Layer):
    """A stride-2 up-sampling as four 2x2 convolutions: phase (a, b) fills rows 2m + a, columns 2n + b."""

    phases: list[tuple[int, int, ConvLayer]]

    @property
    def macs(self) -> int:
        return sum(conv.macs for _, _, conv in self.phases)


@dataclass(kw_only=True)
class DepthToSpaceLayer(_Layer):
    """uint8 values moved (the sub-pixel form of earlier int8 files)."""

    block: int
    mode: str  # "DCR" | "CRD"


@dataclass(kw_only=True)
class TableLayer(_Layer):
    """A 256-entry table (an elementwise float chain between two quantized tensors, computed by
    onnxruntime at export); `pixels`: the last one, writing the caller's image."""

    table: np.ndarray  # (256,) uint8
    pixels: bool = False


Layer = Union[InputLayer, GemmLayer, ConvLayer, PhaseLayer, DepthToSpaceLayer, TableLayer]


@dataclass
class Lowered:
    latent_dim: int
    num_classes: int
    image_shape: tuple[int, ...]
    layers: list[Layer]

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    def convolutions(self) -> list[ConvLayer]:
        """Every convolution, the phase layers' included (they size the int32 plane and scratch)."""
        out: list[ConvLayer] = []
        for layer in self.layers:
            if isinstance(layer, ConvLayer):
                out.append(layer)
            elif isinstance(layer, PhaseLayer):
                out += [conv for _, _, conv in layer.phases]
        return out
