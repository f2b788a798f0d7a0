"""Reading an int8 ONNX graph for the C lowering (gantool.export.c.lower): the generator's nodes, the
latent's width, constant quantization parameters and weights, attributes."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from gantool.core.errors import GantoolError


def weight_tensors(nodes: list, inits: dict) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    """DequantizeLinear outputs of constant integer tensors: (values, scales, 1 if a zero point is non-zero)."""
    out = {}
    for node in nodes:
        ins = list(node.input)
        if node.op_type == "DequantizeLinear" and ins[0] in inits:
            if len(ins) < 2 or ins[1] not in inits:
                raise GantoolError(f"DequantizeLinear {node.output[0]!r}: its scale is not a constant")
            zp = inits.get(ins[2]) if len(ins) > 2 else None
            out[node.output[0]] = (
                inits[ins[0]],
                inits[ins[1]].astype(np.float32).reshape(-1),
                0 if zp is None or not np.any(zp) else 1,
            )
    return out


def generator_nodes(graph) -> list:
    """The nodes after the latent: a seeded file's in-graph sampler (prefix seeded_) is dropped."""
    nodes = [
        n for n in graph.node if not n.name.startswith("seeded_") and not any(o.startswith("seeded_") for o in n.output)
    ]
    produced = {o for n in nodes for o in n.output}
    if "z" not in produced and "z" not in {i.name for i in graph.input}:
        raise GantoolError("the graph has no latent tensor 'z'; the C export needs a gantool int8 ONNX file")
    return [n for n in nodes if n.output[0] != "z"]


def latent_width(model) -> int:
    """z's width: the graph input of a plain file, the metadata's for a seeded one (z is internal)."""
    import json

    from gantool.runtime.metadata import METADATA_KEY

    for vi in model.graph.input:
        if vi.name == "z":
            return int(vi.type.tensor_type.shape.dim[1].dim_value)
    meta = {p.key: p.value for p in model.metadata_props}
    try:
        return int(json.loads(meta[METADATA_KEY])["latent_dim"])
    except (KeyError, ValueError, TypeError):
        raise GantoolError("the file has no gantool metadata; the C export needs a gantool int8 ONNX file") from None


def scalar(inits: dict, name: str, default: Optional[float] = None) -> Any:
    if name == "" or name not in inits:
        if default is None:
            raise GantoolError(f"quantization parameter {name!r} is not a constant; the C backend needs constants")
        return default
    arr = inits[name]
    if arr.size != 1:
        raise GantoolError(f"per-channel quantization ({name!r}) is not supported by the C backend")
    return arr.reshape(()).item() if arr.dtype.kind != "f" else np.float32(arr.reshape(()))


def attribute(a):
    from onnx import helper

    v = helper.get_attribute_value(a)
    return v.decode() if isinstance(v, bytes) else v
