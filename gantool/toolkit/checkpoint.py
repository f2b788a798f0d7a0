"""Checkpoints: config + weights + optimizer/RNG state, written atomically.

A checkpoint is a dict of tensors and plain Python values, so it loads with
`torch.load(weights_only=True)`; a pickle that would run code is refused.
"""

from __future__ import annotations

import pickle
import re
from pathlib import Path
from typing import Any

import torch

from gantool import __version__
from gantool.errors import GantoolError, GantoolFileNotFoundError
from gantool.fileio import atomic_path

FORMAT = "gantool-checkpoint"
FORMAT_VERSION = 1


def resolve_checkpoint(path: str | Path) -> Path:
    """A run directory or a checkpoint file -> the checkpoint file to load."""
    path = Path(path)
    if path.is_dir():
        for candidate in (path / "checkpoints" / "last.pt", path / "last.pt"):
            if candidate.is_file():
                return candidate
        raise GantoolError(f"{str(path)!r} is not a gantool run directory (no checkpoints/last.pt in it)")
    if not path.exists():
        raise GantoolFileNotFoundError(f"{str(path)!r} does not exist; pass a run directory or a .pt checkpoint")
    return path


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    """Write `state` to `path` atomically: a crash mid-write leaves the old file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "gantool_version": __version__, **state}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Load and validate a gantool checkpoint (a run dir or a file)."""
    path = resolve_checkpoint(path)
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises many types for a file that is not a checkpoint
        text = str(e)
        found = re.search(r"unsupported global:? (?:GLOBAL )?([\w.]+)", text, re.IGNORECASE)
        if isinstance(e, pickle.UnpicklingError) and found:
            # weights_only refused an object that would import and call code.
            raise GantoolError(
                f"refusing to load {str(path)!r}: it would run code ({found.group(1)}), not just load weights"
            ) from None
        first = text.strip().splitlines()[0] if text.strip() else type(e).__name__
        raise GantoolError(f"{str(path)!r} is not a readable gantool checkpoint ({first[:100]})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise GantoolError(f"{str(path)!r} is not a gantool checkpoint (missing format marker)")
    if int(ckpt.get("format_version", 0)) > FORMAT_VERSION:
        raise GantoolError(
            f"{str(path)!r} was written by a newer gantool ({ckpt.get('gantool_version')}); upgrade gantool"
        )
    for key in ("model_config", "train_config", "generator"):
        if key not in ckpt:
            raise GantoolError(f"{str(path)!r} is an incomplete gantool checkpoint (no {key!r})")
    ckpt["path"] = str(path)
    return ckpt


def load_state(module: torch.nn.Module, state: dict, what: str, arch: str) -> None:
    """load_state_dict with a one-line error when shapes or keys do not match.

    Buffers added after a checkpoint was written (the conditioning `strength`) keep their
    defaults; anything else missing or unexpected means another architecture."""
    try:
        missing, unexpected = module.load_state_dict(state, strict=False)
    except (RuntimeError, KeyError) as e:
        first = str(e).strip().splitlines()[0]
        raise GantoolError(
            f"the checkpoint's {what} weights do not fit architecture {arch!r} ({first[:100]}); "
            "is it from another model?"
        ) from None
    missing = [k for k in missing if not k.endswith(".strength")]
    if missing or unexpected:
        keys = ", ".join((missing + unexpected)[:3])
        raise GantoolError(
            f"the checkpoint's {what} weights do not fit architecture {arch!r} (keys {keys}); is it from another model?"
        )


def generator_from_checkpoint(ckpt: dict[str, Any], prefer_ema: bool = True) -> torch.nn.Module:
    """Rebuild the generator from the config stored beside its weights (eval mode, CPU)."""
    from gantool.toolkit.config import model_config_from_dict
    from gantool.toolkit.models import create_generator

    cfg = model_config_from_dict(ckpt["model_config"])
    generator = create_generator(cfg)
    ema = ckpt.get("ema")
    state = ema["model"] if (prefer_ema and ema) else ckpt["generator"]
    load_state(generator, state, "generator", cfg.arch)
    return generator.eval()
