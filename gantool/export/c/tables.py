"""The C lowering's 256-entry tables, computed by onnxruntime itself (exact by construction): what a
chain of elementwise float ops between two quantized tensors does to each of the 256 uint8 inputs,
and MLAS's QuantizeLinear of float values (gantool.export.c.lower says where each is used)."""

from __future__ import annotations

from typing import Optional

import numpy as np


def quantize_values(x: np.ndarray, scale: float, zp: int) -> np.ndarray:
    """MLAS QuantizeLinear to uint8: clamp(x / scale, -zp, 255 - zp), round half to even, + zp."""
    v = np.asarray(x, dtype=np.float32) / np.float32(scale)
    v = np.clip(v, np.float32(-zp), np.float32(255 - zp))
    return (np.rint(v).astype(np.int32) + zp).astype(np.uint8)


def _chain_values(scale: float, zp: int, chain: list, out_q: Optional[tuple[float, int]]) -> np.ndarray:
    """onnxruntime's output of DequantizeLinear -> chain [-> QuantizeLinear] for each of the 256 inputs."""
    from onnx import TensorProto, helper, numpy_helper

    from gantool.runtime.session import open_session

    inits = [numpy_helper.from_array(np.float32(scale), "lut_scale"), numpy_helper.from_array(np.uint8(zp), "lut_zp")]
    nodes = [helper.make_node("DequantizeLinear", ["q", "lut_scale", "lut_zp"], ["x0"])]
    prev = "x0"
    for i, (node, constants) in enumerate(chain):
        names = {c: f"lut_c{i}_{j}" for j, c in enumerate(constants)}
        inits += [numpy_helper.from_array(v, names[c]) for c, v in constants.items()]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        inputs = [prev] + [names.get(n, n) for n in node.input[1:]]
        nodes.append(helper.make_node(node.op_type, inputs, [f"x{i + 1}"], **attrs))
        prev = f"x{i + 1}"
    out_type = TensorProto.FLOAT
    if out_q is not None:
        inits += [
            numpy_helper.from_array(np.float32(out_q[0]), "lut_out_scale"),
            numpy_helper.from_array(np.uint8(out_q[1]), "lut_out_zp"),
        ]
        nodes.append(helper.make_node("QuantizeLinear", [prev, "lut_out_scale", "lut_out_zp"], ["y"]))
        prev, out_type = "y", TensorProto.UINT8
    graph = helper.make_graph(
        nodes,
        "lut",
        [helper.make_tensor_value_info("q", TensorProto.UINT8, [256])],
        [helper.make_tensor_value_info(prev, out_type, [256])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    session = open_session(model.SerializeToString(), threads=1)
    return session.run(None, {"q": np.arange(256, dtype=np.uint8)})[0]


def requant_table(scale: float, zp: int, chain: list, out_scale: float, out_zp: int) -> np.ndarray:
    return _chain_values(scale, zp, chain, (out_scale, out_zp)).astype(np.uint8)


def pixel_table(scale: float, zp: int, chain: list) -> np.ndarray:
    """The graph's tail as uint8 -> the sampler's uint8 pixel (gantool.runtime.generator.to_uint8)."""
    from gantool.runtime.generator import to_uint8

    values = _chain_values(scale, zp, chain, None).astype(np.float32)
    return to_uint8(values.reshape(256, 1, 1, 1)).reshape(256)
