"""Progress notes of long API calls (export, bench, feature-net training).

They go to stdout: stderr carries only warnings and the CLI's one-line errors, so a failing
command prints exactly one line there.
"""

from __future__ import annotations


def say(progress: bool, msg: str) -> None:
    if progress:
        print(f"… {msg}", flush=True)


def columns(rows: list[tuple[str, ...]]) -> str:
    """Left-aligned columns as wide as their longest cell, two spaces apart: no value runs into the next."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
