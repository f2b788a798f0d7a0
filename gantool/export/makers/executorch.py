"""Makers of ExecuTorch files (.pte, fp32 and int8, XNNPACK-delegated).

ExecuTorch's container has no place for gantool's metadata: the row says metadata="sidecar" and the
exporter writes `<file>.gantool.json` beside it, not the maker.
"""

from __future__ import annotations

import warnings

import torch

from gantool.core.native import quiet_native_stderr
from gantool.export.job import ExportJob, MakerNote, Target
from gantool.export.wrapper import example_inputs

EXECUTORCH_MAX_BATCH = 256  # ExecuTorch plans memory for the largest batch: 256 rows; larger N runs in chunks
# Traced at a small batch, torch.export narrows the batch symbol's upper bound below the Dim's max (inputs
# beyond it are then refused at run time); traced at 16 the bound stays the Dim's max.
EXECUTORCH_TRACE_BATCH = 16


def _executorch_program(job: ExportJob, module: torch.nn.Module):
    batch = torch.export.Dim("batch", min=1, max=EXECUTORCH_MAX_BATCH)
    inputs = example_inputs(job.metadata["latent_dim"], job.metadata["num_classes"], batch=EXECUTORCH_TRACE_BATCH)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.export.export(module, inputs, dynamic_shapes={n: {0: batch} for n in job.input_names}), inputs


def _lower(program, target: Target) -> MakerNote:
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
    return MakerNote(say, {"outside_delegate": outside, "max_batch": EXECUTORCH_MAX_BATCH})


def export_executorch(job: ExportJob, target: Target) -> MakerNote:
    program, _ = _executorch_program(job, job.module)
    return _lower(program, target)


def export_executorch_int8(job: ExportJob, target: Target) -> MakerNote:
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
        feeds = job.calibration_feeds()
        for i in range(0, job.cfg.calibration_samples, 64):
            prepared(*(torch.from_numpy(v[i : i + 64]) for v in feeds.values()))
        converted = convert_pt2e(prepared)
    program, _ = _executorch_program(job, converted)
    return _lower(program, target)
