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

    def keep_channels(self, n: int) -> None:
        """Only the first n output channels (a Slice of a widened convolution)."""
        r = self.requant
        self.weight, self.bias, self.out = self.weight[:n], self.bias[:n], Requant(r.multiplier[:n], r.y_zp)
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
