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
    proc = subprocess.run(args + (["--digit", digit] if digit else []), cwd=NODE_DIR, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    sampler = Sampler(seeded_model)
    labels = int(digit) if digit else None
    expected = np.asarray(sampler.grid(sampler.sample(n, seed=seed, labels=labels), nrow=min(n, 8)), dtype=int)
    got = np.asarray(Image.open(out), dtype=int)
    assert got.shape == expected.shape and np.abs(got - expected).max() <= 1  # within 1/255
    assert expected.std() > 0


def test_node_refuses_bad_input(seeded_model, tmp_path):
    for extra, message in ((["--seed", "-1"], "--seed"), (["--n", "0"], "--n")):
        proc = subprocess.run([NODE, "sample.mjs", str(seeded_model), *extra], cwd=NODE_DIR, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 2 and proc.stderr.startswith("error: ") and message in proc.stderr
    unseeded = seeded_model.parent / "model.onnx"
    proc = subprocess.run([NODE, "sample.mjs", str(unseeded)], cwd=NODE_DIR, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "not a seeded model" in proc.stderr
