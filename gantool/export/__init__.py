"""Export (needs torch + onnx): every artifact kind in gantool.artifacts, verified against PyTorch.

from gantool.export import ExportConfig, export, verify
export("runs/my-run", ExportConfig(out_dir="export", variants=("fp16", "int8")))

Rooms: exporter.py (the staging folder, one row after another), job.py (what a maker gets and gives
back), makers/ (one module per format family), c/ (the plain-C export, kernels as C files),
verification/ (the checks, their typed results, `gantool verify`), publish.py (moving an export in),
seeds.py (which seed each use of latents draws from), backends.py (the runtimes that need torch or onnx).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gantool.core.lazy import lazy_getattr

_EXPORTS = {
    "ExportConfig": "gantool.export.config",
    "export": "gantool.export.exporter",
    "verify": "gantool.export.verification.recheck",
    "ExportResult": "gantool.export.exporter",
    "read_metadata": "gantool.export.metadata",
    "VerificationReport": "gantool.export.verification.results",
    "MakerNote": "gantool.export.job",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from gantool.export.config import ExportConfig
    from gantool.export.exporter import ExportResult, export
    from gantool.export.job import MakerNote
    from gantool.export.metadata import read_metadata
    from gantool.export.verification.recheck import verify
    from gantool.export.verification.results import VerificationReport


__getattr__ = lazy_getattr(__name__, _EXPORTS)
