"""Assessment of exported or trained generators, above the exporter: quality (`evaluate`) and speed
(`bench`), both on any artifact through `gantool.artifacts.open_generator`.

    from gantool.assess import EvalConfig, evaluate, BenchConfig, bench
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gantool.core.lazy import lazy_getattr

_EXPORTS = {
    "EvalConfig": "gantool.assess.configs",
    "MAX_N": "gantool.assess.configs",
    "evaluate": "gantool.assess.quality",
    "format_table": "gantool.assess.quality",
    "BenchConfig": "gantool.assess.configs",
    "bench": "gantool.assess.speed",
    "markdown": "gantool.assess.speed",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from gantool.assess.configs import MAX_N, BenchConfig, EvalConfig
    from gantool.assess.quality import evaluate, format_table
    from gantool.assess.speed import bench, markdown

__getattr__ = lazy_getattr(__name__, _EXPORTS)
