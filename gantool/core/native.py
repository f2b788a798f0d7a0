"""Quiet native libraries: C++ runtimes (ExecuTorch, LiteRT, TensorFlow's logging) write notes
straight to file descriptor 2, which would break the CLI's rule that a failing command prints
exactly one line on stderr."""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Iterator

# TensorFlow-style C++ logging (LiteRT's converter and interpreter): errors only, no oneDNN banner. Set
# in the process's environment on first use (the libraries read it when they load), unless already set.
NATIVE_LOG_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silence C++ log lines written to fd 2 (ExecuTorch's cpuinfo notes, LiteRT's "Created XNNPACK
    delegate") and the deprecation warning torch logs when torchao registers an Enum at import, so
    gantool's own output stays clean; Python errors still propagate."""
    pytree = logging.getLogger("torch.utils._pytree")
    was_disabled, pytree.disabled = pytree.disabled, True
    for name, value in NATIVE_LOG_ENV.items():
        os.environ.setdefault(name, value)
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        saved = None
    try:
        if saved is None:
            yield
            return
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        pytree.disabled = was_disabled
        if saved is not None:
            os.dup2(saved, 2)
            os.close(saved)
