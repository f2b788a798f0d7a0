"""Convolutions of the int8 file with fewer than 16 outputs, made fit for MLAS's symmetric VNNI
convolution (`MlasConvSymDispatch`, chosen in onnxruntime's qlinearconv.cc `TryConvSymPrepack`, needs
at least 16 output channels; below that a convolution falls back to a per-image GEMM):

- the image's convolution (1 output, 3x3, pads 1) becomes a *block* convolution: 6x6, stride 4, whose
  16 outputs are the 4x4 block of pixels at each position (output r*4 + s holds the 3x3 kernel at rows
  r..r+2, columns s..s+2 of the 6x6 window), then a uint8 DepthToSpace(DCR, 4). Every output is a real
  pixel: 4x fewer multiply-adds than widening it to 16 with zero filters, and no strided Slice of one
  channel out of 16 (measured, benchmarks/results/int8_search.md: +7% batch-256 throughput on the
  default model, +39% small, +44% nano; pixels identical);
- any other (a narrow model's phase convolutions of 4 outputs) is widened to 16 with zero weights and
  biases beyond the real ones, and a uint8 Slice of the real channels.

The same int8 weights, int32 biases and weight scales (per channel: the real channels', channel 0's for
the rest) and the same output quantization: the pixels are those of the narrow convolution.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gantool.core.errors import GantoolError
from gantool.export.makers.onnx_graph import QGraph

MIN_VNNI_OUTPUTS = 16  # MlasConvSymDispatch needs >= 16 output channels (qlinearconv.cc, TryConvSymPrepack)
BLOCK = 4  # the image's block convolution computes BLOCK x BLOCK pixels per position: 16 real outputs


def widen_narrow_convs(g: QGraph) -> dict:
    """Each DQ -> Conv -> Q with fewer than 16 outputs -> {id(node): the nodes replacing it} (the
    Conv's entry holds the new nodes, its QuantizeLinear's is empty)."""
    out = {}
    for conv in [n for n in g.graph.node if n.op_type == "Conv" and len(n.input) >= 3]:
        q = g.one_consumer(conv.output[0], "QuantizeLinear")
        wdq, bdq = g.producer.get(conv.input[1]), g.producer.get(conv.input[2])
        if q is None or wdq is None or bdq is None or {wdq.op_type, bdq.op_type} != {"DequantizeLinear"}:
            continue
        w, bias = g.array(wdq.input[0]), g.array(bdq.input[0])
        if w is None or bias is None or w.ndim != 4 or w.shape[0] >= MIN_VNNI_OUTPUTS or w.shape[1] % 4:
            continue
        nodes = _block_conv(g, conv, q, wdq, bdq, w, bias) if w.shape[0] == 1 else []
        out[id(conv)], out[id(q)] = nodes or _widened(g, conv, q, wdq, bdq, w, bias), []
    return out


def _widened(g: QGraph, conv, q, wdq, bdq, w: np.ndarray, bias: np.ndarray) -> list:
    """The convolution with 16 outputs (zero weights and biases beyond the real ones), quantized as
    before, and a uint8 Slice of the real channels."""
    from onnx import helper

    n, extra = w.shape[0], MIN_VNNI_OUTPUTS - w.shape[0]
    idx = np.concatenate([np.arange(n), np.zeros(extra, dtype=np.int64)])  # scales of the extra channels: channel 0's
    nodes: list[Any] = []
    w_in = sliced_dq(g, wdq, np.concatenate([w, np.zeros((extra,) + w.shape[1:], w.dtype)]), idx, nodes, "w16")
    b_in = sliced_dq(g, bdq, np.concatenate([bias, np.zeros(extra, bias.dtype)]), idx, nodes, "b16")
    y, yq = g.name("conv16"), g.name("q16")
    attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
    nodes.append(helper.make_node("Conv", [conv.input[0], w_in, b_in], [y], name=y, **attrs))
    nodes.append(helper.make_node("QuantizeLinear", [y, *q.input[1:]], [yq], name=yq))
    bounds = [g.const(stem, np.array([v], np.int64)) for stem, v in (("starts", 0), ("ends", n), ("axes", 1))]
    nodes.append(helper.make_node("Slice", [yq, *bounds], [q.output[0]], name=g.name("image_channels")))
    return nodes


def _block_conv(g: QGraph, conv, q, wdq, bdq, w: np.ndarray, bias: np.ndarray) -> list:
    """The block form of a 1-output 3x3 convolution (pads 1, stride 1) of an (H, W) input with H and W
    multiples of 4 (module docstring); [] when the convolution is not that shape."""
    from onnx import helper

    attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
    hw = g.spatial(conv.input[0])
    if (
        w.shape[2:] != (3, 3)
        or hw is None
        or hw[0] % BLOCK
        or hw[1] % BLOCK
        or list(attrs.get("pads", [0] * 4)) != [1, 1, 1, 1]
        or list(attrs.get("strides", [1, 1])) != [1, 1]
        or list(attrs.get("dilations", [1, 1])) != [1, 1]
        or attrs.get("group", 1) != 1
    ):
        return []
    k = BLOCK + 2
    block = np.zeros((BLOCK * BLOCK, w.shape[1], k, k), w.dtype)  # (16, C_in, 6, 6)
    for r in range(BLOCK):
        for s in range(BLOCK):
            block[r * BLOCK + s, :, r : r + 3, s : s + 3] = w[0]
    idx = np.zeros(BLOCK * BLOCK, dtype=np.int64)  # every output: the one channel's scale and bias
    nodes: list[Any] = []
    w_in = sliced_dq(g, wdq, block, idx, nodes, "wblock")
    b_in = sliced_dq(g, bdq, np.repeat(bias[:1], BLOCK * BLOCK), idx, nodes, "bblock")
    y, yq = g.name("conv_block"), g.name("q_block")
    nodes.append(
        helper.make_node(
            "Conv",
            [conv.input[0], w_in, b_in],
            [y],
            name=y,
            kernel_shape=[k, k],
            pads=[1, 1, 1, 1],
            strides=[BLOCK, BLOCK],
            dilations=[1, 1],
            group=1,
        )
    )
    nodes.append(helper.make_node("QuantizeLinear", [y, *q.input[1:]], [yq], name=yq))  # (N, 16, H/4, W/4)
    nodes.append(
        helper.make_node("DepthToSpace", [yq], [q.output[0]], name=g.name("image"), blocksize=BLOCK, mode="DCR")
    )  # (N, 1, H, W)
    return nodes


def sliced_dq(g: QGraph, dq, values: np.ndarray, idx: np.ndarray, nodes: list, stem: str) -> str:
    """A DequantizeLinear of `values` with the scale (and zero point) of `dq`, per-channel ones taken
    at `idx`; appended to `nodes`, its output's name returned."""
    from onnx import helper

    inputs = [g.const(stem, values)]
    for name in dq.input[1:]:
        arr = g.array(name) if name else None
        if arr is None:
            if name:
                raise GantoolError(f"quantization parameter {name!r} is not a constant; cannot make the phase form")
            inputs.append("")
            continue
        inputs.append(g.const(stem + "_p", arr[idx] if arr.ndim == 1 and arr.size > 1 else arr))
    out = g.name(stem + "_dq")
    attrs = {a.name: helper.get_attribute_value(a) for a in dq.attribute}
    nodes.append(helper.make_node("DequantizeLinear", inputs, [out], name=out, **attrs))
    return out
