"""The command line's leaf module: the typer app, one-line errors, and defaults read from configs.

Every command module (gantool.cli.train, .export, .sample) imports this one and registers its
commands on `app`; nothing here imports a command module, so there is no import circle.
"""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Annotated, Any, Iterator, Optional

import typer
import typer.core
from typer.core import TyperGroup

from gantool import __version__
from gantool.core.errors import MODULE_EXTRAS, GantoolError, extra_for_module

# Help is plain click text (rich_markup_mode=None below), but typer 0.20 still escapes "[default: …]" for
# rich's HTML export whenever rich is merely installed, which prints "\[default: …]": tell it there is none.
typer.core.HAS_RICH = False

# click's UsageError (typer re-exports only its subclass BadParameter; click is typer's own dependency).
from click.exceptions import UsageError as _UsageError  # noqa: E402


class _OneLineUsageError(_UsageError):
    def show(self, file=None) -> None:
        where = f" (see '{self.ctx.command_path} --help')" if self.ctx is not None else ""
        typer.echo(f"error: {' '.join(self.format_message().split())}{where}", err=True)


class _OneLineErrors(TyperGroup):
    """A bad option value or an unknown option is one line on stderr, exit 2, like gantool's own errors
    (click would print the usage, a hint and a boxed error)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except _UsageError as e:
            if isinstance(e, _OneLineUsageError):
                raise
            raise _OneLineUsageError(e.format_message(), e.ctx) from None


app = typer.Typer(
    cls=_OneLineErrors,
    name="gantool",
    help="Train GAN generators on MNIST-style digits, export them verified, sample them without PyTorch.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def default(cls: Any, name: str) -> Any:
    """A config dataclass field's default: what --help shows, so help never drifts from the code."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            return f.default
    raise KeyError(name)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn user mistakes into one-line errors with a non-zero exit, no traceback."""
    try:
        yield
    except GantoolError as e:
        typer.echo(f"error: {' '.join(str(e).split())}", err=True)
        raise typer.Exit(e.exit_code) from None
    except BrokenPipeError:  # `gantool info | head`: the reader is done, which is no error of the user's
        closed_pipe()
    except PermissionError as e:
        typer.echo(f"error: permission denied: {e.filename or e}; choose a writable location", err=True)
        raise typer.Exit(2) from None
    except OSError as e:  # disk full, a path that is a file, …: one line, never a traceback
        if e.errno is None:
            raise
        where = f" ({e.filename})" if e.filename else ""
        typer.echo(f"error: {e.strerror or e}{where}; check the path and free space, then try again", err=True)
        raise typer.Exit(2) from None
    except ModuleNotFoundError as e:
        if e.name and e.name.split(".")[0] in MODULE_EXTRAS:  # the extra that is enough, not [all]
            typer.echo(
                f"error: this command needs {e.name}; pip install 'gantool[{extra_for_module(e.name)}]'", err=True
            )
            raise typer.Exit(2) from None
        raise


def closed_pipe() -> None:
    """End as `cat` or `git log` do when the reader closes the pipe: silently, by SIGPIPE (shell status
    141). Only here, at the CLI's edge: a server keeps Python's default and sees EPIPE as an error."""
    import os
    import signal
    import sys

    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGPIPE)
    raise SystemExit(0)  # no SIGPIPE on this platform


def typed(ctx: typer.Context) -> dict[str, Any]:
    """The options the user actually gave (not their defaults). Compared by name: typer may
    carry its own copy of click's ParameterSource enum."""
    return {
        k: v
        for k, v in ctx.params.items()
        if getattr(ctx.get_parameter_source(k), "name", "") in ("COMMANDLINE", "ENVIRONMENT")
    }


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gantool {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = None,
) -> None:
    """gantool: train -> export (verified) -> sample, eval, bench."""
