"""Reduced-precision ONNX variants made from the verified fp32 file.

fp16: weights and compute in float16 wherever onnxruntime's CPU provider has a
float16 kernel; ops without one stay float32 behind Cast nodes (found by trying
to load the model). Inputs and outputs stay float32.

int8: static QDQ quantisation (per-channel int8 weights, uint8 activations)
calibrated on activations from seeded latents. Static, because dynamic
quantisation leaves ConvTranspose in float.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from gantool.errors import GantoolError
from gantool.export.formats import set_onnx_metadata
from gantool.runtime.latents import seeded_inputs

QUANTIZED_OPS = ["Conv", "ConvTranspose", "Gemm", "MatMul"]


def make_fp16(src: Path, dst: Path, meta: dict[str, Any], calibration: int, seed: int) -> None:
    import onnx
    import onnxruntime as ort
    from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16

    model = onnx.load(str(src))
    blocked: set[str] = set()
    for _ in range(32):  # each round blocks one op type that has no fp16 CPU kernel
        half = convert_float_to_float16(model, keep_io_types=True,
                                        op_block_list=list(DEFAULT_OP_BLOCK_LIST) + sorted(blocked))
        try:
            ort.InferenceSession(half.SerializeToString(), providers=["CPUExecutionProvider"])
            break
        except Exception as e:  # "Could not find an implementation for ConvTranspose(11) node ..."
            found = re.search(r"implementation for (\w+)\(", str(e))
            if not found or found.group(1) in blocked:
                raise GantoolError(f"onnxruntime cannot run the fp16 model: {str(e).splitlines()[0][:160]}") from None
            blocked.add(found.group(1))
    _toposort(half.graph)  # the converter appends its input Casts at the end of the node list
    set_onnx_metadata(half, {**meta, "variant": "fp16", "fp32_ops": sorted(blocked)})
    onnx.save(half, str(dst))
    onnx.checker.check_model(str(dst), full_check=True)


def make_int8(src: Path, dst: Path, meta: dict[str, Any], calibration: int, seed: int) -> None:
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    feeds = seeded_inputs(calibration, meta["latent_dim"], meta["num_classes"], seed=seed + 1)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            chunks = range(0, calibration, 64)
            self._it = iter([{k: v[i : i + 64] for k, v in feeds.items()} for i in chunks])

        def get_next(self):
            return next(self._it, None)

    with tempfile.TemporaryDirectory(dir=dst.parent) as tmp:
        prepped = Path(tmp) / "prepped.onnx"
        quant_pre_process(str(src), str(prepped))
        quantize_static(
            str(prepped), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
            weight_type=QuantType.QInt8, activation_type=QuantType.QUInt8,
            op_types_to_quantize=QUANTIZED_OPS,
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
        )
    model = onnx.load(str(dst))
    set_onnx_metadata(model, {**meta, "variant": "int8", "quantized_ops": QUANTIZED_OPS})
    onnx.save(model, str(dst))
    onnx.checker.check_model(str(dst), full_check=True)


def _toposort(graph) -> None:
    """Reorder graph.node so every node comes after the producers of its inputs."""
    available = {i.name for i in graph.input} | {t.name for t in graph.initializer} | {""}
    pending, ordered = list(graph.node), []
    while pending:
        ready = [n for n in pending if all(i in available for i in n.input)]
        if not ready:
            raise GantoolError("the fp16 graph has a cycle or a dangling input; please report this")
        for n in ready:
            ordered.append(n)
            available.update(n.output)
        pending = [n for n in pending if n not in ready]
    nodes = [type(n)() for n in ordered]
    for new, old in zip(nodes, ordered):
        new.CopyFrom(old)
    del graph.node[:]
    graph.node.extend(nodes)


VARIANTS: dict[str, tuple[str, Callable[..., None]]] = {
    "fp16": ("model.fp16.onnx", make_fp16),
    "int8": ("model.int8.onnx", make_int8),
}


def pixel_errors(reference: np.ndarray, candidate: np.ndarray) -> dict[str, float]:
    """Mean / max |difference| of images in [0, 1] (and in 8-bit levels)."""
    diff = np.abs(candidate.astype(np.float64) - reference.astype(np.float64))
    return {"mean_pixel_error": float(diff.mean()), "max_pixel_error": float(diff.max()),
            "mean_pixel_error_levels": float(diff.mean() * 255)}
