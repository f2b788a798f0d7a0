"""One way to open any gantool artifact as a `Generator` (torch is imported only for torch formats).

from gantool.artifacts import open_generator
g = open_generator("export/model.int8.onnx")     # or a run dir, a .pt, .ts.pt, an export dir
pixels = g(z, labels)                            # (N, C, H, W) float32 in [0, 1]
"""

from __future__ import annotations

import os
from importlib.util import find_spec
from typing import Any, Optional

from gantool.artifacts.exportdir import MANIFEST, read_export_dir
from gantool.artifacts.registry import (
    ARTIFACTS,
    BACKENDS,
    CHECKPOINT_SUFFIX,
    artifact_for_file,
    known_suffixes,
    resolve,
)
from gantool.core.errors import GantoolError, GantoolFileNotFoundError, extra_for_module
from gantool.core.fileio import user_path


def open_backend(backend: str, path: str | os.PathLike, **options: Any):
    """Open `path` with one named backend; a missing extra is a one-line error naming it."""
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise GantoolError(f"unknown backend {backend!r:.40}; choose one of: {', '.join(BACKENDS)}")
    b = BACKENDS[backend]
    path = user_path(path, "the model path")
    unknown = sorted(set(options) - set(b.options))
    if unknown:
        raise GantoolError(f"the {backend} backend does not take {', '.join(unknown)}")
    if b.needs is not None and find_spec(b.needs) is None:  # its runtime is imported only when a file opens
        raise GantoolError(f"the {backend} backend needs {b.needs}; pip install 'gantool[{b.extra}]'")
    try:
        opener = resolve(b.opener)
    except ModuleNotFoundError as e:
        extra = b.extra or extra_for_module(e.name)
        raise GantoolError(f"the {backend} backend needs {e.name}; pip install 'gantool[{extra}]'") from None
    return opener(path, **options)


def open_generator(source: str | os.PathLike, backend: Optional[str] = None, **options: Any):
    """Any gantool artifact as a Generator: a run dir or checkpoint (PyTorch eager), an export dir
    (its ONNX file), or an exported file of any kind in the table. torch is imported only for
    torch formats. `backend` picks another verifying backend than the row's first."""
    path = user_path(source, "the model path")
    if backend is not None and not isinstance(backend, str):
        raise GantoolError(f"backend must be a backend's name, got {backend!r:.40}")
    if path.is_dir():
        if not (path / MANIFEST).is_file():
            return open_backend(backend or "pytorch", path, **options)
        path = read_export_dir(path).primary()
    elif not path.exists():
        raise GantoolFileNotFoundError(f"{str(path)!r} does not exist")
    kind = artifact_for_file(path)
    if kind is None:
        if path.suffix == CHECKPOINT_SUFFIX:
            return open_backend(backend or "pytorch", path, **options)
        raise GantoolError(
            f"{str(path)!r} is not a file gantool knows; it opens {known_suffixes()}, run dirs and export dirs"
        )
    if backend is not None and backend not in kind.backends:
        raise GantoolError(f"{path.name} ({kind.name}) runs on {', '.join(kind.backends)}, not {backend!r}")
    return open_backend(backend or kind.backends[0], path, **options)


def open_runtime(path: str | os.PathLike, **options: Any):
    """A file opened by its row's torch-free backend (what the Sampler and `gantool sample` use):
    a one-line error for a file kind that needs torch or an extra runtime."""
    path = user_path(path, "the model path")
    kind = artifact_for_file(path)
    if kind is None or not kind.runtime:
        runtime = ", ".join(sorted({k.suffix for k in ARTIFACTS.values() if k.runtime}))
        what = f"a {kind.name} file (opened by {kind.backends[0]})" if kind else "not a file gantool knows"
        raise GantoolError(f"{str(path)!r} is {what}; the torch-free runtime opens {runtime}")
    return open_backend(kind.backends[0], path, **options)
