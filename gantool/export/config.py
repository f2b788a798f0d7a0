"""ExportConfig: what `gantool export` makes and how strictly it checks it."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Optional

from gantool.errors import GantoolError

# Opsets the torch.export-based exporter writes faithfully (older ones fall back to 18)
# and that onnxruntime (CPU, and WASM in onnxruntime-web >= 1.20) runs.
OPSET_MIN, OPSET_MAX = 17, 23
VERIFY_BATCHES = (1, 3, 64)


@dataclass
class ExportConfig:
    out_dir: str = "export"
    onnx: bool = True
    torchscript: bool = True
    opset: int = 18
    fp16: bool = False  # + model.fp16.onnx: float16 weights/compute where onnxruntime has kernels
    int8: bool = False  # + model.int8.onnx: static QDQ, per-channel weights
    verify: bool = True
    atol: float = 1e-4  # fp32 backends vs PyTorch eager, max absolute error on [0, 1] pixels
    max_pixel_error: float = 0.02  # variants: gate on the mean |pixel - fp32 pixel| (pixels in [0, 1])
    max_peak_pixel_error: float = 0.5  # variants: gate on the largest single-pixel difference
    variant_samples: int = 1000  # seeded samples that judge a variant
    fid: Optional[bool] = None  # variants: also report the FID change vs fp32 (None: when the test split is found)
    fid_data_dir: Optional[str] = None  # where the reference test split lives [default: the run's data dir]
    max_fid_change: Optional[float] = None  # variants: gate on FID(variant) - FID(fp32) (None: report only)
    calibration_samples: int = 512  # seeded latents whose activations calibrate int8
    seed: int = 0
    force: bool = False  # replace an out_dir holding a different model

    def validate(self) -> "ExportConfig":
        if not (self.onnx or self.torchscript):
            raise GantoolError("nothing to export: ask for --onnx and/or --torchscript")
        if (self.fp16 or self.int8) and not self.onnx:
            raise GantoolError("--fp16/--int8 variants are ONNX files: add --onnx")
        if not OPSET_MIN <= self.opset <= OPSET_MAX:
            raise GantoolError(f"opset {self.opset} is outside the working range {OPSET_MIN}-{OPSET_MAX}")
        for name in ("atol", "max_pixel_error", "max_peak_pixel_error"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise GantoolError(f"{name.replace('_', ' ')} must be a positive number, got {value}")
        if self.max_fid_change is not None and not math.isfinite(self.max_fid_change):
            raise GantoolError(f"max fid change must be a finite number, got {self.max_fid_change}")
        if self.variant_samples < 1 or self.calibration_samples < 1:
            raise GantoolError("variant and calibration sample counts must be >= 1")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
