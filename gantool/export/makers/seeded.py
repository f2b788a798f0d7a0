"""Seeded ONNX files: the generator with its latent sampler in front, in standard ONNX ops.

Inputs `seed` int64 [N] (one seed per image) [+ `label` int64 [N]] and an optional `truncation`
float32 [1] (an overridable initializer, 0 = none); the graph computes the latents exactly as
gantool.runtime.seeded describes (and implements in numpy), then runs the generator it was made from.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gantool.core.errors import GantoolError
from gantool.export.job import ExportJob, MakerNote, Target
from gantool.export.makers.onnx import save_onnx
from gantool.runtime.seeded import M31, MUL1, MUL2, TRUNCATION_ROUNDS, counters

LATENT_ALGORITHM = "gantool-seeded-v1"  # bump when gantool.runtime.seeded changes
MIN_OPSET = 18  # BitwiseXor / BitwiseAnd


class _Graph:
    """A tiny builder: named constants and nodes, so the sampler reads like its numpy twin."""

    def __init__(self, prefix: str = "seeded_") -> None:
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.prefix, self._n = prefix, 0

    def const(self, value, dtype) -> str:
        from onnx import numpy_helper

        name = self._name("c")
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def op(self, op_type: str, *inputs: str, **attrs) -> str:
        from onnx import helper

        out = self._name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def _name(self, kind: str) -> str:
        self._n += 1
        return f"{self.prefix}{kind}_{self._n}"

    # integer helpers: every value stays in [0, 2**31) (or a non-negative int64 seed)
    def shr(self, x: str, k: int) -> str:
        return self.op("Div", x, self.const(1 << k, np.int64))

    def mix(self, x: str) -> str:
        x = self.op("BitwiseXor", x, self.shr(x, 16))
        x = self.op("BitwiseAnd", self.op("Mul", x, self.const(MUL1, np.int64)), self.const(M31, np.int64))
        x = self.op("BitwiseXor", x, self.shr(x, 15))
        x = self.op("BitwiseAnd", self.op("Mul", x, self.const(MUL2, np.int64)), self.const(M31, np.int64))
        return self.op("BitwiseXor", x, self.shr(x, 16))

    def box_muller(self, keys: str, d: int, start: int) -> str:
        """keys (N, 1) int64 -> (N, D) float32 normals from counters start .. start + 2D - 1."""
        x = self.mix(self.op("BitwiseXor", keys, self.const(counters(2 * d, start)[None, :], np.int64)))
        u = self.op(
            "Mul",
            self.op("Add", self.op("Cast", x, to=11), self.const(0.5, np.float64)),
            self.const(1.0 / 2**31, np.float64),
        )  # (N, 2D) float64 in (0, 1)
        u1 = self.op("Slice", u, self.const([0], np.int64), self.const([d], np.int64), self.const([1], np.int64))
        u2 = self.op("Slice", u, self.const([d], np.int64), self.const([2 * d], np.int64), self.const([1], np.int64))
        r = self.op("Sqrt", self.op("Mul", self.op("Log", u1), self.const(-2.0, np.float64)))
        c = self.op("Cos", self.op("Mul", u2, self.const(2.0 * math.pi, np.float64)))
        return self.op("Cast", self.op("Mul", r, c), to=1)


def latent_model(latent_dim: int, opset: int):
    """seed int64 [N] (+ truncation float32 [1], default 0) -> z float32 [N, latent_dim]."""
    from onnx import TensorProto, helper

    g = _Graph()
    s = g.op("BitwiseAnd", "seed", g.const((1 << 63) - 1, np.int64))  # a negative seed wraps, as in numpy
    m = g.const(M31, np.int64)
    key = g.mix(g.shr(s, 62))
    key = g.mix(g.op("BitwiseXor", g.op("BitwiseAnd", g.shr(s, 31), m), key))
    key = g.mix(g.op("BitwiseXor", g.op("BitwiseAnd", s, m), key))
    keys = g.op("Unsqueeze", key, g.const([1], np.int64))  # (N, 1)
    z = g.box_muller(keys, latent_dim, 0)
    z_out = _truncation(g, keys, z, latent_dim)
    truncation = helper.make_tensor("truncation", TensorProto.FLOAT, [1], [0.0])
    graph = helper.make_graph(
        g.nodes + [helper.make_node("Identity", [z_out], ["z"])],
        "gantool_seeded_latents",
        [
            helper.make_tensor_value_info("seed", TensorProto.INT64, ["N"]),
            helper.make_tensor_value_info("truncation", TensorProto.FLOAT, [1]),
        ],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", latent_dim])],
        g.inits + [truncation],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _truncation(g: _Graph, keys: str, z: str, d: int) -> str:
    """If truncation > 0: replace out-of-range values by later in-range candidates, then clamp (an If,
    so the untruncated path computes nothing extra)."""
    from onnx import TensorProto, helper

    t = g.op("Squeeze", "truncation", g.const([0], np.int64))
    inner = _Graph(prefix="seeded_trunc_")
    zt = z
    for r in range(1, TRUNCATION_ROUNDS):
        cand = inner.box_muller(keys, d, r * 2 * d)
        take = inner.op(
            "And", inner.op("Greater", inner.op("Abs", zt), t), inner.op("LessOrEqual", inner.op("Abs", cand), t)
        )
        zt = inner.op("Where", take, cand, zt)
    zt = inner.op("Clip", zt, inner.op("Neg", t), t)
    then_branch = helper.make_graph(
        inner.nodes, "truncate", [], [helper.make_tensor_value_info(zt, TensorProto.FLOAT, None)], inner.inits
    )
    else_branch = helper.make_graph(
        [helper.make_node("Identity", [z], ["seeded_untruncated"])],
        "plain",
        [],
        [helper.make_tensor_value_info("seeded_untruncated", TensorProto.FLOAT, None)],
    )
    return g.op("If", g.op("Greater", t, g.const(0.0, np.float32)), then_branch=then_branch, else_branch=else_branch)


def make_seeded(job: ExportJob, target: Target) -> MakerNote:
    """The source ONNX generator (fp32, fp16 or int8) behind the seeded latent sampler."""
    import onnx
    from onnx import compose

    if job.cfg.opset < MIN_OPSET:
        raise GantoolError(f"--seeded needs opset >= {MIN_OPSET} (bitwise integer ops); got {job.cfg.opset}")
    generator = onnx.load(str(target.source))
    gen_opset = next(o.version for o in generator.opset_import if o.domain in ("", "ai.onnx"))
    latents = latent_model(target.metadata["latent_dim"], gen_opset)
    latents.ir_version = generator.ir_version
    for o in generator.opset_import:  # merge_models wants the same opset imports on both sides
        if o.domain not in ("", "ai.onnx"):
            latents.opset_import.append(o)
    merged = compose.merge_models(latents, generator, io_map=[("z", "z")])
    inputs = [i.name for i in merged.graph.input if i.name != "truncation"]
    meta = {**target.metadata, "inputs": inputs, "latent_algorithm": LATENT_ALGORITHM, "truncation_input": "truncation"}
    for key in ("fp32_ops", "quantized_ops"):
        meta.pop(key, None)
    save_onnx(merged, target.path, meta)
    return MakerNote(facts={"latent_algorithm": LATENT_ALGORITHM, "inputs": inputs})
