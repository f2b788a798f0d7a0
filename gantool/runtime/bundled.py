"""The pretrained generator that ships inside the package (torch-free).

A small seeded, conditional generator (see `gantool/runtime/models/README.md` for where it
came from and how to rebuild it): `Sampler()` and `gantool sample` without a model use it.
Its SHA-256 is recorded here and checked before it is opened: an installed file that was altered
or replaced (or is a symbolic link) is refused in one line rather than run.
"""

from __future__ import annotations

from pathlib import Path

from gantool.core.errors import GantoolError, GantoolFileNotFoundError
from gantool.core.fileio import sha256_file

BUNDLED_DIR = Path(__file__).resolve().parent / "models"
# name -> SHA-256 of the file `make pretrained` produced (a new file is a new hash here, on purpose)
BUNDLED = {
    "digits.seeded.fp16.onnx": "f4bcf7f97ca5f4c59c24757056e83ca9f224d2aa602146f2ee89143feb893a32",
    "nano.seeded.int8.onnx": "92c778b0203e1d3c0ebe5db27e80588df8f00baadce14970537e55a0764ff17c",
}
BUNDLED_MODEL = "digits.seeded.fp16.onnx"
# `gantool sample --size SIZE` / `Sampler.bundled(SIZE)`: the bundled model of each size (gantool train --size)
BUNDLED_SIZES = {"base": BUNDLED_MODEL, "nano": "nano.seeded.int8.onnx"}


def bundled_for_size(size: str) -> Path:
    """The bundled model of a size preset (nano: the microcontroller model, also shipped as C)."""
    if not isinstance(size, str) or size not in BUNDLED_SIZES:
        raise GantoolError(f"no bundled model of size {size!r:.40}; gantool ships {', '.join(BUNDLED_SIZES)}")
    return bundled_model_path(BUNDLED_SIZES[size])


def bundled_model_path(name: str = BUNDLED_MODEL) -> Path:
    """The bundled model's path, after checking it is the file gantool shipped."""
    if not isinstance(name, str) or name not in BUNDLED:
        raise GantoolError(f"no bundled model {name!r:.40}; gantool ships {', '.join(BUNDLED)}")
    path = BUNDLED_DIR / name
    if path.is_symlink():
        raise GantoolError(
            f"the bundled model {str(path)!r} is a symbolic link, not the file gantool shipped; reinstall gantool"
        )
    if not path.is_file():
        raise GantoolFileNotFoundError(
            f"the bundled model {str(path)!r} is missing from this install; reinstall gantool or pass a model file"
        )
    if sha256_file(path) != BUNDLED[name]:
        raise GantoolError(
            f"the bundled model {str(path)!r} is not the file gantool shipped (its SHA-256 differs); "
            "reinstall gantool or pass a model file"
        )
    return path


def bundled_models() -> list[Path]:
    return [bundled_model_path(name) for name in BUNDLED]
