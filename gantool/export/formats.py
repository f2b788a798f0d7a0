"""Makers for the artifact table (gantool.artifacts): one function per kind, one signature.

    maker(job: ExportJob, target: Target) -> dict | None

`job` holds what every maker may need (the module to export, example inputs, the config);
`target` says which row is being made, where to write it, the file it is made from (the row's
`source`) and the metadata to store with it. A maker imports its backend lazily, writes
`target.path` (and any companions) and may return notes for the verification report.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import torch

from gantool.artifacts import ArtifactKind
from gantool.core.errors import GantoolError
from gantool.export.config import ExportConfig
from gantool.runtime.metadata import METADATA_KEY, TS_EXTRA_FILE


@dataclass
class ExportJob:
    module: torch.nn.Module  # PixelGenerator of the inference form, eval mode
    inputs: tuple[torch.Tensor, ...]  # example inputs, batch >= 2
    input_names: list[str]  # ["z"] or ["z", "label"]
    cfg: ExportConfig
    metadata: dict[str, Any]  # the fp32 ONNX file's metadata; targets adapt format/variant
    quant_module: Optional[torch.nn.Module] = None  # PixelGenerator of the int8-friendly form, if any
    quant_note: str = ""  # how the int8 file is built, or why it will not be faster


@dataclass
class Target:
    kind: ArtifactKind
    path: Path  # where to write (inside the staging folder)
    source: Optional[Path]  # the file of kind.source, already made and verified
    metadata: dict[str, Any]  # to store in or beside the file


def set_onnx_metadata(model, meta: dict[str, Any]) -> None:
    """Store `meta` as JSON under the `gantool` key of the model's metadata_props."""
    for prop in list(model.metadata_props):
        if prop.key == METADATA_KEY:
            model.metadata_props.remove(prop)
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(meta, sort_keys=True)


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
    set_onnx_metadata(model, target.metadata)
    onnx.save(model, str(target.path))
    onnx.checker.check_model(str(target.path), full_check=True)  # also runs strict shape inference


def export_torchscript(job: ExportJob, target: Target) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", torch.jit.TracerWarning)  # a trace that guessed is an error
        warnings.filterwarnings("ignore", category=FutureWarning)  # jit.trace's deprecation notice
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        traced = torch.jit.trace(job.module, job.inputs, check_trace=True)
    meta = json.dumps({**target.metadata, "opset": None}, sort_keys=True)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)  # jit.save's deprecation notice
        torch.jit.save(traced, str(target.path), _extra_files={TS_EXTRA_FILE: meta})
