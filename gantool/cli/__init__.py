"""The `gantool` command line: one module per command group, each only building configs and calling
the Python API. Heavy imports (torch, onnx) happen inside the commands that need them, so
`gantool --help`, `gantool sample` and `gantool info` on an ONNX file never load torch.
"""

from __future__ import annotations

from gantool.cli import export, sample, scale, train  # noqa: F401  (each registers its commands on app)
from gantool.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    from gantool.cli.app import closed_pipe

    try:
        app()
    except BrokenPipeError:  # output written outside a command's error handling (help, tables)
        closed_pipe()
