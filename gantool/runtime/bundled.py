"""The pretrained generator that ships inside the package (torch-free).

A small seeded, conditional generator (see `gantool/runtime/models/README.md` for where it
came from and how to rebuild it): `Sampler()` and `gantool sample` without a model use it.
"""

from __future__ import annotations

from pathlib import Path

from gantool.core.errors import GantoolFileNotFoundError

BUNDLED_DIR = Path(__file__).resolve().parent / "models"
BUNDLED_MODEL = "digits.seeded.fp16.onnx"


def bundled_model_path() -> Path:
    path = BUNDLED_DIR / BUNDLED_MODEL
    if not path.is_file():
        raise GantoolFileNotFoundError(
            f"the bundled model {str(path)!r} is missing from this install; reinstall gantool or pass a model file")
    return path
