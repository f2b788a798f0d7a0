"""Re-form an int8 file written in an earlier phase form (four 2x2 phase convolutions per up-sampling
layer, convolutions under 16 outputs widened and Sliced) into today's form, weights unchanged: used
for the bundled nano model (gantool/runtime/models/README.md).

    python .ci/reform_int8.py IN.onnx OUT.onnx

Each phase group is written back as the quantized sub-pixel block it came from (the 3x3 kernel holding
the four phases' taps, quantized once with the group's parameters: the phase form's single rounding),
the widened image convolution as its one real channel; gantool.export.makers.int8_phase.to_phase_form
then writes today's form. Then it checks, before writing OUT: the same pixels for 4,096 seeds (with and
without truncation) and the same generated C files byte for byte.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from gantool.export.c.phase import phase_group
from gantool.export.c.source import generate_from_onnx
from gantool.export.makers.int8_phase import PHASE_TAPS, to_phase_form
from gantool.export.makers.onnx_graph import QGraph, drop_dead, drop_unused_initializers
from gantool.runtime.onnx import OnnxGenerator


def sub_pixel_form(model) -> None:
    """Every phase group back to DQ -> Conv 3x3 -> Q -> DQ -> DepthToSpace(CRD) -> Q, the image's
    widened or block convolution back to its one channel (in place)."""
    g = QGraph(model)
    weights = {n.output[0]: g.array(n.input[0]) for n in g.graph.node if n.op_type == "DequantizeLinear"}
    weights = {k: v for k, v in weights.items() if v is not None}
    arrays = {name: numpy_helper.to_array(t) for name, t in g.inits.items()}
    replace: dict[int, list] = {}
    for conv in [n for n in g.graph.node if n.op_type == "Conv"]:
        hw = g.spatial(conv.input[0])
        c_in = weights[conv.input[1]].shape[1]
        group = None if hw is None else phase_group(conv, g.consumers, arrays, weights, (c_in, *hw))
        if group is None or any(id(c) in replace for c in group.convs.values()):
            continue  # an ordinary convolution, or a group already written back
        replace[id(group.convs[0, 0])] = _block(g, group)
        for other in group.members - {id(group.convs[0, 0])}:
            replace[other] = []
    flat = [m for n in g.graph.node for m in replace.get(id(n), [n])]
    del g.graph.node[:]
    g.graph.node.extend(flat)
    drop_dead(g)
    drop_unused_initializers(g)
    g = QGraph(model, first_name=g.names_used)
    _unwiden_image(g)
    _unblock_image(QGraph(model, first_name=g.names_used))  # fresh lookups, names going on


def _param(g: QGraph, dq, i: int):
    return g.array(dq.input[i]) if len(dq.input) > i and dq.input[i] else None


def _block(g: QGraph, group) -> list:
    conv0 = group.convs[0, 0]
    wdq = g.producer[conv0.input[1]]
    c = group.channels
    c_in = g.array(wdq.input[0]).shape[1]
    w3 = np.zeros((4 * c, c_in, 3, 3), np.int8)
    b3 = np.zeros(4 * c, np.int32)
    ws, bs = np.zeros(4 * c, np.float32), np.zeros(4 * c, np.float32)
    for (a, b), conv in group.convs.items():
        cw, cb = g.producer[conv.input[1]], g.producer[conv.input[2]]
        w, first = g.array(cw.input[0]), group.first[a, b]
        if w.shape[3] == 3:  # a row-phase convolution
            w = w[..., [0, 1] if b == 0 else [1, 2]]
        keep = slice(first, first + c)
        idx = np.arange(c) * 4 + a * 2 + b
        rows, cols = list(PHASE_TAPS[a]), list(PHASE_TAPS[b])
        w3[np.ix_(idx, np.arange(c_in), rows, cols)] = w[keep]
        b3[idx] = g.array(cb.input[0])[keep]
        ws[idx] = np.broadcast_to(_param(g, cw, 1), (w.shape[0],))[keep]
        bs[idx] = np.broadcast_to(_param(g, cb, 1), (w.shape[0],))[keep]
    per_tensor = np.all(ws == ws[0])
    w_dq = _dq(g, "w3", w3, ws[:1].reshape(()) if per_tensor else ws, np.int8, per_tensor)
    b_dq = _dq(g, "b3", b3, bs[:1].reshape(()) if per_tensor else bs, np.int32, per_tensor)
    q = group.quants[0, 0]
    x = conv0.input[0]
    y, yq, ydq, d2s = g.name("conv3"), g.name("q1"), g.name("dq1"), g.name("d2s")
    return [
        *w_dq[1],
        *b_dq[1],
        helper.make_node("Conv", [x, w_dq[0], b_dq[0]], [y], name=y, kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("QuantizeLinear", [y, *q.input[1:]], [yq], name=yq),
        helper.make_node("DequantizeLinear", [yq, *q.input[1:]], [ydq], name=ydq),
        helper.make_node("DepthToSpace", [ydq], [d2s], name=d2s, blocksize=2, mode="CRD"),
        helper.make_node("QuantizeLinear", [d2s, *q.input[1:]], [group.output], name=g.name("q2")),
    ]


def _dq(g: QGraph, stem: str, values, scale, dtype, per_tensor: bool):
    zp = g.const(stem + "_zp", np.zeros(() if per_tensor else values.shape[0], dtype))
    out = g.name(stem + "_dq")
    attrs = {} if per_tensor else {"axis": 0}
    node = helper.make_node(
        "DequantizeLinear", [g.const(stem, values), g.const(stem + "_s", scale), zp], [out], name=out, **attrs
    )
    return out, [node]


def _unwiden_image(g: QGraph) -> None:
    """conv16 -> Q -> Slice(channel 0) -> the 1-output convolution -> Q."""
    for sl in [n for n in g.graph.node if n.op_type == "Slice"]:
        q = g.producer.get(sl.input[0])
        conv = g.producer.get(q.input[0]) if q is not None and q.op_type == "QuantizeLinear" else None
        if conv is None or conv.op_type != "Conv" or int(g.array(sl.input[2])[0]) != 1:
            continue
        for i, stem in ((1, "w1"), (2, "b1")):
            dq = g.producer[conv.input[i]]
            dq.input[0] = g.const(stem, g.array(dq.input[0])[:1])
            for j in (1, 2):
                p = _param(g, dq, j)
                if p is not None and p.ndim == 1 and p.size > 1:
                    dq.input[j] = g.const(stem + "_p", p[:1])
        q.output[0] = sl.output[0]
        g.graph.node.remove(sl)
    drop_dead(g)
    drop_unused_initializers(g)


def _unblock_image(g: QGraph) -> None:
    """Block conv (16 outputs, 6x6, stride 4) -> Q -> DepthToSpace(DCR, 4) -> the 3x3 convolution -> Q."""
    for d2s in [n for n in g.graph.node if n.op_type == "DepthToSpace"]:
        q = g.producer.get(d2s.input[0])
        conv = g.producer.get(q.input[0]) if q is not None and q.op_type == "QuantizeLinear" else None
        w = g.array(g.producer[conv.input[1]].input[0]) if conv is not None and conv.op_type == "Conv" else None
        if w is None or w.shape[0] != 16 or w.shape[2:] != (6, 6):
            continue
        for i, stem, keep in ((1, "w1", w[:1, :, :3, :3]), (2, "b1", None)):
            dq = g.producer[conv.input[i]]
            dq.input[0] = g.const(stem, keep if keep is not None else g.array(dq.input[0])[:1])
            for j in (1, 2):
                p = _param(g, dq, j)
                if p is not None and p.ndim == 1 and p.size > 1:
                    dq.input[j] = g.const(stem + "_p", p[:1])
        for a in [a for a in conv.attribute if a.name in ("kernel_shape", "strides")]:
            conv.attribute.remove(a)
        conv.attribute.extend([helper.make_attribute("kernel_shape", [3, 3]), helper.make_attribute("strides", [1, 1])])
        q.output[0] = d2s.output[0]
        g.graph.node.remove(d2s)
    drop_dead(g)
    drop_unused_initializers(g)


def same(old: Path, new: Path) -> None:
    a, b = OnnxGenerator(old), OnnxGenerator(new)
    seeds, labels = np.arange(4096, dtype=np.int64), np.arange(4096) % 10
    for t in (None, 0.7):
        kw = {} if t is None else {"truncation": t}
        if not np.array_equal(a.run_seeds(seeds, labels, **kw), b.run_seeds(seeds, labels, **kw)):
            raise SystemExit(f"pixels differ (truncation {t})")
    fa, fb = generate_from_onnx(old), generate_from_onnx(new)
    if (fa.source, fa.header) != (fb.source, fb.header):
        raise SystemExit("the generated C differs")


if __name__ == "__main__":
    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    model = onnx.load(str(src))
    sub_pixel_form(model)
    print("blocks re-formed:", to_phase_form(model))
    onnx.checker.check_model(model, full_check=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / dst.name
        onnx.save(model, str(out))
        same(src, out)
        dst.write_bytes(out.read_bytes())
    print(f"{dst}: same pixels for 4,096 seeds (truncation none and 0.7), same C files")
