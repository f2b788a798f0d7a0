"""Checkpoints: config + weights + optimizer/RNG state, written atomically, read as a typed `Checkpoint`.

On disk a checkpoint is a dict of tensors and plain Python values, so it loads with
`torch.load(weights_only=True)`; a pickle that would run code is refused and named.
"""

from __future__ import annotations

import pickle
import pickletools
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import torch

from gantool import __version__
from gantool.core.configs import from_dict
from gantool.core.errors import GantoolError, GantoolFileNotFoundError, first_line
from gantool.core.fileio import atomic_path, sha256_file
from gantool.toolkit.config import ModelConfig, TrainConfig

FORMAT = "gantool-checkpoint"
FORMAT_VERSION = 1
MAX_PICKLE_SCAN = 64 << 20  # bytes of pickle inspected to name the callable a refused file would run
# What a training checkpoint must hold to be resumed, and the type of each part.
RESUME_PARTS = {
    "generator": dict,
    "discriminator": dict,
    "opt_g": dict,
    "opt_d": dict,
    "rng": dict,
    "epoch": int,
    "batch_in_epoch": int,
    "step": int,
    "elapsed_s": (int, float),
    "history": list,
    "loss_log": list,
}


@dataclass
class Checkpoint:
    path: Path
    model: ModelConfig
    train: TrainConfig
    state: dict[str, Any]  # generator, discriminator, ema, opt_g, opt_d, rng, epoch, step, history, …
    _sha256: Optional[str] = field(default=None, repr=False)

    @property
    def conditional(self) -> bool:
        return self.model.conditional

    @property
    def step(self) -> int:
        return int(self.state.get("step", 0))

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = sha256_file(self.path)
        return self._sha256

    def require(self, parts: dict[str, Any], purpose: str) -> None:
        """Each named part is present with the right type, or a one-line error naming it."""
        for key, kind in parts.items():
            if not isinstance(self.state.get(key), kind) or isinstance(self.state.get(key), bool):
                raise GantoolError(
                    f"{str(self.path)!r} cannot be used to {purpose}: its {key!r} is missing or "
                    "malformed; use another checkpoint"
                )

    def generator(self, prefer_ema: bool = True) -> torch.nn.Module:
        """Rebuild the generator from the config stored beside its weights (eval mode, CPU)."""
        from gantool.toolkit.models import create_generator

        generator = create_generator(self.model)
        ema = self.state.get("ema")
        state = ema.get("model") if (prefer_ema and isinstance(ema, dict)) else self.state.get("generator")
        load_state(generator, state, "generator", self.model.arch)
        return generator.eval()


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
    if not path.is_file():
        raise GantoolError(f"{str(path)!r} is not a file; pass a run directory or a .pt checkpoint")
    return path


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    """Write `state` to `path` atomically: a crash mid-write leaves the old file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "gantool_version": __version__, **state}
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Load and validate a gantool checkpoint (a run dir or a file)."""
    path = resolve_checkpoint(path)
    where = repr(str(path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. torch's note on a pickle protocol it does not expect
            raw = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        # weights_only refused something; say what, whatever torch's wording.
        callable_name = code_in_pickle(path)
        if callable_name:
            raise GantoolError(
                f"refusing to load {where}: it would run code ({callable_name}), not just load weights"
            ) from None
        raise GantoolError(
            f"{where} is not a readable gantool checkpoint (it holds objects other than tensors and plain values)"
        ) from None
    except Exception as e:  # torch raises many types for a file that is not a checkpoint
        raise GantoolError(f"{where} is not a readable gantool checkpoint ({first_line(e, 100)})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise GantoolError(f"{where} is not a gantool checkpoint (missing format marker)")
    version = raw.get("format_version", 0)
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise GantoolError(
            f"{where} was written by a newer gantool ({str(raw.get('gantool_version'))[:20]}); upgrade gantool"
        )
    if not isinstance(raw.get("generator"), dict):
        raise GantoolError(f"{where} is an incomplete gantool checkpoint (no 'generator')")
    for key in ("model_config", "train_config"):
        if not isinstance(raw.get(key), dict):
            raise GantoolError(f"{where} is an incomplete gantool checkpoint (no {key!r})")
    train = from_dict(TrainConfig, {**raw["train_config"], "model": raw["model_config"]}, f"{where}: config")
    state = {k: v for k, v in raw.items() if k not in ("model_config", "train_config", "format", "format_version")}
    return Checkpoint(path, train.model, train, state)


def code_in_pickle(path: Path) -> Optional[str]:
    """The first callable outside torch's own that a checkpoint's pickle would import, or None.

    Reads the pickle opcodes (never executes them): GLOBAL carries "module name"; STACK_GLOBAL
    takes the two strings pushed before it. Works for zip checkpoints (`*/data.pkl`) and plain pickles."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                member = next((i for i in zf.infolist() if i.filename.endswith("data.pkl")), None)
                data = zf.read(member)[:MAX_PICKLE_SCAN] if member and member.file_size <= MAX_PICKLE_SCAN else b""
        else:
            with open(path, "rb") as f:
                data = f.read(MAX_PICKLE_SCAN)
    except (OSError, zipfile.BadZipFile, RuntimeError):
        return None
    strings: list[str] = []
    try:
        for op, arg, _ in pickletools.genops(data):
            if op.name == "GLOBAL":
                name = str(arg).replace(" ", ".")
            elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
                name = f"{strings[-2]}.{strings[-1]}"
            else:
                if isinstance(arg, str):
                    strings.append(arg)
                continue
            if name.split(".")[0] not in ("torch", "collections", "builtins", "_codecs"):
                return name
    except Exception:  # a damaged pickle: nothing more to say
        return None
    return None


def load_state(module: torch.nn.Module, state: Any, what: str, arch: str) -> None:
    """load_state_dict with a one-line error when shapes or keys do not match.

    Buffers added after a checkpoint was written (the conditioning `strength`) keep their
    defaults; anything else missing or unexpected means another architecture."""
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise GantoolError(f"the checkpoint's {what} weights are missing or malformed")
    try:
        missing, unexpected = module.load_state_dict(state, strict=False)
    except (RuntimeError, KeyError, TypeError) as e:
        raise GantoolError(
            f"the checkpoint's {what} weights do not fit architecture {arch!r} ({first_line(e, 100)}); "
            "is it from another model?"
        ) from None
    missing = [k for k in missing if not k.endswith(".strength")]
    if missing or unexpected:
        keys = ", ".join((missing + unexpected)[:3])
        raise GantoolError(
            f"the checkpoint's {what} weights do not fit architecture {arch!r} (keys {keys}); is it from another model?"
        )
    bad = [k for k, v in module.state_dict().items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise GantoolError(
            f"the checkpoint's {what} weights hold NaN or infinite values ({bad[0]}); use an earlier checkpoint"
        )
