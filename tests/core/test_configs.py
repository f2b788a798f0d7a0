"""from_dict: configs rebuilt field by field from untrusted dicts (checkpoints, config.json, manifests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pytest

from gantool.core.configs import check_finite, from_dict
from gantool.core.errors import GantoolError


@dataclass
class Inner:
    width: int = 4


@dataclass
class Outer:
    name: str = "x"
    rate: float = 0.5
    flag: bool = False
    size: Optional[int] = None
    dims: tuple[int, ...] = (1, 2)
    inner: Inner = field(default_factory=Inner)


def test_round_trip_and_conversions():
    got = from_dict(
        Outer,
        {
            "name": "y",
            "rate": 2,
            "flag": True,
            "size": None,
            "dims": [3, 4],
            "inner": {"width": 8},
            "from_a_newer_version": 1,
        },
    )
    assert got == Outer("y", 2.0, True, None, (3, 4), Inner(8))
    assert isinstance(got.rate, float) and isinstance(got.dims, tuple)
    assert from_dict(Outer, {}) == Outer()  # missing keys keep their defaults


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": 3}, "field 'name' must be a string"),
        ({"rate": "fast"}, "field 'rate' must be a number"),
        ({"rate": True}, "field 'rate' must be a number"),
        ({"flag": 1}, "field 'flag' must be true or false"),
        ({"size": 2.5}, "field 'size' must be an integer"),
        ({"size": False}, "field 'size' must be an integer"),
        ({"dims": 3}, "field 'dims' must be a list"),
        ({"dims": [1, "2"]}, "field 'dims' must be an integer"),
        ({"inner": [1]}, "field 'inner' must be a JSON object"),
        ({"inner": {"width": "8"}}, "field 'width' must be an integer"),
    ],
)
def test_a_wrong_type_is_one_line_naming_the_field(data, message):
    with pytest.raises(GantoolError, match=message) as exc:
        from_dict(Outer, data, "checkpoint config")
    assert str(exc.value).startswith("checkpoint config") and "\n" not in str(exc.value)


def test_not_a_dict():
    with pytest.raises(GantoolError, match="config must be a JSON object / dict, got list"):
        from_dict(Outer, [1])


def test_check_finite():
    check_finite(Outer(rate=1.0), "rate")
    for bad in (float("nan"), float("inf")):
        with pytest.raises(GantoolError, match="rate must be a finite number"):
            check_finite(Outer(rate=bad), "rate")
