"""Lowering an int8 (QDQ) generator graph to a short list of integer layers for the plain-C export.

The C file (gantool.export.c.source) must compute what onnxruntime computes for the int8 ONNX
file, so each layer carries onnxruntime's own arithmetic, not the ONNX spec's float view of it:

- a QDQ Gemm / Conv (DequantizeLinear on input, weight and bias, QuantizeLinear after) runs as
  onnxruntime's fused QGemm / QLinearConv do: int32 sums of (x - x_zp) * w plus the int32 bias,
  then `float(acc) * (x_scale * w_scale / y_scale)` clamped to the output range, rounded half to
  even, plus y_zp (MLAS MlasRequantizeOutput; the multiplier computed in that float order);
- QuantizeLinear of the float latent: clamp(z / scale) rounded half to even, plus the zero point
  (MLAS MlasQuantizeLinear: a division, not a multiplication by 1 / scale);
- data movement between quantized tensors (Reshape, DepthToSpace) moves uint8 values;
- any chain of elementwise float ops between a DequantizeLinear and the next QuantizeLinear (Relu,
  Tanh, the [-1, 1] -> [0, 1] tail …) reads one of 256 values, so it becomes a 256-entry table
  computed by onnxruntime itself at export time (exact by construction); the chain that ends the
  graph maps straight to the sampler's uint8 pixels.

Anything else is refused in one line naming the operator. Shapes are per image (batch 1, NCHW).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from gantool.core.errors import GantoolError
from gantool.export.c.graph import attribute, generator_nodes, latent_width, scalar, weight_tensors
from gantool.export.c.layers import (
    ConvLayer,
    DepthToSpaceLayer,
    GemmLayer,
    InputLayer,
    Layer,
    LinearLayer,
    Lowered,
    PhaseLayer,
    TableLayer,
)
from gantool.export.c.phase import int_attribute, phase_group
from gantool.export.c.tables import pixel_table, quantize_values, requant_table

ELEMENTWISE = {"Relu", "LeakyRelu", "Tanh", "Sigmoid", "Clip", "Add", "Sub", "Mul", "Div"}
MOVES = {"Reshape", "Flatten", "Identity", "DepthToSpace"}
SUPPORTED = sorted(
    ELEMENTWISE
    | MOVES
    | {"Gather", "Concat", "QuantizeLinear", "DequantizeLinear", "Gemm", "Conv", "Slice", "Transpose", "Unsqueeze"}
)  # the last three: phase groups


@dataclass
class _T:
    """A tensor during lowering: "float" (the latent side), "q" (uint8 with scale/zp), "view" (the
    float view DequantizeLinear gives of a "q" tensor, with the elementwise ops applied since), or
    "acc" (a QDQ linear op's output, waiting for its QuantizeLinear)."""

    state: str
    shape: tuple[int, ...]
    scale: float = 0.0
    zp: int = 0
    chain: list = field(default_factory=list)  # "view": elementwise nodes since the DequantizeLinear
    layer: Optional[LinearLayer] = None  # "acc": the layer whose output scale/zp the Q fills in; "q": its producer
    table: Optional[np.ndarray] = None  # "float": the label embedding (num_classes, E) float32


def lower(model) -> Lowered:
    """The generator part of an int8 QDQ ONNX model (a seeded file's latent sampler is skipped: the C
    file draws latents itself) as integer layers; GantoolError for anything the C backend cannot run."""
    from onnx import numpy_helper

    graph = model.graph
    if any(t.data_location == 1 for t in graph.initializer):  # TensorProto.EXTERNAL: never read other files
        raise GantoolError("the ONNX file keeps weights in external files; the C export reads one self-contained file")
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    nodes = generator_nodes(graph)
    latent_dim = latent_width(model)
    tensors: dict[str, _T] = {"z": _T("float", (latent_dim,))}
    weights = weight_tensors(nodes, inits)  # DQ outputs of constant int tensors
    consumers: dict[str, list] = {}
    for n in nodes:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    layers: list[Layer] = []
    grouped: set[int] = set()  # nodes of a phase group already lowered
    num_classes = 0
    for node in nodes:
        op, ins, out = node.op_type, list(node.input), node.output[0]
        if op not in SUPPORTED:
            raise GantoolError(
                f"the C backend does not support operator {op} (node {node.name or out!r}); "
                f"it runs {', '.join(SUPPORTED)}"
            )
        if id(node) in grouped or (op == "DequantizeLinear" and ins[0] in inits):
            continue
        if op == "DequantizeLinear":
            t = _get(tensors, ins[0], "q", node)
            _check_params(t, scalar(inits, ins[1]), int(scalar(inits, ins[2], 0)), node)
            tensors[out] = _T("view", t.shape, t.scale, t.zp)
        elif op == "Gather":
            table = inits.get(ins[0])
            if ins[1] != "label" or table is None or table.ndim != 2:
                raise GantoolError(f"the C backend runs Gather only as the label embedding (node {out!r})")
            num_classes = table.shape[0]
            tensors[out] = _T("float", (table.shape[1],), table=table.astype(np.float32))
        elif op == "Concat":
            parts = [_get(tensors, i, "float", node) for i in ins]
            if len(parts) != 2 or parts[0].table is not None or parts[1].table is None:
                raise GantoolError(f"the C backend runs Concat only as [z, label embedding] (node {out!r})")
            tensors[out] = _T("float", (latent_dim + parts[1].shape[0],), table=parts[1].table)
        elif op == "QuantizeLinear":
            tensors[out] = _quantize(tensors, layers, node, inits, latent_dim)
        elif op == "Conv" and (group := _phase_group(node, consumers, inits, tensors, weights)) is not None:
            tensors[group.output] = _phase_layer(group, tensors, weights, layers, inits, latent_dim)
            grouped |= group.members
        elif op in ("Gemm", "Conv"):
            tensors[out] = _linear(tensors, weights, layers, node, inits)
        elif op == "Slice":
            tensors[out] = _slice_channels(tensors, layers, node, inits)
        elif op in MOVES:
            tensors[out] = _move(tensors, layers, node, inits)
        else:  # elementwise float op on a dequantized tensor (or the embedding table)
            tensors[out] = _elementwise(tensors, node, inits)
    output = graph.output[0].name
    final = _get(tensors, output, "view", None)
    table = pixel_table(final.scale, final.zp, final.chain)
    layers.append(TableLayer(shape_in=final.shape, shape_out=final.shape, table=table, pixels=True))
    image_shape = tuple(int(d.dim_value) for d in graph.output[0].type.tensor_type.shape.dim[1:])
    if int(np.prod(final.shape)) != int(np.prod(image_shape)):
        raise GantoolError(f"the graph's output has {np.prod(final.shape)} values per image, not {image_shape}")
    return Lowered(latent_dim, num_classes, image_shape, layers)


def _phase_group(node, consumers: dict, inits: dict, tensors: dict, weights: dict):
    x = tensors.get(node.input[0])
    arrays = {name: w for name, (w, _, _) in weights.items()}
    return None if x is None or x.state != "view" else phase_group(node, consumers, inits, arrays, x.shape)


def _phase_layer(group, tensors: dict, weights: dict, layers: list, inits: dict, latent_dim: int) -> _T:
    """One phase layer: the group's four convolutions (each lowered as a conv), interleaved."""
    phases: list[tuple[int, int, ConvLayer]] = []
    for (a, b), conv in sorted(group.convs.items()):
        own: list[Layer] = []
        tensors[conv.output[0]] = _linear(tensors, weights, own, conv, inits)
        q = _quantize(tensors, own, group.quants[a, b], inits, latent_dim)
        layer = own[0]
        assert isinstance(layer, ConvLayer)  # a phase group's members are Convs
        if group.channels < layer.weight.shape[0]:  # widened and Sliced back, or one of a row conv's phases
            layer.keep_channels(group.channels, group.first[a, b])
        if layer.weight.shape[3] == 3:  # a row-phase convolution: column phase b's taps
            layer.column_phase(b)
        phases.append((a, b, layer))
    c, h, w = phases[0][2].shape_out
    layer = PhaseLayer(shape_in=phases[0][2].shape_in, shape_out=(c, 2 * h, 2 * w), phases=phases)
    layers.append(layer)
    return _T("q", layer.shape_out, q.scale, q.zp)


def _slice_channels(tensors: dict, layers: list, node, inits: dict) -> _T:
    """A Slice of a convolution's first output channels (the widened last conv, gantool.export.makers.int8_phase):
    the convolution keeps only those channels' weights."""
    t = _get(tensors, node.input[0], "q", node)
    args = [inits.get(i) if i else None for i in list(node.input)[1:]]
    if (
        len(args) < 3
        or any(v is None for v in args[:3])
        or (len(args) > 3 and args[3] is not None and np.any(args[3] != 1))
    ):
        raise GantoolError(f"Slice {node.output[0]!r}: the C backend needs constant starts, ends and axes, step 1")
    starts, ends, axes = (np.asarray(v).reshape(-1) for v in args[:3])
    layer = t.layer
    if (
        [int(v) for v in axes] != [1]
        or int(starts[0]) != 0
        or layer is None
        or layer is not layers[-1]
        or not isinstance(layer, ConvLayer)
    ):
        raise GantoolError(
            f"Slice {node.output[0]!r}: the C backend slices only the first channels of the convolution just before it"
        )
    n = min(int(ends[0]), t.shape[0])
    if n < 1 or layer.out is None or len(layer.out.multiplier) < n:
        raise GantoolError(f"Slice {node.output[0]!r} keeps no channel")
    layer.keep_channels(n)
    return _T("q", layer.shape_out, t.scale, t.zp)


def _get(tensors: dict, name: str, state: str, node) -> _T:
    t = tensors.get(name)
    if t is None or t.state != state:
        where = f"node {node.output[0]!r}" if node is not None else "the graph's output"
        raise GantoolError(
            f"the C backend cannot run {where}: its input {name!r} is not a {state} tensor "
            "(not a gantool int8 QDQ graph)"
        )
    return t


def _check_params(t: _T, scale: float, zp: int, node) -> None:
    if np.float32(scale) != np.float32(t.scale) or zp != t.zp:
        raise GantoolError(f"DequantizeLinear {node.output[0]!r} uses other parameters than its QuantizeLinear")


def _quantize(tensors: dict, layers: list, node, inits: dict, latent_dim: int) -> _T:
    ins = list(node.input)
    scale, zp = np.float32(scalar(inits, ins[1])), int(scalar(inits, ins[2], 0))
    if len(ins) > 2 and ins[2] in inits and inits[ins[2]].dtype != np.uint8:
        raise GantoolError("the C backend runs uint8 activations only (this file quantizes to int8)")
    t = tensors.get(ins[0])
    if t is not None and t.state == "float":  # the latent [+ the label's embedding]
        table = None if t.table is None else quantize_values(t.table, scale, zp)
        layers.append(InputLayer(shape_in=(latent_dim,), shape_out=t.shape, scale=scale, zp=zp, embed=table))
        return _T("q", t.shape, scale, zp)
    if t is not None and t.state == "acc" and t.layer is not None:
        t.layer.requantize_to(scale, zp)
        return _T("q", t.shape, scale, zp, layer=t.layer)
    t = _get(tensors, ins[0], "view", node)
    if t.chain or np.float32(t.scale) != scale or t.zp != zp:  # requantize through a table
        table = requant_table(t.scale, t.zp, t.chain, scale, zp)
        layers.append(TableLayer(shape_in=t.shape, shape_out=t.shape, table=table))
    return _T("q", t.shape, scale, zp)


def _linear(tensors: dict, weights: dict, layers: list, node, inits: dict) -> _T:
    x = _get(tensors, node.input[0], "view", node)
    if x.chain:
        raise GantoolError(f"{node.op_type} {node.output[0]!r} reads a float tensor that was not requantized")
    if node.input[1] not in weights or len(node.input) < 3 or node.input[2] not in weights:
        raise GantoolError(f"{node.op_type} {node.output[0]!r}: the C backend needs int8 weights and an int32 bias")
    w, w_scale, w_zp = weights[node.input[1]]
    bias, b_scale, _ = weights[node.input[2]]
    if w.dtype != np.int8 or w_zp != 0 or bias.dtype != np.int32:
        raise GantoolError(f"{node.op_type} {node.output[0]!r}: the C backend needs symmetric int8 weights")
    attrs = {a.name: attribute(a) for a in node.attribute}
    if w_scale.size not in (1, w.shape[0]):
        raise GantoolError(
            f"{node.op_type} {node.output[0]!r}: weight scales per output channel or one, not {w_scale.size}"
        )
    params = {"weight": w, "bias": bias.reshape(-1), "x_zp": x.zp, "x_scale": np.float32(x.scale), "w_scale": w_scale}
    layer: LinearLayer
    if node.op_type == "Gemm":
        if (
            attrs.get("transA", 0)
            or not attrs.get("transB", 0)
            or attrs.get("alpha", 1.0) != 1.0
            or attrs.get("beta", 1.0) != 1.0
            or w.ndim != 2
            or w.shape[1] != int(np.prod(x.shape))
        ):
            raise GantoolError(f"Gemm {node.output[0]!r}: the C backend runs x @ W.T + b only")
        layer = GemmLayer(shape_in=x.shape, shape_out=(w.shape[0],), **params)
    else:
        layer = _conv_layer(x, w, attrs, params, node)
    layers.append(layer)
    return _T("acc", layer.shape_out, layer=layer)


def _conv_layer(x: _T, w: np.ndarray, attrs: dict, params: dict, node) -> ConvLayer:
    if (
        len(x.shape) != 3
        or w.ndim != 4
        or w.shape[1] != x.shape[0]
        or attrs.get("group", 1) != 1
        or any(d != 1 for d in attrs.get("dilations", [1, 1]))
        or attrs.get("auto_pad", "NOTSET") != "NOTSET"
    ):
        raise GantoolError(f"Conv {node.output[0]!r}: the C backend runs 2-D convolutions, group 1, no dilation")
    c, h, wd = x.shape
    kh, kw = w.shape[2:]
    pads = int_attribute(attrs.get("pads", [0, 0, 0, 0]), 4, 0, "pads", node)
    sh, sw = int_attribute(attrs.get("strides", [1, 1]), 2, 1, "strides", node)
    oh, ow = (h + pads[0] + pads[2] - kh) // sh + 1, (wd + pads[1] + pads[3] - kw) // sw + 1
    return ConvLayer(shape_in=x.shape, shape_out=(w.shape[0], oh, ow), pads=tuple(pads), strides=(sh, sw), **params)


def _move(tensors: dict, layers: list, node, inits: dict) -> _T:
    t = tensors.get(node.input[0])
    if t is None or t.state not in ("q", "view"):
        raise GantoolError(f"{node.op_type} {node.output[0]!r}: the C backend moves quantized tensors only")
    moved = _T(t.state, t.shape, t.scale, t.zp, list(t.chain))
    if node.op_type == "DepthToSpace":
        attrs = {a.name: attribute(a) for a in node.attribute}
        (b,), mode = int_attribute([attrs.get("blocksize")], 1, 2, "blocksize", node), attrs.get("mode", "DCR")
        c, h, w = t.shape
        if mode not in ("DCR", "CRD") or len(t.shape) != 3 or c % (b * b):
            raise GantoolError(
                f"DepthToSpace {node.output[0]!r}: mode {mode!r:.20} with blocksize {b} on {t.shape} "
                "is not a depth-to-space the C backend runs"
            )
        moved.shape = (c // (b * b), h * b, w * b)
        conv = t.layer if t.state == "q" and t.layer is layers[-1] and isinstance(t.layer, ConvLayer) else None
        plain = conv.unblocked(b) if conv is not None and mode == "DCR" else None
        if plain is not None:  # the image's block convolution: its 3x3 convolution, no zero taps
            layers[-1] = plain
        else:
            layers.append(DepthToSpaceLayer(shape_in=t.shape, shape_out=moved.shape, block=b, mode=mode))
    elif node.op_type == "Reshape":
        shape = [int(v) for v in inits[node.input[1]].reshape(-1)][1:]  # drop the batch dim
        moved.shape = tuple(np.empty(t.shape, dtype=np.uint8).reshape(shape).shape)
    elif node.op_type == "Flatten":
        moved.shape = (int(np.prod(t.shape)),)
    return moved  # Identity: the same tensor


def _elementwise(tensors: dict, node, inits: dict) -> _T:
    t = tensors.get(node.input[0])
    constants = [i for i in node.input[1:] if i]
    if any(c not in inits or inits[c].size != 1 for c in constants):
        raise GantoolError(f"{node.op_type} {node.output[0]!r}: the C backend needs scalar constant operands")
    if t is not None and t.state == "float" and t.table is not None and node.op_type in ("Mul", "Add"):
        c = inits[constants[0]].astype(np.float32)  # the label's strength on its embedding: fold it
        return _T("float", t.shape, table=(t.table * c if node.op_type == "Mul" else t.table + c).astype(np.float32))
    t = _get(tensors, node.input[0], "view", node)
    return _T("view", t.shape, t.scale, t.zp, t.chain + [(node, {c: inits[c] for c in constants})])
