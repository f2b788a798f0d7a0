"""Property tests: arbitrary values thrown at the sampler, the metadata parser, --labels parsing and
the HTTP example's query parser end in a result or a ValueError with a message — never another
exception, a hang or an unbounded allocation."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from gantool.core.errors import GantoolError  # noqa: E402
from gantool.runtime import Sampler  # noqa: E402
from gantool.runtime.metadata import parse_metadata  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.lists(st.integers(min_value=-(2**40), max_value=2**40), max_size=6),
    st.lists(st.floats(allow_nan=True), max_size=4),
    st.just([[1, 2], [3]]),
    st.just({"a": 1}),
)


@pytest.fixture(scope="module")
def sampler(exported):
    return Sampler(exported("dcgan", 10) / "model.onnx", threads=1, max_n=64)


def _expect_clean(fn):
    try:
        out = fn()
    except ValueError as e:  # GantoolError is a ValueError
        assert str(e), "an error without a message"
        return None
    return out


@FUZZ
@given(n=anything, seed=anything, labels=anything, truncation=anything)
def test_sample_any_arguments(sampler, n, seed, labels, truncation):
    out = _expect_clean(lambda: sampler.sample(n, seed=seed, labels=labels, truncation=truncation))
    if out is not None:
        assert out.dtype == np.uint8 and out.shape == (n, 28, 28)


@FUZZ
@given(
    shape=st.lists(st.integers(0, 70), min_size=0, max_size=3),
    fill=st.floats(allow_nan=True, allow_infinity=True, width=32),
    dtype=st.sampled_from(["f4", "f8", "i8", "u1", "O"]),
    labels=anything,
)
def test_generate_any_array(sampler, shape, fill, dtype, labels):
    try:
        with np.errstate(invalid="ignore"):
            z = np.full(shape, fill).astype(dtype)
    except (ValueError, OverflowError):
        return
    out = _expect_clean(lambda: sampler.generate(z, labels))
    if out is not None:
        assert out.dtype == np.uint8 and len(out) == shape[0] and math.isfinite(float(fill))


@FUZZ
@given(a=anything, b=anything, steps=anything, label=anything)
def test_interpolate_any_arguments(sampler, a, b, steps, label):
    out = _expect_clean(lambda: sampler.interpolate(a, b, steps=steps, label=label))
    if out is not None:
        assert out.shape == (steps, 28, 28)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=20,
)
good = {"latent_dim": 8, "num_classes": 10, "image_shape": [1, 28, 28], "inputs": ["z", "label"], "outputs": ["image"]}


@FUZZ
@given(
    raw=st.one_of(
        st.text(max_size=50),
        json_values.map(json.dumps),
        st.fixed_dictionaries({k: json_values | st.just(v) for k, v in good.items()}).map(json.dumps),
    )
)
def test_metadata_parser(raw):
    meta = _expect_clean(lambda: parse_metadata(raw, "fuzz.onnx"))
    if meta is not None:  # whatever passes is safe to allocate from
        assert 1 <= meta.latent_dim <= 1024 and 0 <= meta.num_classes <= 1000
        assert all(isinstance(v, int) and 1 <= v <= 256 for v in meta.image_shape)


@FUZZ
@given(text=st.text(max_size=30), n=st.one_of(st.none(), st.integers(-5, 10**6)))
def test_labels_option(text, n):
    from gantool.cli.sample import _parse_labels
    from gantool.runtime import rows_per_label

    labels = _expect_clean(lambda: _parse_labels(text))
    if labels is not None:
        out = _expect_clean(lambda: rows_per_label(n, labels))
        if out is not None:
            count, per_image, _ = out
            assert len(per_image) == count and count % len(labels) == 0


@pytest.fixture(scope="module")
def http_module():
    spec = importlib.util.spec_from_file_location("gantool_http_fuzz", EXAMPLES / "http_service" / "server.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@FUZZ
@given(
    query=st.one_of(
        st.text(max_size=60),
        st.lists(
            st.tuples(
                st.sampled_from(["n", "digit", "seed", "truncation", "nrow", "x"]),
                st.text(max_size=12) | st.integers().map(str) | st.floats().map(str),
            ),
            max_size=5,
        ).map(lambda kv: "&".join(f"{k}={v}" for k, v in kv)),
    ),
    conditional=st.booleans(),
)
def test_http_query_parser(http_module, query, conditional):
    q = _expect_clean(lambda: http_module.parse_query(query, conditional))
    if q is not None:
        assert 1 <= q["n"] <= http_module.MAX_N
        assert q.get("truncation") is None or q["truncation"] > 0


def test_gantool_errors_are_value_errors():
    assert issubclass(GantoolError, ValueError)
