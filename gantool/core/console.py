"""Progress notes of long API calls (export, bench, feature-net training).

They go to stdout: stderr carries only warnings and the CLI's one-line errors, so a failing
command prints exactly one line there.
"""

from __future__ import annotations

from typing import Sequence


def say(progress: bool, msg: str) -> None:
    if progress:
        print(f"… {msg}", flush=True)


def columns(rows: Sequence[tuple[str, ...]]) -> str:
    """Left-aligned columns as wide as their longest cell, two spaces apart: no value runs into the next."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip() for r in rows)


class Progress:
    """A progress line for long loops on stdout (with the notes above): redrawn in place on a terminal
    (at most 4 times a second), a plain line every 10% otherwise (logs, CI). Silent when `enabled` is False."""

    def __init__(self, total: int, what: str, enabled: bool = True, unit: str = "images") -> None:
        import sys
        import time

        self.total, self.what, self.unit, self.enabled = total, what, unit, enabled
        self.done, self._clock, self._stream = 0, time.monotonic, sys.stdout
        self._start = self._last = self._clock()
        self._tty = enabled and self._stream.isatty()
        self._next_decile = 1

    def advance(self, count: int) -> None:
        self.done += count
        if not self.enabled:
            return
        now = self._clock()
        if self._tty and (now - self._last >= 0.25 or self.done >= self.total):
            self._last = now
            self._stream.write("\r" + self.line() + "\033[K")
            self._stream.flush()
        elif not self._tty and self.done * 10 >= self._next_decile * self.total:
            self._next_decile = self.done * 10 // self.total + 1
            print(self.line(), file=self._stream, flush=True)

    def line(self) -> str:
        elapsed = max(self._clock() - self._start, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        pct = 100.0 * self.done / max(self.total, 1)
        return (
            f"{self.what}: {self.done:,}/{self.total:,} {self.unit} ({pct:.0f}%), {rate:,.0f} {self.unit}/s, "
            f"{int(eta) // 60}:{int(eta) % 60:02d} left"
        )

    def close(self) -> None:
        if self._tty:
            self._stream.write("\n")
            self._stream.flush()
