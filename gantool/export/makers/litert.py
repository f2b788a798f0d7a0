"""Makers for LiteRT (TensorFlow Lite, `.tflite`): fp32 and int8 files converted by litert-torch from
the PyTorch module, run by `ai-edge-litert`'s interpreter (gantool.runtime.litert). Same signature
as every maker: `maker(job, target) -> notes`.

Measured with litert-torch 0.10 and torch 2.14 (conditional DCGAN):
- a dynamic batch does not convert (torch.export's batch symbol reaches the jax bridge as a traced
  value at the label embedding: "Shapes must be 1D sequences of concrete values"; the v2 bridge fails
  at the first view), and resizing a fixed-batch file's input fails in XNNPack's reshape, because
  the batch is baked into the Reshape constants. So files have a fixed batch, TFLITE_BATCH, and
  the runtime runs any n in chunks of it. Batch 1 because that is what a device asks for: a batch-64
  file ran 1,062 img/s against 824 for batch 1 (+29%), but took 60 ms for one image instead of 1.2.
- `enable_x64=True` keeps the label input int64 (by default the converter narrows it to int32).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from typing import Any

import torch

from gantool.core.errors import GantoolError, first_line
from gantool.core.native import quiet_native_stderr
from gantool.export.job import ExportJob, MakerNote, Target
from gantool.export.wrapper import example_inputs

TFLITE_BATCH = 1
NOTE = (
    f"fixed batch {TFLITE_BATCH} (litert-torch bakes the batch into the graph); the runtime runs any n in chunks of it"
)


def export_tflite(job: ExportJob, target: Target) -> MakerNote:
    """fp32 `.tflite`: the inference form of the generator, converted as is."""
    _convert(job.module, job, target)
    return MakerNote(NOTE, {"batch": TFLITE_BATCH})


def export_tflite_int8(job: ExportJob, target: Target) -> MakerNote:
    """Static int8 (PT2E with litert-torch's quantizer: per-channel symmetric weights, int8
    activations, the latent input quantized), calibrated on the same seeded latents as the ONNX
    int8 file."""
    with quiet_native_stderr():
        from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config
        from litert_torch.quantize.quant_config import QuantConfig
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    quantizer = PT2EQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    inputs = _inputs(job)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prepared = prepare_pt2e(torch.export.export(job.module, inputs).module(), quantizer)
        n, feeds = job.cfg.calibration_samples, job.calibration_feeds()
        values = [torch.from_numpy(v) for v in feeds.values()]
        with torch.no_grad():
            for i in range(0, n - TFLITE_BATCH + 1, TFLITE_BATCH):  # the traced graph's own batch
                prepared(*(v[i : i + TFLITE_BATCH] for v in values))
        converted = convert_pt2e(prepared, fold_quantize=False)
    _convert(converted, job, target, quant_config=QuantConfig(pt2e_quantizer=quantizer))
    return MakerNote(NOTE + "; int8 weights and activations (PT2E, per-channel weights)", {"batch": TFLITE_BATCH})


def _inputs(job: ExportJob) -> tuple[torch.Tensor, ...]:
    return example_inputs(job.metadata["latent_dim"], job.metadata["num_classes"], batch=TFLITE_BATCH)


def _convert(module: torch.nn.Module, job: ExportJob, target: Target, **options: Any) -> None:
    # The converter narrates on stdout and TensorFlow's C++ logging on fd 2; gantool prints one line.
    with quiet_native_stderr(), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import litert_torch

        try:
            edge = litert_torch.convert(module, _inputs(job), enable_x64=True, **options)
            edge.export(str(target.path))
        except Exception as e:  # the converter raises many kinds (jax, MLIR, torch.export)
            raise GantoolError(f"litert-torch could not convert the model to .tflite ({first_line(e)})") from None
