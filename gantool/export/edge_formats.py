"""Makers for the edge formats: torch.export (.pt2), ExecuTorch (.pte, fp32 and int8, XNNPACK),
onnxruntime's mobile format (.ort) and OpenVINO IR (.xml + .bin). Same signature as every maker
(gantool.export.formats): `maker(job, target) -> notes`.

Formats whose container has no place for gantool's metadata (.pte, OpenVINO IR) say so in their
row (metadata="sidecar"): the exporter writes `<file>.gantool.json` beside them, not the maker.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Iterator

import torch

from gantool.core.errors import GantoolError, first_line
from gantool.core.native import quiet_native_stderr
from gantool.export.formats import ExportJob, Target, dynamic_batch, set_onnx_metadata
from gantool.export.wrapper import example_inputs
from gantool.runtime.latents import seeded_inputs
from gantool.runtime.metadata import TS_EXTRA_FILE

EXECUTORCH_MAX_BATCH = 256  # ExecuTorch plans memory for the largest batch: 256 rows; larger N runs in chunks
# torch 2.14 + executorch 1.5: traced at batch 2, the batch symbol's upper bound came out as 15 for
# the conditional dcgan (inputs beyond it were refused at run time); traced at 16 it is the Dim's max.
EXECUTORCH_TRACE_BATCH = 16
ORT_OPTIMIZATION_LEVEL = "extended"  # "all" would bake this CPU's NCHWc layouts into the file (not portable)


# ----- torch.export ----------------------------------------------------------------------------
def export_pt2(job: ExportJob, target: Target) -> None:
    """`torch.export.save` of the exported program, dynamic batch; loads with `torch.export.load`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.export.export(job.module, job.inputs, dynamic_shapes=dynamic_batch(job.input_names))
    torch.export.save(program, str(target.path), extra_files={TS_EXTRA_FILE: json.dumps(target.metadata)})


# ----- ExecuTorch ------------------------------------------------------------------------------
def _executorch_program(job: ExportJob, module: torch.nn.Module):
    batch = torch.export.Dim("batch", min=1, max=EXECUTORCH_MAX_BATCH)
    inputs = example_inputs(job.metadata["latent_dim"], job.metadata["num_classes"], batch=EXECUTORCH_TRACE_BATCH)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.export.export(module, inputs, dynamic_shapes={n: {0: batch} for n in job.input_names}), inputs


def _lower(program, target: Target) -> dict[str, Any]:
    """XNNPACK-delegate `program`, write the .pte; report what stayed outside the delegate."""
    with warnings.catch_warnings(), quiet_native_stderr():
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
        from executorch.exir import to_edge_transform_and_lower

        warnings.simplefilter("ignore")
        edge = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
        nodes = [n for n in edge.exported_program().graph_module.graph.nodes if n.op == "call_function"]
        outside = sorted(
            {
                getattr(n.target, "__name__", str(n.target))
                for n in nodes
                if "call_delegate" not in str(n.target) and "getitem" not in str(n.target)
            }
        )
        buffer = edge.to_executorch().buffer
    target.path.write_bytes(buffer)
    say = (
        f"{len(outside)} op kind(s) outside the XNNPACK delegate: {', '.join(outside)}"
        + (" (the int64 label lookup: XNNPACK has no gather)" if any("embedding" in o for o in outside) else "")
        if outside
        else "every compute node runs in the XNNPACK delegate"
    )
    return {"outside_delegate": outside, "say": say, "max_batch": EXECUTORCH_MAX_BATCH}


def export_executorch(job: ExportJob, target: Target) -> dict[str, Any]:
    program, _ = _executorch_program(job, job.module)
    return _lower(program, target)


def export_executorch_int8(job: ExportJob, target: Target) -> dict[str, Any]:
    """PT2E static int8 (XNNPACK quantizer: per-channel symmetric weights), calibrated on the same
    seeded latents as the ONNX int8 file, then XNNPACK-delegated."""
    with quiet_native_stderr():
        from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
            XNNPACKQuantizer,
            get_symmetric_quantization_config,
        )
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    program, inputs = _executorch_program(job, job.module)
    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_pt2e(program.module(), quantizer)
        meta, n = job.metadata, job.cfg.calibration_samples
        feeds = seeded_inputs(n, meta["latent_dim"], meta["num_classes"], seed=job.cfg.seed + 1)
        for i in range(0, n, 64):
            prepared(*(torch.from_numpy(v[i : i + 64]) for v in feeds.values()))
        converted = convert_pt2e(prepared)
    program, _ = _executorch_program(job, converted)
    return _lower(program, target)


# ----- onnxruntime mobile format ---------------------------------------------------------------
def export_ort(job: ExportJob, target: Target) -> dict[str, Any]:
    """onnxruntime's converter (in the onnxruntime wheel): model.ort plus the required-operators
    configuration a minimal (reduced-operator) onnxruntime build needs."""
    from onnxruntime.tools.convert_onnx_models_to_ort import OptimizationStyle, convert_onnx_models_to_ort

    config = target.path.with_name(target.kind.companions[0])
    with (
        tempfile.TemporaryDirectory(dir=target.path.parent) as tmp,
        _env("ORT_CONVERT_ONNX_MODELS_TO_ORT_OPTIMIZATION_LEVEL", ORT_OPTIMIZATION_LEVEL),
        quiet_native_stderr(),
    ):
        import onnx

        src, out = Path(tmp) / "model.onnx", Path(tmp) / "out"
        model = onnx.load(str(target.source))
        set_onnx_metadata(model, target.metadata)  # this file's own format in its metadata
        onnx.save(model, str(src))
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # the converter narrates on stdout
                convert_onnx_models_to_ort(src, out, optimization_styles=[OptimizationStyle.Fixed])
        except Exception as e:
            raise GantoolError(f"onnxruntime could not convert the model to .ort ({first_line(e)})") from None
        # Named model[.LEVEL].ort and model.required_operators[.LEVEL].config by the converter.
        os.replace(next(out.glob("*.ort")), target.path)
        os.replace(next(out.glob("*.required_operators*.config")), config)
    ops = [line.strip() for line in config.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return {"optimization_level": ORT_OPTIMIZATION_LEVEL, "required_operators": ops}


@contextlib.contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


# ----- OpenVINO --------------------------------------------------------------------------------
def export_openvino(job: ExportJob, target: Target) -> dict[str, Any]:
    """OpenVINO IR converted from the verified ONNX file, weights kept in fp32 (no fp16 compression)."""
    import openvino as ov

    model = ov.convert_model(str(target.source))
    ov.save_model(model, str(target.path), compress_to_fp16=False)
    return {
        "say": "judged by the pixel/FID gates: OpenVINO's CPU plugin computes in bf16 by default; "
        "verification also runs it with INFERENCE_PRECISION_HINT=f32"
    }
