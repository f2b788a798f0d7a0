"""Maker of OpenVINO IR (model.xml + model.bin), converted from the verified ONNX file; metadata in a
sidecar the exporter writes (the row says metadata="sidecar")."""

from __future__ import annotations

from gantool.export.job import ExportJob, MakerNote, Target


def export_openvino(job: ExportJob, target: Target) -> MakerNote:
    """OpenVINO IR converted from the verified ONNX file, weights kept in fp32 (no fp16 compression)."""
    import openvino as ov

    model = ov.convert_model(str(target.source))
    ov.save_model(model, str(target.path), compress_to_fp16=False)
    return MakerNote(
        "verified by the pixel/FID gates: OpenVINO's CPU plugin computes in bf16 by default; "
        "verification also runs it with INFERENCE_PRECISION_HINT=f32"
    )


def export_openvino_int8(job: ExportJob, target: Target) -> MakerNote:
    """NNCF post-training quantization of the verified IR (8-bit weights and activations, the CPU
    plugin's int8 kernels), calibrated on the same seeded latents as the other int8 files."""
    import contextlib
    import io
    import logging

    import nncf
    import openvino as ov

    nncf.set_log_level(logging.ERROR)
    model = ov.Core().read_model(str(target.source_file()))
    feeds = job.calibration_feeds()
    n = job.cfg.calibration_samples
    items = [{name: values[i : i + 1] for name, values in feeds.items()} for i in range(n)]  # batch 1 each
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):  # progress bars
        quantized = nncf.quantize(model, nncf.Dataset(items), subset_size=n)
    ov.save_model(quantized, str(target.path), compress_to_fp16=False)
    return MakerNote(facts={"quantization": "NNCF post-training, 8-bit weights and activations"})
