"""What this machine can do for training, checked at run time: bf16 units and free CPU cores.

bf16 autocast trains faster than fp32 where the CPU has bf16 units; beside a busy process, OpenMP
threads beyond the free cores spin waiting for the thread the scheduler parked, so training uses as many
threads as there are free cores (figures: benchmarks/results/train_speed.md).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch

from gantool.core.errors import GantoolError
from gantool.toolkit.config import PRECISIONS

CPU_BF16_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of the units oneDNN's bf16 kernels use


def cpu_bf16_units() -> bool:
    """Whether this CPU has bf16 arithmetic units (AVX512-BF16 or AMX-BF16)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    return any(f in flags for f in CPU_BF16_FLAGS)


def resolve_precision(precision: str, device: torch.device) -> str:
    """'bf16' or 'fp32' for this device: auto is bf16 where the device has bf16 units (CUDA; CPUs with
    AVX512-BF16 or AMX), fp32 elsewhere; bf16 asked for on a device without them is a one-line error."""
    if precision not in PRECISIONS:
        raise GantoolError(f"unknown precision {precision!r}; choose one of: {', '.join(PRECISIONS)}")
    has = (device.type == "cuda" and torch.cuda.is_bf16_supported()) or (device.type == "cpu" and cpu_bf16_units())
    if precision == "bf16" and not has:
        what = (
            "this CPU has no bf16 units (AVX512-BF16 or AMX)"
            if device.type == "cpu"
            else f"bf16 autocast is not supported on {device.type}"
        )
        raise GantoolError(f"--precision bf16: {what}; use --precision fp32 (or auto)")
    return "bf16" if precision == "bf16" or (precision == "auto" and has) else "fp32"


CHANNELS_LAST_MIN_BATCH = 128  # below it NHWC lost 14-20% at batch 64 (recipe_search.md)


def resolve_channels_last(
    choice: Optional[bool], precision: str, device: torch.device, batch_size: int, convolutional: bool
) -> bool:
    """Whether training keeps its convolutions' tensors channels_last: the user's choice, else (auto)
    for a convolutional model in bf16 on a CPU at batch >= 128, the case where it measured faster."""
    if not convolutional:
        return False  # no 4-D tensors: the memory format means nothing
    if choice is not None:
        return choice
    return device.type == "cpu" and precision == "bf16" and batch_size >= CHANNELS_LAST_MIN_BATCH


def free_cores(window_s: float = 0.2) -> int:
    """CPU cores left idle by other processes over a short window (/proc/stat), at least 1;
    this process is idle while it measures."""

    def sample() -> Optional[list[int]]:
        try:
            fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        except (OSError, IndexError):
            return None
        return [int(v) for v in fields]

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    a = sample()
    time.sleep(window_s)
    b = sample()
    if a is None or b is None:
        return cores
    total_cores = os.cpu_count() or cores
    delta = [y - x for x, y in zip(a, b, strict=False)]
    total, idle = sum(delta), delta[3] + (delta[4] if len(delta) > 4 else 0)  # idle + iowait
    if total <= 0:
        return cores
    busy = round(total_cores * (1 - idle / total))
    return max(1, min(cores, total_cores - busy))


@dataclass(frozen=True)
class CpuSnapshot:
    """/proc/stat's busy and total jiffies, this process's CPU seconds and the wall clock, at one moment."""

    busy: int
    total: int
    own_s: float
    wall: float


def cpu_snapshot() -> Optional[CpuSnapshot]:
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, IndexError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return CpuSnapshot(sum(fields) - idle, sum(fields), time.process_time(), time.perf_counter())


def free_cores_during(since: Optional[CpuSnapshot]) -> Optional[int]:
    """The cores other processes left free since `since` (an epoch), this process's own work taken out:
    measured while training runs, at no cost. None when it cannot be told (no /proc/stat, too short)."""
    now = cpu_snapshot()
    if since is None or now is None or now.total <= since.total or now.wall - since.wall < 0.5:
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    total_cores = os.cpu_count() or cores
    jiffy_s = (now.wall - since.wall) * total_cores / (now.total - since.total)  # seconds per jiffy, all cores
    others_s = max(0.0, (now.busy - since.busy) * jiffy_s - (now.own_s - since.own_s))
    busy = round(others_s / (now.wall - since.wall))
    return max(1, min(cores, total_cores - busy))


def choose_threads(threads: Optional[int], device: torch.device) -> int:
    """The intra-op thread count training uses: the user's, else (CPU) the free cores; set in torch."""
    n = threads if threads is not None else (free_cores() if device.type == "cpu" else torch.get_num_threads())
    torch.set_num_threads(n)
    return n
