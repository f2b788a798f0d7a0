"""`from_dict`: rebuild any config dataclass from its `asdict()` form, checking every field's type.

Shared by TrainConfig/ModelConfig (checkpoints, config.json), ExportConfig (manifests) and the
others. Keys a newer or older gantool wrote are ignored; a value of the wrong type — from a
damaged or hostile file — is a one-line GantoolError naming the field.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any, TypeVar

from gantool.core.errors import GantoolError

T = TypeVar("T")


def from_dict(cls: type[T], data: Any, where: str = "config") -> T:
    if not isinstance(data, dict):
        raise GantoolError(f"{where} must be a JSON object / dict, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(typing.cast(Any, cls)):  # T is a dataclass: callers pass config classes
        if f.name in data:
            kwargs[f.name] = _convert(hints[f.name], data[f.name], f"{where} field {f.name!r}")
    return cls(**kwargs)


def _convert(tp: Any, value: Any, what: str) -> Any:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union:
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _convert(option, value, what)
            except GantoolError as e:
                errors.append(e)
        raise errors[0]
    if dataclasses.is_dataclass(tp):
        return from_dict(typing.cast(Any, tp), value, what)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise GantoolError(f"{what} must be a list, got {_short(value)}")
        item = args[0] if args else Any
        items = [_convert(item, v, what) for v in value]
        return tuple(items) if origin is tuple else items
    if tp is bool:
        if not isinstance(value, bool):
            raise GantoolError(f"{what} must be true or false, got {_short(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise GantoolError(f"{what} must be an integer, got {_short(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise GantoolError(f"{what} must be a number, got {_short(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise GantoolError(f"{what} must be a string, got {_short(value)}")
        return value
    return value


def check_finite(cfg: Any, *names: str) -> None:
    """Every named float field is a finite number (NaN and inf pass `x > 0`-style checks silently)."""
    for name in names:
        value = getattr(cfg, name)
        if value is not None and not (isinstance(value, (int, float)) and math.isfinite(value)):
            raise GantoolError(f"{name.replace('_', ' ')} must be a finite number, got {value}")


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 50 else text[:47] + "..."
