"""A large batch runs split across the cores (gantool.runtime.onnx): one single-threaded session called
from a thread per core on its share of the images. The pixels are those of one call; small batches
and a one-thread generator stay one call; failures are one line; a forked child makes its own threads."""

from __future__ import annotations

import numpy as np
import pytest

import gantool.runtime.onnx as ort_backend
from gantool.core.errors import GantoolError
from gantool.runtime.bundled import bundled_for_size
from gantool.runtime.onnx import PARALLEL_MIN_ROWS, OnnxGenerator
from gantool.runtime.sampler import Sampler


@pytest.mark.parametrize("size", ["base", "nano"])  # fp16 (float kernels) and int8 (integer kernels)
@pytest.mark.parametrize("truncation", [None, 0.7])  # the truncation input goes whole to every share
def test_a_split_batch_draws_the_pixels_of_one_call(size, truncation):
    path = bundled_for_size(size)
    split, whole = OnnxGenerator(path, threads=2), OnnxGenerator(path, threads=1)
    n = 2 * PARALLEL_MIN_ROWS + 5  # two uneven shares
    seeds, labels = np.arange(n, dtype=np.int64), np.arange(n) % 10
    a, b = split.run_seeds(seeds, labels, truncation), whole.run_seeds(seeds, labels, truncation)
    assert split._lane is not None and whole._lane is None  # the split ran, the one-thread generator did not
    assert a.shape == (n, 1, 28, 28) and a.std() > 0 and np.array_equal(a, b)


def test_a_batch_below_two_shares_stays_one_call():
    g = OnnxGenerator(bundled_for_size("nano"), threads=2)
    g.run_seeds(np.arange(2 * PARALLEL_MIN_ROWS - 1, dtype=np.int64), np.zeros(2 * PARALLEL_MIN_ROWS - 1, np.int64))
    assert g._lane is None and g.workers == 2


def test_a_failing_split_call_is_one_line():
    g = OnnxGenerator(bundled_for_size("nano"), threads=2)
    n = 2 * PARALLEL_MIN_ROWS
    with pytest.raises(GantoolError, match="onnxruntime could not run the model") as e:
        g.run_feeds({"seed": np.zeros(n, np.float32), "label": np.zeros(n, np.int64)})  # seeds must be int64
    assert "\n" not in str(e.value) and g._lane is not None


def test_a_forked_child_makes_its_own_threads(monkeypatch):
    g = OnnxGenerator(bundled_for_size("nano"), threads=2)
    n = 2 * PARALLEL_MIN_ROWS
    seeds, labels = np.arange(n, dtype=np.int64), np.zeros(n, np.int64)
    first = g.run_seeds(seeds, labels)
    lane = g._lane
    g.run_seeds(seeds, labels)
    assert g._lane is lane  # made once per process
    monkeypatch.setattr(ort_backend.os, "getpid", lambda: -1)  # as a forked child sees it
    assert np.array_equal(g.run_seeds(seeds, labels), first) and g._lane is not lane


def test_a_file_replaced_before_the_split_opens_it_again_is_refused(tmp_path):
    """The single-threaded session reads the file when the first large batch comes: what it reads is
    checked as the first open was, so a file replaced meanwhile is one line, not other pixels."""
    import shutil

    path = tmp_path / "model.onnx"
    shutil.copyfile(bundled_for_size("nano"), path)
    g = OnnxGenerator(path, threads=2)
    shutil.copyfile(bundled_for_size("base"), path)  # another model's file at the same path
    n = 2 * PARALLEL_MIN_ROWS
    with pytest.raises(GantoolError, match="changed since it was opened") as e:
        g.run_seeds(np.arange(n, dtype=np.int64), np.zeros(n, np.int64))
    assert "could not run" not in str(e.value)  # the one line, not wrapped in another
    assert Sampler(path).sample(1, seed=0, labels=[3]).shape[0] == 1  # opened again: fine
