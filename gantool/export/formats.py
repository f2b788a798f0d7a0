"""Export formats as a table: format name -> (file name, one short function).

Each function imports its own backend lazily and writes one file; metadata goes
inside the file. Add a format by adding one function and one row.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from gantool.errors import GantoolError
from gantool.runtime.metadata import METADATA_KEY, TS_EXTRA_FILE


@dataclass
class ExportJob:
    module: torch.nn.Module  # ExportGenerator, eval mode
    inputs: tuple[torch.Tensor, ...]  # example inputs, batch >= 2
    input_names: list[str]  # ["z"] or ["z", "label"]
    opset: int
    metadata: Callable[[str, str, int | None], dict[str, Any]]  # (format, variant, opset) -> dict


def set_onnx_metadata(model, meta: dict[str, Any]) -> None:
    """Store `meta` as JSON under the `gantool` key of the model's metadata_props."""
    for prop in list(model.metadata_props):
        if prop.key == METADATA_KEY:
            model.metadata_props.remove(prop)
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(meta, sort_keys=True)


def export_onnx(job: ExportJob, path: Path) -> None:
    import onnx

    batch = torch.export.Dim("batch", min=1, max=1 << 16)
    # The exporter narrates on stdout and warns about naming; keep the CLI's output clean.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            job.module, job.inputs, str(path), dynamo=True, opset_version=job.opset,
            input_names=job.input_names, output_names=["image"],
            dynamic_shapes={name: {0: batch} for name in job.input_names}, verbose=False,
        )
    model = onnx.load(str(path))
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if opset != job.opset:
        raise GantoolError(f"the exporter wrote opset {opset}, not {job.opset}; choose an opset in the working range")
    set_onnx_metadata(model, job.metadata("onnx", "fp32", job.opset))
    onnx.save(model, str(path))
    onnx.checker.check_model(str(path), full_check=True)  # also runs strict shape inference


def export_torchscript(job: ExportJob, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", torch.jit.TracerWarning)  # a trace that guessed is an error
        warnings.filterwarnings("ignore", category=FutureWarning)  # jit.trace's deprecation notice
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        traced = torch.jit.trace(job.module, job.inputs, check_trace=True)
    meta = json.dumps(job.metadata("torchscript", "fp32", None), sort_keys=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)  # jit.save's deprecation notice
        torch.jit.save(traced, str(path), _extra_files={TS_EXTRA_FILE: meta})


FORMATS: dict[str, tuple[str, Callable[[ExportJob, Path], None]]] = {
    "onnx": ("model.onnx", export_onnx),
    "torchscript": ("model.ts.pt", export_torchscript),
}
