"""The pretrained generators that ship inside the package (torch-free).

Small seeded, conditional generators (see `gantool/runtime/models/README.md` for where they came from
and how to rebuild them): `Sampler()` and `gantool sample` without a model use the base one. Their
SHA-256 values are in `models/manifest.json` (written by `make pretrained` / `make pretrained-nano`
through `.ci/record_bundled.py`) and checked before a file is opened: an installed file that was
altered or replaced (or is a symbolic link) is refused in one line rather than run.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from gantool.core.errors import GantoolError, GantoolFileNotFoundError
from gantool.core.fileio import sha256_file

BUNDLED_DIR = Path(__file__).resolve().parent / "models"
MANIFEST = BUNDLED_DIR / "manifest.json"
BUNDLED_MODEL = "digits.seeded.fp16.onnx"  # what Sampler() opens


@dataclass(frozen=True)
class BundledModel:
    name: str  # the file in models/
    size: str  # the `gantool train --size` preset it was trained at: base, nano, …
    sha256: str


@functools.lru_cache(maxsize=1)
def bundled_table() -> dict[str, BundledModel]:
    """models/manifest.json, validated once: {file name: BundledModel}."""
    broken = f"the bundled models' manifest {str(MANIFEST)!r} is missing or malformed; reinstall gantool"
    try:
        data = json.loads(MANIFEST.read_text(encoding="utf-8"))
        entries = data["models"]
        table = {
            name: BundledModel(name, str(e["size"]), str(e["sha256"]))
            for name, e in entries.items()
            if isinstance(name, str) and isinstance(e, dict)
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise GantoolError(broken) from None
    ok = all(
        re.fullmatch(r"[A-Za-z0-9_.-]{1,64}\.onnx", m.name) and re.fullmatch(r"[0-9a-f]{64}", m.sha256)
        for m in table.values()
    )
    if not table or len(table) != len(entries) or not ok or BUNDLED_MODEL not in table:
        raise GantoolError(broken)
    return table


def bundled_sizes() -> dict[str, str]:
    """`gantool sample --size SIZE` / `Sampler.bundled(SIZE)`: the bundled model of each size."""
    return {m.size: m.name for m in bundled_table().values()}


def bundled_for_size(size: str) -> Path:
    """The bundled model of a size preset (nano: the microcontroller model, also shipped as C)."""
    sizes = bundled_sizes()
    if not isinstance(size, str) or size not in sizes:
        raise GantoolError(f"no bundled model of size {size!r:.40}; gantool ships {', '.join(sizes)}")
    return bundled_model_path(sizes[size])


def bundled_model_path(name: str = BUNDLED_MODEL) -> Path:
    """The bundled model's path, after checking it is the file gantool shipped."""
    table = bundled_table()
    if not isinstance(name, str) or name not in table:
        raise GantoolError(f"no bundled model {name!r:.40}; gantool ships {', '.join(table)}")
    path = BUNDLED_DIR / name
    if path.is_symlink():
        raise GantoolError(
            f"the bundled model {str(path)!r} is a symbolic link, not the file gantool shipped; reinstall gantool"
        )
    if not path.is_file():
        raise GantoolFileNotFoundError(
            f"the bundled model {str(path)!r} is missing from this install; reinstall gantool or pass a model file"
        )
    if sha256_file(path) != table[name].sha256:
        raise GantoolError(
            f"the bundled model {str(path)!r} is not the file gantool shipped (its SHA-256 differs); "
            "reinstall gantool or pass a model file"
        )
    return path


def bundled_models() -> list[Path]:
    return [bundled_model_path(name) for name in bundled_table()]
