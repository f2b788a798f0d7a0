"""Export (needs torch + onnx): every artifact kind in gantool.artifacts, verified against PyTorch.

from gantool.export import ExportConfig, export, verify
export("runs/my-run", ExportConfig(out_dir="export", variants=("fp16", "int8")))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gantool.core.lazy import lazy_getattr

_EXPORTS = {
    "ExportConfig": "gantool.export.config",
    "export": "gantool.export.exporter",
    "verify": "gantool.export.recheck",
    "ExportResult": "gantool.export.exporter",
    "read_metadata": "gantool.export.metadata",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from gantool.export.config import ExportConfig
    from gantool.export.exporter import ExportResult, export
    from gantool.export.metadata import read_metadata
    from gantool.export.recheck import verify


__getattr__ = lazy_getattr(__name__, _EXPORTS)
