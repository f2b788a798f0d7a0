"""Progress notes of long API calls (export, bench, feature-net training).

They go to stdout: stderr carries only warnings and the CLI's one-line errors, so a failing
command prints exactly one line there.
"""

from __future__ import annotations


def say(progress: bool, msg: str) -> None:
    if progress:
        print(f"… {msg}", flush=True)
