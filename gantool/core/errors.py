"""Error types shared by every part of gantool (torch-free).

A `GantoolError` is a user mistake or bad input: the CLI prints its message on
one line and exits with code 2, without a traceback. It subclasses ValueError so
that API callers can catch it as the standard exception.
"""

from __future__ import annotations


class GantoolError(ValueError):
    """Bad input or a state the user can fix; message names the problem and the fix."""

    exit_code = 2


class GantoolFileNotFoundError(GantoolError, FileNotFoundError):
    """A file or directory the user named does not exist."""


class VerificationError(GantoolError):
    """An exported artifact disagrees with PyTorch, misses its quality gate or changed since
    export; exit code 1 rather than 2."""

    exit_code = 1


def first_line(error: BaseException | str, limit: int = 160) -> str:
    """The first non-empty line of an exception's message (or its type name), at most `limit` chars:
    what a one-line error quotes from a library's multi-line message."""
    text = str(error).strip()
    if not text:
        return type(error).__name__ if isinstance(error, BaseException) else ""
    line = text.splitlines()[0].strip()
    return line if len(line) <= limit else line[: limit - 1] + "…"


# The pip extra that installs a module gantool imports lazily (the artifact table adds its rows' own).
MODULE_EXTRAS = {
    "torch": "train",
    "torchvision": "train",
    "matplotlib": "train",
    "tqdm": "train",
    "mlxtend": "train",
    "onnx": "export",
    "onnxscript": "export",
    "litert_torch": "litert",
    "ai_edge_litert": "litert-runtime",
    "uvicorn": "serve",
    "starlette": "serve",
    "ray": "ray",
}


def extra_for_module(module: str | None) -> str:
    """'train' for torch, 'export' for onnx, …: what `pip install 'gantool[EXTRA]'` needs to name."""
    return MODULE_EXTRAS.get((module or "").split(".")[0], "all")
