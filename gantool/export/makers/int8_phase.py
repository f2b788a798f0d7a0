"""The int8 file's fast form: each sub-pixel convolution of the quantized graph becomes four 2x2
phase convolutions, interleaved with uint8 moves.

The maths: `ConvTranspose2d(k=4, s=2, p=1)` writes output phase (a, b) (row parity a, column parity b)
from a 2x2 window of its input, y[c, 2m + a, 2n + b] = sum over ci, dy, dx of
x[ci, m + dy - 1 + a, n + dx - 1 + b] * W[ci, c, ky, kx], with kernel rows {3, 1} for a = 0 and {2, 0}
for a = 1 (columns alike): a 2x2 convolution with zero padding [1 - a, 1 - b, a, b]. The sub-pixel
3x3 kernel (gantool.toolkit.models.subpixel) holds exactly those taps, so each phase's weights are
the 2x2 block of the 3x3 kernel at rows/columns {0, 1} (parity 0) or {1, 2} (parity 1).

The quantized sub-pixel block is

    DQ(x) -> Conv 3x3 (4C outputs, 5 of 9 taps zero per phase) -> Q(s1) -> DQ -> DepthToSpace(CRD) -> Q(s2)

and becomes, with the same int8 weights (the four 2x2 blocks of taps each phase uses), the same
int32 biases and the same weight scales (per tensor, or the phase's channels of a per-channel one):

    DQ(x) -> Conv 2x2 (phase a, b; pads [1-a, 1-b, a, b]) -> Q(s2)        four times
    uint8: Transpose to NHWC -> Unsqueeze + Concat on W (per row phase) -> Reshape
           -> Unsqueeze + Concat on H -> Reshape -> Transpose to NCHW

Each phase is quantized straight to the block's output parameters (s2): one rounding where the
sub-pixel file had two (to s1, then to s2), and no requantization between phases. Why this form
(measured in benchmarks/results/runtime_speed.md, from onnxruntime's source): 2.25x fewer
multiply-adds than the 3x3 form; no DepthToSpace (onnxruntime's uint8 fast path covers only DCR
mode at block size 4); and the hand-written NHWC Transposes cancel those the NHWC transformer puts
around each QLinearConv. A narrow layer (C <= 16 outputs, where four small convolutions cost more
in calls than in multiply-adds) runs as two row-phase 2x3 convolutions instead (_row_phase_nodes);
convolutions with fewer than 16 outputs, the image's among them, are made fit for MLAS's VNNI
kernel by gantool.export.makers.int8_narrow.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from gantool.export.makers.int8_narrow import MIN_VNNI_OUTPUTS, sliced_dq, widen_narrow_convs
from gantool.export.makers.onnx_graph import QGraph, drop_dead, drop_unused_initializers

PHASE_TAPS = {0: (0, 1), 1: (1, 2)}  # parity -> the rows (columns) of the 3x3 kernel that phase uses
ROW_PHASE_MAX = 16  # layers of C <= 16 outputs run as two row-phase convolutions (2C >= 16 real outputs each)


def to_phase_form(model: Any) -> int:
    """Rewrite every quantized sub-pixel block of `model` (in place) into its phase form, then make
    every convolution with fewer than 16 outputs fit for the VNNI kernel (the image's: a block
    convolution; a narrow model's 4-output phase convolutions: widened); returns how many blocks
    were rewritten."""
    g = QGraph(model)
    blocks = [b for b in (_match(g, n) for n in list(g.graph.node) if n.op_type == "DepthToSpace") if b]
    new_nodes: dict[int, list] = {}  # position of the block's Conv -> nodes replacing the block
    dropped: set[int] = set()
    for block in blocks:
        nodes = _phase_nodes(g, block)
        new_nodes[id(block["conv"])] = nodes
        dropped.update(
            id(n) for n in (block["conv"], block["q1"], block["dq1"], block["d2s"], block["q2"], *block["extra"])
        )
    _requantize_before_reshapes(g, dropped)
    flat = []
    for n in g.graph.node:
        if id(n) in new_nodes:
            flat.extend(new_nodes[id(n)])
        elif id(n) not in dropped:
            flat.append(n)
    _replace_nodes(g, flat)
    wide = QGraph(model, first_name=g.names_used)  # the lookups of the rewritten graph; names go on
    widened = widen_narrow_convs(wide)
    _replace_nodes(wide, [m for n in wide.graph.node for m in widened.get(id(n), [n])])
    return len(blocks)


def _replace_nodes(g: QGraph, nodes: list) -> None:
    del g.graph.node[:]
    g.graph.node.extend(nodes)
    drop_dead(g)
    drop_unused_initializers(g)


def _requantize_before_reshapes(g: QGraph, dropped: set[int]) -> None:
    """Gemm/Conv -> Q(s1) -> DQ -> Reshape [-> Relu] -> Q(s2) (the projection's output): quantize straight
    to s2 and reshape the uint8 tensor (a ReLU folds into s2 when its zero point is 0). onnxruntime ran
    the DQ, the float Reshape and ReLU and the Q as separate passes over the whole activation."""
    for reshape in [n for n in g.graph.node if n.op_type == "Reshape"]:
        dq = g.producer.get(reshape.input[0])
        q1 = g.producer.get(dq.input[0]) if dq is not None and dq.op_type == "DequantizeLinear" else None
        relu = g.one_consumer(reshape.output[0], "Relu")
        q2 = g.one_consumer((relu or reshape).output[0], "QuantizeLinear")
        src = g.producer.get(q1.input[0]) if q1 is not None and q1.op_type == "QuantizeLinear" else None
        if (
            src is None
            or q1 is None
            or dq is None
            or src.op_type not in ("Gemm", "Conv")
            or q2 is None
            or id(q1) in dropped
            or (relu is not None and not _zero_point_zero(g, q2))
            or any(len(g.consumers.get(t, [])) != 1 for t in (q1.output[0], dq.output[0]))
        ):
            continue
        q1.input[1:] = list(q2.input[1:])  # the Gemm's output quantized with the post-ReLU parameters
        reshape.input[0] = q1.output[0]
        reshape.output[0] = q2.output[0]
        dropped.update(id(n) for n in (dq, q2, relu) if n is not None)


def _zero_point_zero(g: QGraph, q) -> bool:
    """A uint8 QuantizeLinear whose zero point is 0: it clamps negatives to 0, as a ReLU before it would."""
    zp = g.array(q.input[2]) if len(q.input) > 2 and q.input[2] else None
    return zp is not None and zp.dtype == np.uint8 and not np.any(zp)


def _float_relu_after(g: QGraph, tensor: str) -> list:
    """[DQ, Relu, Q] when `tensor` (uint8) is only dequantized, ReLU'd in float and quantized again with
    zero point 0 (the quantizer left a float ReLU between two quantized ops); else []."""
    dq = g.one_consumer(tensor, "DequantizeLinear")
    relu = g.one_consumer(dq.output[0], "Relu") if dq is not None else None
    q = g.one_consumer(relu.output[0], "QuantizeLinear") if relu is not None else None
    return [dq, relu, q] if q is not None and _zero_point_zero(g, q) else []


def _match(g: QGraph, d2s) -> Optional[dict]:
    """The sub-pixel block around a DepthToSpace(CRD, 2), or None when the graph is not that shape."""
    from onnx import helper

    attrs = {a.name: helper.get_attribute_value(a) for a in d2s.attribute}
    if attrs.get("blocksize") != 2 or attrs.get("mode", b"DCR") not in (b"CRD", "CRD"):
        return None
    dq1 = g.producer.get(d2s.input[0])
    q1 = g.producer.get(dq1.input[0]) if dq1 is not None and dq1.op_type == "DequantizeLinear" else None
    conv = g.producer.get(q1.input[0]) if q1 is not None and q1.op_type == "QuantizeLinear" else None
    q2 = g.one_consumer(d2s.output[0], "QuantizeLinear")
    if conv is None or conv.op_type != "Conv" or q2 is None or len(conv.input) < 3:
        return None
    assert q1 is not None and dq1 is not None  # conv was found through them
    if any(len(g.consumers.get(t, [])) != 1 for t in (conv.output[0], q1.output[0], dq1.output[0])):
        return None
    conv_attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
    wdq, bdq = g.producer.get(conv.input[1]), g.producer.get(conv.input[2])
    if wdq is None or bdq is None or wdq.op_type != "DequantizeLinear" or bdq.op_type != "DequantizeLinear":
        return None
    w = g.array(wdq.input[0])
    if (
        w is None
        or w.ndim != 4
        or w.shape[2:] != (3, 3)
        or w.shape[0] % 4
        or list(conv_attrs.get("pads", [0] * 4)) != [1, 1, 1, 1]
        or conv_attrs.get("group", 1) != 1
        or list(conv_attrs.get("strides", [1, 1])) != [1, 1]
        or list(conv_attrs.get("dilations", [1, 1])) != [1, 1]
    ):
        return None
    hw = g.spatial(conv.input[0])
    if hw is None:
        return None
    relu = _float_relu_after(g, q2.output[0])  # D2S -> Q -> DQ -> Relu -> Q: the block's real output
    return {
        "conv": conv,
        "q1": q1,
        "dq1": dq1,
        "d2s": d2s,
        "q2": relu[-1] if relu else q2,
        "wdq": wdq,
        "bdq": bdq,
        "hw": hw,
        "extra": [q2, *relu[:-1]] if relu else [],
    }


def _phase_nodes(g: QGraph, block: dict) -> list:
    """The four phase convolutions of a block and the uint8 interleave that replaces its DepthToSpace."""
    from onnx import helper

    conv, q2, wdq, bdq = block["conv"], block["q2"], block["wdq"], block["bdq"]
    w, bias = g.array(wdq.input[0]), g.array(bdq.input[0])
    assert w is not None and bias is not None  # the block was matched on initializers
    # w: (4C, C_in, 3, 3) int8, channel c*4 + a*2 + b (PixelShuffle's order)
    c = w.shape[0] // 4
    if MIN_VNNI_OUTPUTS <= 2 * c and c <= ROW_PHASE_MAX:
        return _row_phase_nodes(g, block, w, bias, c)
    nodes: list[Any] = []
    phases = {}
    for a in (0, 1):
        for b in (0, 1):
            idx = np.arange(c) * 4 + a * 2 + b
            rows, cols = PHASE_TAPS[a], PHASE_TAPS[b]
            w_ab = w[idx][:, :, list(rows)][:, :, :, list(cols)]
            w_in = sliced_dq(g, wdq, w_ab, idx, nodes, f"w{a}{b}")
            b_in = sliced_dq(g, bdq, bias[idx], idx, nodes, f"b{a}{b}")
            y = g.name(f"conv{a}{b}")
            nodes.append(
                helper.make_node(
                    "Conv",
                    [conv.input[0], w_in, b_in],
                    [y],
                    name=y,
                    kernel_shape=[2, 2],
                    pads=[1 - a, 1 - b, a, b],
                    strides=[1, 1],
                    dilations=[1, 1],
                    group=1,
                )
            )
            yq = g.name(f"q{a}{b}")
            nodes.append(helper.make_node("QuantizeLinear", [y, *q2.input[1:]], [yq], name=yq))
            phases[a, b] = yq
    h, w_ = block["hw"]
    nodes += _interleave(g, phases, q2.output[0], c, h, w_)
    return nodes


def _interleave(g: QGraph, phases: dict, output: str, c: int, h: int, w: int) -> list:
    """uint8 (N, C, H, W) x 4 phases -> (N, C, 2H, 2W) named `output`, in NHWC steps (module docstring)."""
    from onnx import helper

    nodes = []

    def node(op: str, inputs: list[str], stem: str, **attrs) -> str:
        out = g.name(stem)
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def axes(*values: int) -> str:
        return g.const("axes", np.array(values, dtype=np.int64))

    def shape(*values: int) -> str:
        return g.const("shape", np.array(values, dtype=np.int64))

    rows = []
    for a in (0, 1):
        pair = [
            node("Unsqueeze", [node("Transpose", [phases[a, b]], "nhwc", perm=[0, 2, 3, 1]), axes(3)], "unsq")
            for b in (0, 1)
        ]  # 2 x (N, H, W, 1, C)
        row = node("Reshape", [node("Concat", pair, "cat_w", axis=3), shape(-1, h, 2 * w, c)], "row")  # (N, H, 2W, C)
        rows.append(node("Unsqueeze", [row, axes(2)], "unsq"))  # (N, H, 1, 2W, C)
    nhwc = node("Reshape", [node("Concat", rows, "cat_h", axis=2), shape(-1, 2 * h, 2 * w, c)], "image")
    nodes.append(helper.make_node("Transpose", [nhwc], [output], name=g.name("nchw"), perm=[0, 3, 1, 2]))
    return nodes


def _row_phase_nodes(g: QGraph, block: dict, w: np.ndarray, bias: np.ndarray, c: int) -> list:
    """A narrow block (C <= 16) as two row-phase convolutions: row parity a's is a 2x3 convolution with
    pads [1 - a, 1, a, 1] and 2C outputs, channel b*C + c holding phase (a, b)'s taps (kernel columns
    {0, 1} for b = 0, {1, 2} for b = 1, the third column zero). Its NHWC output (N, H, W, 2, C) is
    already the row's interleave (N, H, 2W, C): no Concat on W. Measured (int8_search.md): nano
    60,452 -> 101,621 img/s at batch 256 against four phase convolutions widened to 16 and Sliced;
    the default width keeps four (its 2x3 form does 1.5x the multiply-adds in a kernel at its peak)."""
    from onnx import helper

    conv, q2, wdq, bdq = block["conv"], block["q2"], block["wdq"], block["bdq"]
    h, w_ = block["hw"]
    nodes: list[Any] = []

    def node(op: str, inputs: list[str], stem: str, **attrs) -> str:
        out = g.name(stem)
        nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    rows = []
    for a in (0, 1):
        idx = np.concatenate([np.arange(c) * 4 + a * 2 + b for b in (0, 1)])  # PixelShuffle's channel c*4 + a*2 + b
        w_a = w[idx][:, :, list(PHASE_TAPS[a])].copy()  # (2C, C_in, 2, 3)
        w_a[:c, :, :, 2] = 0  # b = 0 reads columns n - 1, n
        w_a[c:, :, :, 0] = 0  # b = 1 reads columns n, n + 1
        w_in = sliced_dq(g, wdq, w_a, idx, nodes, f"wr{a}")
        b_in = sliced_dq(g, bdq, bias[idx], idx, nodes, f"br{a}")
        y = node(
            "Conv",
            [conv.input[0], w_in, b_in],
            f"conv_row{a}",
            kernel_shape=[2, 3],
            pads=[1 - a, 1, a, 1],
            strides=[1, 1],
            dilations=[1, 1],
            group=1,
        )
        yq = node("QuantizeLinear", [y, *q2.input[1:]], f"q_row{a}")  # (N, 2C, H, W)
        nhwc = node("Transpose", [yq], "nhwc", perm=[0, 2, 3, 1])  # (N, H, W, 2C)
        row = node("Reshape", [nhwc, g.const("shape", np.array([-1, h, 2 * w_, c], np.int64))], "row")
        rows.append(node("Unsqueeze", [row, g.const("axes", np.array([2], np.int64))], "unsq"))  # (N, H, 1, 2W, C)
    shape = g.const("shape", np.array([-1, 2 * h, 2 * w_, c], np.int64))
    image = node("Reshape", [node("Concat", rows, "cat_h", axis=2), shape], "image")  # (N, 2H, 2W, C)
    nodes.append(helper.make_node("Transpose", [image], [q2.output[0]], name=g.name("nchw"), perm=[0, 3, 1, 2]))
    return nodes
