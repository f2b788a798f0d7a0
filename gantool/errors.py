"""Error types shared by every part of gantool (torch-free).

A `GantoolError` is a user mistake or bad input: the CLI prints its message on
one line and exits with code 2, without a traceback. It subclasses ValueError so
that API callers can catch it as the standard exception.
"""


class GantoolError(ValueError):
    """Bad input or a state the user can fix; message names the problem and the fix."""

    exit_code = 2


class GantoolFileNotFoundError(GantoolError, FileNotFoundError):
    """A file or directory the user named does not exist."""


class VerificationError(GantoolError):
    """An exported artifact disagrees with PyTorch; exit code 1 rather than 2."""

    exit_code = 1
