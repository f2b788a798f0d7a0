from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from gantool.core.errors import GantoolError
from gantool.runtime import Sampler, read_metadata
from gantool.runtime.latents import latents


@pytest.fixture(scope="module")
def cond(exported):
    return Sampler(exported("dcgan", 10) / "model.onnx", threads=1)


@pytest.fixture(scope="module")
def uncond(exported):
    return Sampler(exported("mlp", 0) / "model.onnx")


def test_sample_shapes_and_metadata(cond, uncond):
    images = cond.sample(12, seed=0)
    assert images.shape == (12, 28, 28) and images.dtype == np.uint8
    assert cond.latent_dim == 8 and cond.num_classes == 10 and cond.conditional
    assert not uncond.conditional and uncond.sample(3, seed=1).shape == (3, 28, 28)
    assert "dcgan" in repr(cond)


def test_same_seed_same_images_in_another_process(cond, exported):
    here = hashlib.sha256(cond.sample(16, seed=42, labels=3).tobytes()).hexdigest()
    code = textwrap.dedent(f"""
        import hashlib
        from gantool.runtime import Sampler
        s = Sampler({str(exported("dcgan", 10) / "model.onnx")!r})
        print(hashlib.sha256(s.sample(16, seed=42, labels=3).tobytes()).hexdigest())
    """)
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert here == there
    assert not np.array_equal(cond.sample(16, seed=42), cond.sample(16, seed=43))


def test_latents_are_pcg64(cond):
    expected = np.random.Generator(np.random.PCG64(5)).standard_normal((4, 8), dtype=np.float32)
    np.testing.assert_array_equal(cond.latents(4, seed=5), expected)


def test_generate_matches_sample_and_chunks(exported):
    path = exported("dcgan", 10) / "model.onnx"
    big, small = Sampler(path, max_batch=256), Sampler(path, max_batch=7)
    z = big.latents(50, seed=3)
    labels = np.arange(50) % 10
    a, b = big.generate(z, labels), small.generate(z, labels)
    np.testing.assert_array_equal(a, b)  # chunking changes nothing
    np.testing.assert_array_equal(a, big.sample(50, seed=3))  # default labels cycle 0..9


def test_to_uint8_rounding(cond):
    z = cond.latents(4, seed=9)
    raw = cond.generate_float(z, 1)
    np.testing.assert_array_equal(cond.generate(z, 1), np.clip(np.rint(raw[:, 0] * 255), 0, 255).astype(np.uint8))


def test_labels_select_the_digit(cond):
    z = cond.latents(6, seed=1)
    assert np.abs(cond.generate_float(z, 2) - cond.generate_float(z, 7)).max() > 1e-6
    np.testing.assert_array_equal(cond.generate(z, 2), cond.generate(z, [2] * 6))


def test_truncation_bounds_latents(cond):
    z = cond.latents(200, seed=0, truncation=0.5)
    assert np.abs(z).max() <= 0.5 and z.std() < 0.4
    np.testing.assert_array_equal(z, latents(200, 8, 0, 0.5))
    assert cond.sample(4, seed=0, truncation=0.5).shape == (4, 28, 28)


def test_interpolate_endpoints(cond):
    path = cond.interpolate(1, 2, steps=5, label=4)
    assert path.shape == (5, 28, 28)
    np.testing.assert_array_equal(path[0], cond.sample(1, seed=1, labels=4)[0])
    np.testing.assert_array_equal(path[-1], cond.sample(1, seed=2, labels=4)[0])
    with pytest.raises(GantoolError, match="pass label"):
        cond.interpolate(1, 2)


def test_grid(cond):
    img = cond.grid(cond.sample(20, seed=0), nrow=5)
    assert img.size == (5 * 30 + 2, 4 * 30 + 2) and img.mode == "L"


def test_thread_safe(cond):
    serial = [cond.sample(8, seed=s) for s in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(lambda s: cond.sample(8, seed=s), range(16)))
    for a, b in zip(serial, parallel, strict=True):
        np.testing.assert_array_equal(a, b)


_IDLE = """
import sys, time
from gantool.runtime import Sampler
for spin in (True, False):
    s = Sampler(sys.argv[1], threads=2, spin=spin)
    for n in (1, 64):
        s.sample(n, seed=0)
        start = time.process_time()  # CPU time of every thread of this process: the sampler's only
        time.sleep(0.5)
        print(spin, n, time.process_time() - start)
"""


def test_idle_sampler_uses_no_cpu(exported):
    """onnxruntime's worker threads must not keep spinning once a call has returned: an
    idle sampler leaves the CPU to its host program (small CPUs, edge devices). Measured in a fresh
    process that holds nothing else (the test process's own threads, torch's among them, are not
    the sampler's)."""
    import os

    root = str(Path(__file__).resolve().parents[2])
    proc = subprocess.run(
        [sys.executable, "-c", _IDLE, str(exported("dcgan", 10) / "model.onnx")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": root},
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines()]
    assert len(rows) == 4 and all(float(cpu) < 0.01 for _, _, cpu in rows), rows


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n": 0}, "between 1 and"),
        ({"n": -3}, "between 1 and"),
        ({"n": 2.5}, "must be an integer"),
        ({"n": True}, "must be an integer"),
        ({"n": 10**9}, "between 1 and 100000"),
        ({"n": 3, "labels": [1, 2]}, "got 2 labels for 3 images"),
        ({"n": 3, "labels": 10}, r"labels must be in 0\.\.9"),
        ({"n": 2, "labels": [-1, 0]}, r"labels must be in 0\.\.9"),
        ({"n": 2, "labels": ["a", "b"]}, "1-D sequence of ints"),
        ({"n": 2, "truncation": 0}, "positive finite"),
        ({"n": 2, "truncation": float("nan")}, "positive finite"),
        ({"n": 2, "truncation": float("inf")}, "positive finite"),
        ({"n": 2, "truncation": -1.0}, "positive finite"),
    ],
)
def test_bad_arguments_raise_value_error(cond, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cond.sample(**kwargs)


def test_labels_for_unconditional_refused(uncond):
    with pytest.raises(ValueError, match="unconditional"):
        uncond.sample(2, labels=[1, 2])


def test_bad_files(tmp_path, exported):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Sampler(tmp_path / "missing.onnx")
    (tmp_path / "text.onnx").write_text("not a model")
    with pytest.raises(ValueError, match="not a loadable ONNX model"):
        Sampler(tmp_path / "text.onnx")
    data = (exported("mlp", 0) / "model.onnx").read_bytes()
    (tmp_path / "truncated.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a loadable ONNX model"):
        Sampler(tmp_path / "truncated.onnx")


def test_model_without_gantool_metadata(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["z"], ["image"])],
        "g",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [None, 8])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, [None, 8])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), tmp_path / "plain.onnx")
    with pytest.raises(ValueError, match="no gantool metadata"):
        Sampler(tmp_path / "plain.onnx")
    with pytest.raises(ValueError, match="no gantool metadata"):
        read_metadata(tmp_path / "plain.onnx")


def test_unavailable_provider(exported):
    with pytest.raises(ValueError, match="not available here"):
        Sampler(exported("mlp", 0) / "model.onnx", providers=["NoSuchExecutionProvider"])


@pytest.mark.gpu
def test_cuda_provider(exported):
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("onnxruntime has no CUDA provider here")
    s = Sampler(exported("dcgan", 10) / "model.onnx", providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    cpu = Sampler(exported("dcgan", 10) / "model.onnx")
    assert np.abs(s.sample(8, seed=0).astype(int) - cpu.sample(8, seed=0).astype(int)).max() <= 1


def test_bundled_model_is_small_seeded_and_conditional():
    from gantool.runtime.bundled import bundled_model_path

    path = bundled_model_path()
    assert path.stat().st_size <= 2_000_000
    s = Sampler()
    assert s.seeded and s.num_classes == 10 and s.metadata.variant == "fp16"
    assert np.array_equal(s.sample(3, seed=11, labels=4), Sampler.default().sample(3, seed=11, labels=4))


@pytest.mark.slow
def test_wheel_ships_the_bundled_model(tmp_path):
    """The model is package data: a built wheel holds it (no network: --no-deps --no-build-isolation)."""
    import zipfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(root),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = next(tmp_path.glob("gantool-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "gantool/runtime/models/digits.seeded.fp16.onnx" in names and "gantool/runtime/models/README.md" in names
    assert "gantool/runtime/models/manifest.json" in names
    # the C export's kernels are C files, package data too (gantool.export.c.kernels reads them)
    kernels = ("core.c", "d2s.c", "table.c", "phase.c", "prelude.h")
    assert {f"gantool/export/c/kernels/{n}" for n in kernels} <= set(names)


@pytest.mark.parametrize("damage", ["altered", "replaced", "symlink"])
def test_an_altered_bundled_model_is_refused(tmp_path, monkeypatch, damage):
    import shutil

    from gantool.runtime import bundled

    shutil.copytree(bundled.BUNDLED_DIR, tmp_path / "models")
    path = tmp_path / "models" / bundled.BUNDLED_MODEL
    if damage == "altered":
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 1
        path.write_bytes(bytes(data))
    elif damage == "replaced":
        path.write_bytes(b"not the model")
    else:
        path.unlink()
        path.symlink_to(bundled.BUNDLED_DIR / bundled.BUNDLED_MODEL)  # the right bytes, behind a link
    monkeypatch.setattr(bundled, "BUNDLED_DIR", tmp_path / "models")
    with pytest.raises(GantoolError, match="symbolic link" if damage == "symlink" else "not the file gantool shipped"):
        Sampler()


def test_the_bundled_model_ships_no_build_paths():
    meta = Sampler().metadata
    assert meta.train_config["run_dir"] is None
    assert not any(isinstance(v, str) and v.startswith("/") for v in meta.train_config.values())


def test_grid_png_is_what_pillow_reads(cond, tmp_path):
    """The PNG writer (no pillow in the base install) against pillow's reader: same pixels, a file and
    a file object, and a grid hands itself to pillow."""
    import io

    from PIL import Image

    images = cond.sample(12, seed=3)
    grid = cond.grid(images, nrow=4, scale=2)
    grid.save(tmp_path / "g.png")
    buf = io.BytesIO()
    grid.save(buf, format="PNG")
    for source in (tmp_path / "g.png", io.BytesIO(buf.getvalue())):
        with Image.open(source) as img:
            assert img.mode == "L" and img.size == grid.size
            np.testing.assert_array_equal(np.asarray(img), np.asarray(grid))
    np.testing.assert_array_equal(np.asarray(grid.to_pil()), np.asarray(grid))
    with pytest.raises(GantoolError, match="writes PNG only"):
        grid.save(tmp_path / "g.jpg", format="JPEG")
