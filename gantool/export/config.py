"""ExportConfig: what `gantool export` makes and how strictly it checks it."""

from __future__ import annotations

import math
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from gantool.artifacts import ARTIFACTS, ArtifactKind, groups, variants
from gantool.core.configs import check_finite
from gantool.core.errors import GantoolError

# Opsets the torch.export-based exporter writes faithfully (older ones fall back to 18)
# and that onnxruntime (CPU, and WASM in onnxruntime-web >= 1.20) runs.
OPSET_MIN, OPSET_MAX = 17, 23


@dataclass
class CBudget:
    """The C row's own options: flash and SRAM budgets (`--max-flash`, `--max-sram`), checked in seconds
    from the model's size before any conversion and exactly once the C file is generated. ExportConfig
    carries them as its `c` field, so the manifest records them with the row they belong to."""

    max_flash: Optional[int] = None  # bytes of flash for weights and tables (None: no budget)
    max_sram: Optional[int] = None  # bytes of SRAM for the activation buffers

    def validate(self) -> None:
        for name in ("max_flash", "max_sram"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**40):
                raise GantoolError(f"--{name.replace('_', '-')} must be a positive number of bytes, got {value!r:.40}")


@dataclass
class ExportConfig:
    out_dir: str = "export"
    formats: tuple[str, ...] = ("onnx", "torchscript")  # option groups (gantool.artifacts rows' `group`)
    variants: tuple[str, ...] = ()  # reduced-precision variants of each format that has them: fp16, int8
    opset: int = 18
    verify: bool = True
    atol: float = 1e-4  # fp32 backends vs PyTorch eager, max absolute error on [0, 1] pixels
    max_pixel_error: float = 0.02  # variants: gate on the mean |pixel - fp32 pixel| (pixels in [0, 1])
    max_peak_pixel_error: float = 0.5  # variants: gate on the 99.99th percentile of single-pixel differences
    variant_samples: int = 1000  # seeded samples a variant is verified on
    fid: Optional[bool] = None  # variants: also report the FID change vs fp32 (None: when the test split is found)
    fid_data_dir: Optional[str] = None  # where the reference test split lives [default: the run's data dir]
    max_fid_change: Optional[float] = None  # variants: gate on FID(variant) - FID(fp32) (None: report only)
    calibration_samples: int = 512  # seeded latents whose activations calibrate int8
    seed: int = 0
    c: CBudget = field(default_factory=CBudget)  # the C row's own options (--max-flash, --max-sram)
    force: bool = False  # replace an out_dir holding a different model; remove earlier files not made again

    def validate(self) -> "ExportConfig":
        self.formats, self.variants = tuple(self.formats), tuple(self.variants)
        if not self.formats:
            raise GantoolError("nothing to export: ask for at least one format (--onnx, --torchscript, …)")
        for name, known in (("format", groups()), ("variant", variants())):
            for value in getattr(self, name + "s"):
                if value not in known:
                    raise GantoolError(f"unknown {name} {value!r}; choose from: {', '.join(known)}")
        for v in self.variants:
            if not any(k.variant == v and k.group in self.formats for k in ARTIFACTS.values()):
                makers = sorted({k.group for k in ARTIFACTS.values() if k.variant == v})
                raise GantoolError(
                    f"--{v} variants exist for {', '.join(makers)} files: "
                    f"add one of {', '.join('--' + m for m in makers)}"
                )
        if not OPSET_MIN <= self.opset <= OPSET_MAX:
            raise GantoolError(f"opset {self.opset} is outside the working range {OPSET_MIN}-{OPSET_MAX}")
        check_finite(self, "atol", "max_pixel_error", "max_peak_pixel_error", "max_fid_change")
        for name in ("atol", "max_pixel_error", "max_peak_pixel_error"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise GantoolError(f"{name.replace('_', ' ')} must be a positive number, got {value}")
        if not 1 <= self.variant_samples <= 100_000 or not 1 <= self.calibration_samples <= 100_000:
            raise GantoolError("variant and calibration sample counts must be in 1..100000")
        self.c.validate()
        if not 0 <= self.seed < 2**32:
            raise GantoolError(f"seed must be in 0..{2**32 - 1}, got {self.seed}")
        return self

    def kinds(self) -> list[ArtifactKind]:
        """The table's rows this config asks for, plus the rows they are made from, in table order
        (a row's source always comes earlier in the table)."""
        plain = {k.group for k in ARTIFACTS.values() if k.variant == "fp32"}  # a group of variants only (--c) is
        wanted = {
            k.name
            for k in ARTIFACTS.values()  # made when its group is asked for
            if k.group in self.formats and (k.variant == "fp32" or k.variant in self.variants or k.group not in plain)
        }
        for name in list(wanted):
            source = ARTIFACTS[name].source
            while source is not None:
                wanted.add(source)
                source = ARTIFACTS[source].source
        return [k for k in ARTIFACTS.values() if k.name in wanted]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


BYTES = re.compile(r"([0-9]+)([KM]?)B?", re.ASCII)  # ASCII digits only ("²".isdigit() is True)
MAX_BUDGET = 1 << 40  # 1 TiB: far past any microcontroller; larger is a typo


def parse_bytes(text: Optional[str], option: str) -> Optional[int]:
    """'98304', '96K' or '1M' (K = 1024) -> bytes; None stays None."""
    if text is None:
        return None
    given = str(text)[:40] + ("…" if len(str(text)) > 40 else "")
    m = BYTES.fullmatch(str(text).strip().upper())
    if m is None or not m.group(1).strip("0"):
        raise GantoolError(f"{option} {given!r}: give a positive number of bytes, e.g. 98304, 96K or 1M")
    digits, scale = m.group(1).lstrip("0"), {"K": 1 << 10, "M": 1 << 20, "": 1}[m.group(2)]
    if len(digits) > 15 or int(digits) * scale > MAX_BUDGET:  # the length first: int() of 5,000 digits fails
        raise GantoolError(
            f"{option} {given!r} is over the limit of {MAX_BUDGET >> 40} TiB; give the device's size, e.g. 96K or 1M"
        )
    return int(digits) * scale


def default_export_dir(source: str | os.PathLike) -> Path:
    """RUN_DIR/export for a run dir; the run's export/ for a checkpoint inside checkpoints/."""
    source = Path(source)
    if source.is_dir():
        return source / "export"
    parent = source.parent
    return (parent.parent if parent.name == "checkpoints" else parent) / "export"
