"""Makers of PyTorch's own files: TorchScript (model.ts.pt, torch.jit.trace) and torch.export
(model.pt2); gantool's metadata rides inside each zip archive."""

from __future__ import annotations

import json
import warnings

import torch

from gantool.export.job import ExportJob, Target
from gantool.export.makers.onnx import dynamic_batch
from gantool.runtime.metadata import TS_EXTRA_FILE


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


def export_pt2(job: ExportJob, target: Target) -> None:
    """`torch.export.save` of the exported program, dynamic batch; loads with `torch.export.load`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.export.export(job.module, job.inputs, dynamic_shapes=dynamic_batch(job.input_names))
    torch.export.save(program, str(target.path), extra_files={TS_EXTRA_FILE: json.dumps(target.metadata)})
