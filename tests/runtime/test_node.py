"""examples/node: onnxruntime-node draws the same digits as the Python sampler for the same seeds."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gantool.runtime import Sampler

NODE_DIR = Path(__file__).resolve().parents[2] / "examples" / "node"
NODE = shutil.which("node")


def _skip_reason() -> str | None:
    if NODE is None:
        return "node is not installed (Debian's nodejs; .ci/run uses it when present)"
    if not (NODE_DIR / "node_modules" / "onnxruntime-node").is_dir():
        return "onnxruntime-node is not installed: run `npm ci --ignore-scripts` in examples/node (.ci/run does)"
    return None


pytestmark = pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))


@pytest.fixture(scope="module")
def seeded_model(trained_run, tmp_path_factory):
    pytest.importorskip("onnx")
    from gantool.export import ExportConfig, export

    out = tmp_path_factory.mktemp("node-seeded")
    export(trained_run("dcgan", 10), ExportConfig(out_dir=str(out), formats=("seeded",)), progress=False)
    return out / "model.seeded.onnx"


@pytest.mark.parametrize("seed, n, digit", [(7, 16, "3"), (2**62 + 11, 5, None)])
def test_node_pixels_equal_python(seeded_model, tmp_path, seed, n, digit):
    out = tmp_path / "node.png"
    args = [NODE, "sample.mjs", str(seeded_model), "--seed", str(seed), "--n", str(n), "--out", str(out)]
    proc = subprocess.run(
        args + (["--digit", digit] if digit else []), cwd=NODE_DIR, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    sampler = Sampler(seeded_model)
    labels = int(digit) if digit else None
    expected = np.asarray(sampler.grid(sampler.sample(n, seed=seed, labels=labels)), dtype=int)
    got = np.asarray(Image.open(out), dtype=int)
    assert got.shape == expected.shape and np.abs(got - expected).max() <= 1  # within 1/255
    assert expected.std() > 0


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--seed", "-1"], "--seed must be an integer"),
        (["--n", "0"], "--n must be an integer in 1..1024"),
        (["--digit", "-1"], "--digit must be an integer in 0..9, got -1"),  # ONNX Gather would wrap it to a 9
        (["--digit", "12"], "--digit must be an integer in 0..9"),
        (["--digit", "x"], "--digit must be an integer"),
        (["--bogus", "1"], "no such option: --bogus"),
        (["--seed"], "option --seed requires an argument"),
        (["--n", "2", "stray"], "unexpected argument"),
    ],
)
def test_node_refuses_bad_input_in_one_line(seeded_model, tmp_path, extra, message):
    proc = subprocess.run(
        [NODE, "sample.mjs", str(seeded_model), *extra, "--out", str(tmp_path / "x.png")]
        if extra[-1] != "--seed"
        else [NODE, "sample.mjs", str(seeded_model), *extra],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stderr.startswith("error: ") and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "x.png").exists()


def test_node_uses_the_bundled_model_and_writes_nothing_under_home(tmp_path):
    """No MODEL: the model inside gantool, the same digits as Python's Sampler(); and onnxruntime's
    telemetry ID is not written (CI=true would hide it, so the variable is removed here)."""
    import os

    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "ORT_DISABLE_TELEMETRY")}
    out = tmp_path / "b.png"
    proc = subprocess.run(
        [NODE, "sample.mjs", "--seed", "3", "--n", "10", "--out", str(out)],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, "HOME": str(home)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no onnxruntime warning about the `truncation` input
    sampler = Sampler()
    expected = np.asarray(sampler.grid(sampler.sample(10, seed=3)), dtype=int)  # the same default layout
    assert np.abs(np.asarray(Image.open(out), dtype=int) - expected).max() <= 1
    assert list(home.rglob("*")) == []


def test_node_refuses_an_unseeded_model(seeded_model):
    unseeded = seeded_model.parent / "model.onnx"
    proc = subprocess.run([NODE, "sample.mjs", str(unseeded)], cwd=NODE_DIR, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "not a seeded model" in proc.stderr
