"""Every argument of the public API checked for its type: a wrong kind of value is one GantoolError
line naming it (a ValueError), never a TypeError from deep inside."""

from __future__ import annotations

import pytest

from gantool.artifacts import open_generator, open_runtime
from gantool.core.errors import GantoolError
from gantool.runtime import Sampler
from gantool.runtime.bundled import bundled_model_path

CALLS = {
    "Sampler.bundled(['nano'])": (lambda: Sampler.bundled(["nano"]), "no bundled model of size"),
    "Sampler.bundled(None)": (lambda: Sampler.bundled(None), "no bundled model of size"),
    "bundled_model_path({})": (lambda: bundled_model_path({}), "no bundled model"),
    "Sampler(5)": (lambda: Sampler(5), "the model path must be a file path"),
    "Sampler(b'x')": (lambda: Sampler(b"model.onnx"), "the model path must be a file path"),
    "Sampler(providers=5)": (lambda: Sampler(providers=5), "providers must be a list"),
    "Sampler(providers='CPU')": (lambda: Sampler(providers="CPUExecutionProvider"), "providers must be a list"),
    "Sampler(spin='no')": (lambda: Sampler(spin="no"), "spin must be True or False"),
    "Sampler(threads='2')": (lambda: Sampler(threads="2"), "threads must be an integer"),
    "Sampler(max_batch=[1])": (lambda: Sampler(max_batch=[1]), "max_batch must be a positive integer"),
    "Sampler(max_n=1.5)": (lambda: Sampler(max_n=1.5), "max_n must be a positive integer"),
    "open_generator(['x'])": (lambda: open_generator(["x"]), "the model path must be a file path"),
    "open_generator(backend=[])": (lambda: open_generator(bundled_model_path(), backend=[]), "backend must be"),
    "open_runtime(3.5)": (lambda: open_runtime(3.5), "the model path must be a file path"),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_a_wrong_kind_of_argument_is_one_line(name):
    call, words = CALLS[name]
    with pytest.raises(GantoolError, match=words) as exc:
        call()
    assert "\n" not in str(exc.value)


def test_sample_seeds_refuses_none_among_the_seeds():
    from gantool.core.errors import GantoolError
    from gantool.runtime import Sampler

    with pytest.raises(GantoolError, match="seeds must be integers"):
        Sampler.bundled("nano").sample_seeds([1, None, 3])
