"""Timing helpers shared by `gantool bench` and the benchmark scripts."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from typing import Any, Callable

from gantool.core.errors import GantoolError

# Peak RSS of the current process (VmHWM); resource.ru_maxrss would include the parent's
# memory at fork time on Linux.
PEAK_RSS = "print('RSS', next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')))"


def median_seconds(fn: Callable[[], Any], calls: int, warmup: int = 20) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def fresh_process(code: str, runs: int = 3) -> tuple[float, float]:
    """Median wall time of `python -c code` (interpreter start included) and its median peak RSS (MB).
    `code` must end by printing PEAK_RSS."""
    times, rss = [], []
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise GantoolError(f"cold-start process failed: {last[:200]}")
        rss.append(int(proc.stdout.split("RSS")[-1].split()[0]) / 1024)
    return statistics.median(times), statistics.median(rss)
