"""Reduced-precision ONNX variants made from the verified fp32 file.

fp16: weights and compute in float16 wherever onnxruntime's CPU provider has a
float16 kernel; ops without one stay float32 behind Cast nodes (found by trying
to load the model). Inputs and outputs stay float32.

int8: static QDQ quantisation (per-tensor int8 weights, per-channel for narrow models, uint8 activations:
VNNI's u8 x s8), calibrated (MinMax) on activations from seeded latents, built from the architecture's
quantization form when it has one (DCGAN: ConvTranspose -> sub-pixel Conv, since onnxruntime has
no int8 ConvTranspose), which is first checked equal to the fp32 file; its quantized sub-pixel
convolutions are then run as four 2x2 phase convolutions each (gantool.export.makers.int8_phase: no zero
taps, no DepthToSpace). Weights are 7-bit (-64..64,
`reduce_range`): onnxruntime's u8 x s8 kernels on x86 CPUs without VNNI (AVX2 only) add products in
pairs into int16 (VPMADDUBSW) and saturate past 32767; with |w| <= 64 a pair is at most
2 * 255 * 64 = 32640, so the file computes the same integers on every CPU (8-bit weights moved
pixels by up to 139 levels there: benchmarks/results/int8_search.md). The options were chosen by
measurement (benchmarks/results/int8_search.md): per-tensor weights cut batch-1 latency by ~15% over
per-channel at a mean pixel error still under 0.001; QOperator, s8 activations, entropy or
percentile calibration gave no better speed. A graph of matrix products only (the mlp) is
quantized dynamically instead (faster there, and as exact).
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from gantool.core.errors import GantoolError, first_line
from gantool.export.job import ExportJob, MakerNote, Target
from gantool.export.makers.int8_phase import to_phase_form
from gantool.export.makers.onnx import save_onnx
from gantool.runtime.session import open_session

QUANTIZED_OPS = ["Conv", "ConvTranspose", "Gemm", "MatMul", "DepthToSpace"]  # DepthToSpace: moves uint8, no DQ/Q


def make_fp16(job: ExportJob, target: Target) -> MakerNote:
    import onnx
    from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16

    src, dst, meta = target.source_file(), target.path, target.metadata
    model = onnx.load(str(src))
    blocked: set[str] = set()
    for _ in range(32):  # each round blocks one op type that has no fp16 CPU kernel
        half = convert_float_to_float16(
            model, keep_io_types=True, op_block_list=list(DEFAULT_OP_BLOCK_LIST) + sorted(blocked)
        )
        try:
            open_session(half.SerializeToString())
            break
        except GantoolError as e:  # "Could not find an implementation for ConvTranspose(11) node ..."
            found = re.search(r"implementation for (\w+)\(", str(e))
            if not found or found.group(1) in blocked:
                raise GantoolError(f"onnxruntime cannot run the fp16 model: {first_line(e)}") from None
            blocked.add(found.group(1))
    _toposort(half.graph)  # the converter appends its input Casts at the end of the node list
    save_onnx(half, dst, {**meta, "fp32_ops": sorted(blocked)})
    return MakerNote(facts={"fp32_ops": sorted(blocked)})


def make_int8(job: ExportJob, target: Target) -> MakerNote:
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    src, dst, meta = target.source_file(), target.path, target.metadata
    calibration, feeds = job.cfg.calibration_samples, job.calibration_feeds()
    note = MakerNote(job.quant_note or None, {"quantized_ops": QUANTIZED_OPS})

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            chunks = range(0, calibration, 64)
            self._it = iter([{k: v[i : i + 64] for k, v in feeds.items()} for i in chunks])

        def get_next(self):
            return next(self._it, None)

    if job.quant_module is None and _matmul_only(src):
        return _make_dynamic_int8(src, dst, meta)
    with tempfile.TemporaryDirectory(dir=dst.parent) as tmp:
        if job.quant_module is not None:
            src = _quantization_source(job, target, Path(tmp) / "form.onnx")
            note.facts["built_from"] = "sub-pixel form (checked equal to model.onnx)"
        prepped = Path(tmp) / "prepped.onnx"
        quant_pre_process(str(src), str(prepped))
        quantize_static(
            str(prepped),
            str(dst),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=per_channel(meta),
            weight_type=QuantType.QInt8,
            activation_type=QuantType.QUInt8,
            reduce_range=True,
            op_types_to_quantize=QUANTIZED_OPS,
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
        )
    model = onnx.load(str(dst))
    check_weight_range(model)
    if job.quant_module is not None and to_phase_form(model):
        note.facts["built_from"] = "sub-pixel form (checked equal to model.onnx), run as 2x2 phase convolutions"
    save_onnx(model, dst, {**meta, "quantized_ops": QUANTIZED_OPS})
    return note


PER_CHANNEL_MAX_WIDTH = 16
WEIGHT_LIMIT = 64  # |int8 weight| <= 64: no u8 x s8 pair sum past int16 on AVX2 (module docstring)


def check_weight_range(model) -> None:
    """Refuse an int8 file whose weights could saturate onnxruntime's AVX2 kernels (its pixels would
    then depend on the CPU): every int8 initializer within -64..64."""
    from onnx import TensorProto, numpy_helper

    for init in model.graph.initializer:
        if init.data_type == TensorProto.INT8:
            worst = int(np.abs(numpy_helper.to_array(init).astype(np.int16)).max(initial=0))
            if worst > WEIGHT_LIMIT:
                import onnxruntime

                raise GantoolError(
                    f"the int8 file's weight {init.name!r} reaches {worst}, past {WEIGHT_LIMIT}, so x86 "
                    f"CPUs without VNNI would saturate it: onnxruntime {onnxruntime.__version__}'s "
                    "quantizer ignored reduce_range; drop --int8 or use another onnxruntime"
                )


def per_channel(meta: dict[str, Any]) -> bool:
    """Per-channel weight scales for narrow models (--size nano / small): with 8-32 channels a layer's
    one scale fits its largest filter and wastes the others' range. Measured on the nano dcgan (width
    8): FID change +0.75 per-tensor vs -0.03 per-channel; the base width keeps per-tensor (faster)."""
    width = (meta.get("model_config") or {}).get("width", 32)
    return isinstance(width, int) and width <= PER_CHANNEL_MAX_WIDTH


def _matmul_only(path: Path) -> bool:
    import onnx

    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    return not ops & {"Conv", "ConvTranspose"} and bool(ops & {"Gemm", "MatMul"})


def _make_dynamic_int8(src: Path, dst: Path, meta: dict[str, Any]) -> MakerNote:
    """A graph of matrix products only (the mlp): int8 weights, activations quantized per call
    (MatMulInteger). Measured faster than static QDQ at batch 1 and 256 (int8_search.md), and as exact."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(src), str(dst), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"], reduce_range=True
    )  # 7-bit weights: no int16 saturation on AVX2 (see the module's docstring)
    model = onnx.load(str(dst))
    check_weight_range(model)
    save_onnx(model, dst, {**meta, "quantized_ops": ["MatMul", "Gemm"], "quantization": "dynamic"})
    return MakerNote(
        "matrix products only: dynamic int8 (int8 weights, activations quantized per call)",
        {"quantized_ops": ["MatMul", "Gemm"]},
    )


def _quantization_source(job: ExportJob, target: Target, path: Path) -> Path:
    """The int8-friendly form as fp32 ONNX, verified equal to the fp32 file (same atol) first."""
    import dataclasses

    from gantool.export.makers.onnx import export_onnx
    from gantool.export.verification.checks import verification_feeds
    from gantool.runtime.metadata import ModelMetadata
    from gantool.runtime.onnx import OnnxGenerator

    assert job.quant_module is not None  # called only when the model has an int8-friendly form
    export_onnx(dataclasses.replace(job, module=job.quant_module), dataclasses.replace(target, path=path))
    form, fp32 = OnnxGenerator(path), OnnxGenerator(target.source_file())
    for feeds in verification_feeds(ModelMetadata.from_dict(target.metadata), 64, job.cfg.seed):
        err = float(np.abs(form(feeds["z"], feeds.get("label")) - fp32(feeds["z"], feeds.get("label"))).max())
        if not err <= job.cfg.atol:
            raise GantoolError(
                f"the int8-friendly form differs from model.onnx by {err:.3g} > atol {job.cfg.atol:g}; "
                "please report this"
            )
    return path


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
    for new, old in zip(nodes, ordered, strict=True):
        new.CopyFrom(old)
    del graph.node[:]
    graph.node.extend(nodes)
