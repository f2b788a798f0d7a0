"""Makers of the ONNX family: model.onnx (torch.export-based exporter) and onnxruntime's mobile
format (model.ort + its required-operators config); `save_onnx` is the tail every ONNX maker shares."""

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
from gantool.export.job import ExportJob, MakerNote, Target
from gantool.runtime.metadata import METADATA_KEY

ORT_OPTIMIZATION_LEVEL = "extended"  # "all" would bake this CPU's NCHWc layouts into the file (not portable)


def set_onnx_metadata(model, meta: dict[str, Any]) -> None:
    """Store `meta` as JSON under the `gantool` key of the model's metadata_props."""
    for prop in list(model.metadata_props):
        if prop.key == METADATA_KEY:
            model.metadata_props.remove(prop)
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(meta, sort_keys=True)


def save_onnx(model, path: Path, meta: dict[str, Any]) -> None:
    """The metadata in, the file written, then onnx.checker's full check (strict shape inference too)."""
    import onnx

    set_onnx_metadata(model, meta)
    onnx.save(model, str(path))
    onnx.checker.check_model(str(path), full_check=True)


def dynamic_batch(input_names: list[str]) -> dict[str, dict[int, Any]]:
    """torch.export dynamic shapes: the batch axis of every input, 1..65536."""
    batch = torch.export.Dim("batch", min=1, max=1 << 16)
    return {name: {0: batch} for name in input_names}


def export_onnx(job: ExportJob, target: Target) -> None:
    import onnx

    # The exporter narrates on stdout and warns about naming; keep the CLI's output clean.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            job.module,
            job.inputs,
            str(target.path),
            dynamo=True,
            opset_version=job.cfg.opset,
            input_names=job.input_names,
            output_names=["image"],
            dynamic_shapes=dynamic_batch(job.input_names),
            verbose=False,
            external_data=False,
        )
    model = onnx.load(str(target.path))
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset != job.cfg.opset:
        raise GantoolError(
            f"the exporter wrote opset {opset}, not {job.cfg.opset}; choose an opset in the working range"
        )
    save_onnx(model, target.path, target.metadata)


# ----- onnxruntime mobile format ---------------------------------------------------------------
def export_ort(job: ExportJob, target: Target) -> MakerNote:
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
    return MakerNote(facts={"optimization_level": ORT_OPTIMIZATION_LEVEL, "required_operators": ops})


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
