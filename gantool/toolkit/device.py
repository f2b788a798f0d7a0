"""Device selection: cuda > mps > cpu, or what the user names."""

from __future__ import annotations

import torch

from gantool.core.errors import GantoolError


def resolve_device(name: str = "auto", local_rank: int = 0) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank)
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise GantoolError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GantoolError("--device cuda was asked for but no CUDA GPU is available; use --device auto")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise GantoolError("--device mps was asked for but MPS is not available; use --device auto")
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", local_rank)
    return device
