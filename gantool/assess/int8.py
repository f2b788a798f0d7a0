"""Where an ONNX file's multiply-accumulates run: integer or float kernels, in onnxruntime's
optimized graph (what it actually executes on this CPU), from one profiled batch-1 call."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

INTEGER_OPS = {
    "QLinearConv",
    "NhwcQLinearConv",
    "ConvInteger",
    "QGemm",
    "MatMulInteger",
    "QLinearMatMul",
    "DynamicQuantizeMatMul",
    "MatMulIntegerToFloat",
}
FLOAT_OPS = {"Conv", "FusedConv", "NchwcConv", "ConvTranspose", "Gemm", "FusedGemm", "MatMul", "FusedMatMul"}
CONV_LIKE = {"QLinearConv", "NhwcQLinearConv", "ConvInteger", "Conv", "FusedConv", "NchwcConv"}
WEIGHT_INPUT = {"QLinearConv": 3, "NhwcQLinearConv": 3, "QGemm": 3, "QLinearMatMul": 3}  # else input 1


def optimized_graph(path: str | Path, out: Path):
    """onnxruntime's optimized graph of `path` (saved to `out`) and the profile of one batch-1 call."""
    import onnx

    from gantool.runtime.onnx import OnnxGenerator
    from gantool.runtime.session import open_session

    meta = OnnxGenerator(path).metadata
    session = open_session(path, optimized_path=out / "optimized.onnx", profile_prefix=out / "profile", threads=1)
    feeds: dict[str, np.ndarray] = (
        {"z": np.zeros((1, meta.latent_dim), np.float32)} if "z" in meta.inputs else {"seed": np.zeros(1, np.int64)}
    )
    if meta.conditional:
        feeds["label"] = np.zeros(1, np.int64)
    session.run(None, feeds)
    profile = json.loads(Path(session.end_profiling()).read_text())
    return onnx.load(str(out / "optimized.onnx"), load_external_data=False), profile


def integer_mac_share(path: str | Path) -> dict[str, Any]:
    """{"share": integer MACs / all MACs, "integer_macs", "float_macs", "float_ops": [...]} at batch 1."""
    with tempfile.TemporaryDirectory() as tmp:
        model, profile = optimized_graph(path, Path(tmp))
    dims = {t.name: list(t.dims) for t in model.graph.initializer}
    nodes = {n.name: n for n in model.graph.node}
    producers = {o: n for n in model.graph.node for o in n.output}

    def weight_dims(name: str):  # an initializer, or one behind a DequantizeLinear (QDQ float ops)
        if name in dims:
            return dims[name]
        node = producers.get(name)
        return dims.get(node.input[0]) if node is not None and node.op_type == "DequantizeLinear" else None

    macs = {"integer": 0, "float": 0}
    float_ops = []
    for event in profile:
        args = event.get("args", {})
        op = args.get("op_name")
        if (
            event.get("cat") != "Node"
            or not event["name"].endswith("_kernel_time")
            or op not in INTEGER_OPS | FLOAT_OPS
        ):
            continue
        node = nodes.get(event["name"][: -len("_kernel_time")])
        out_shape = next(iter(args["output_type_shape"][0].values()))
        in_shape = next(iter(args["input_type_shape"][0].values()))
        weight = weight_dims(node.input[WEIGHT_INPUT.get(op, 1)]) if node is not None else None
        if op in CONV_LIKE and weight:
            n = int(np.prod(out_shape)) * int(np.prod(weight[1:]))
        elif op == "ConvTranspose" and weight:
            n = int(np.prod(in_shape)) * int(np.prod(weight[1:]))
        else:  # Gemm / MatMul family: every output element is a K-long dot product
            n = int(np.prod(out_shape)) * int(in_shape[-1])
        kind = "integer" if op in INTEGER_OPS else "float"
        macs[kind] += n
        if kind == "float":
            float_ops.append(op)
    total = macs["integer"] + macs["float"]
    return {
        "share": macs["integer"] / total if total else 0.0,
        "integer_macs": macs["integer"],
        "float_macs": macs["float"],
        "float_ops": sorted(set(float_ops)),
    }
