from __future__ import annotations

import pytest

from gantool.assess import MAX_N, EvalConfig
from gantool.core.errors import GantoolError


def test_eval_config_bounds():
    for n in (1, 0, MAX_N + 1):
        with pytest.raises(GantoolError, match="n must be between 2"):
            EvalConfig(n=n).validate()
    with pytest.raises(GantoolError, match="seed must be between 0"):
        EvalConfig(seed=-1).validate()
