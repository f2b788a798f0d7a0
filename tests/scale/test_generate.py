"""gantool generate (local engine): the bytes, determinism across shard sizes, resume, bad input."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from gantool.core.errors import GantoolError
from gantool.runtime import Sampler
from gantool.scale.configs import CHUNK, GenerateConfig
from gantool.scale.generate import generate
from gantool.scale.plan import labels_for_range, parse_mix
from gantool.scale.writers import npz_bytes


def read_idx(path: Path) -> np.ndarray:
    data = Path(path).read_bytes()
    if str(path).endswith(".gz"):
        data = gzip.decompress(data)
    assert data[:3] == b"\0\0\x08"
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data[4 + 4 * ndim :], dtype=np.uint8).reshape(shape)


def digests(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.name != "manifest.json"}


def test_idx_files_hold_the_samplers_images_and_balanced_labels(tmp_path):
    r = generate(GenerateConfig(n=600, seed=11, shard_size=256), tmp_path / "d", size="nano", progress=False)
    images = read_idx(tmp_path / "d" / "train-images-idx3-ubyte")
    labels = read_idx(tmp_path / "d" / "train-labels-idx1-ubyte")
    assert images.shape == (600, 28, 28) and labels.shape == (600,)
    np.testing.assert_array_equal(labels, np.arange(600) % 10)
    sampler = Sampler.bundled("nano")
    np.testing.assert_array_equal(images[300:310], sampler.sample_seeds(range(311, 321), labels[300:310]))
    assert r.made == 3 and r.kept == 0 and set(r.files) == {"train-images-idx3-ubyte", "train-labels-idx1-ubyte"}


def test_same_bytes_whatever_the_shard_size_and_format_options(tmp_path):
    a = generate(GenerateConfig(n=1000, seed=3, shard_size=256), tmp_path / "a", size="nano", progress=False)
    b = generate(GenerateConfig(n=1000, seed=3, shard_size=768), tmp_path / "b", size="nano", progress=False)
    assert digests(tmp_path / "a") == digests(tmp_path / "b") and a.files == b.files
    generate(GenerateConfig(n=1000, seed=3, shard_size=512, gzip=True), tmp_path / "c", size="nano", progress=False)
    np.testing.assert_array_equal(
        read_idx(tmp_path / "c" / "train-images-idx3-ubyte.gz"), read_idx(tmp_path / "a" / "train-images-idx3-ubyte")
    )
    generate(GenerateConfig(n=1000, seed=3, shard_size=512, gzip=True), tmp_path / "c2", size="nano", progress=False)
    assert digests(tmp_path / "c") == digests(tmp_path / "c2")  # gzip's header carries no time


def test_npz_shards_load_with_numpy_and_match_idx(tmp_path):
    generate(GenerateConfig(n=600, seed=3, shard_size=512, format="npz"), tmp_path / "n", size="nano", progress=False)
    generate(GenerateConfig(n=600, seed=3, shard_size=256), tmp_path / "i", size="nano", progress=False)
    shards = sorted((tmp_path / "n" / "shards").iterdir())
    assert [p.name for p in shards] == ["train-00000-of-00002.npz", "train-00001-of-00002.npz"]
    images = np.concatenate([np.load(p)["images"] for p in shards])
    labels = np.concatenate([np.load(p)["labels"] for p in shards])
    np.testing.assert_array_equal(images, read_idx(tmp_path / "i" / "train-images-idx3-ubyte"))
    np.testing.assert_array_equal(labels, read_idx(tmp_path / "i" / "train-labels-idx1-ubyte"))
    with zipfile.ZipFile(shards[0]) as z:  # no wall-clock time in the zip: bytes depend on pixels only
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_npz_bytes_are_deterministic():
    arrays = {"images": np.arange(784 * 3, dtype=np.uint8).reshape(3, 28, 28), "labels": np.array([1, 2, 3], np.uint8)}
    assert npz_bytes(arrays, deflate=False) == npz_bytes(arrays, deflate=False)
    assert npz_bytes(arrays, deflate=True) == npz_bytes(arrays, deflate=True)


def test_unconditional_model_writes_images_only(exported, tmp_path):
    model = exported("mlp", 0) / "model.onnx"
    r = generate(GenerateConfig(n=300, seed=0, shard_size=256), tmp_path / "u", model=model, progress=False)
    assert set(r.files) == {"train-images-idx3-ubyte"}
    sampler = Sampler(model)
    np.testing.assert_array_equal(
        read_idx(tmp_path / "u" / "train-images-idx3-ubyte")[:5], sampler.sample_seeds(range(0, 5))
    )
    with pytest.raises(GantoolError, match="conditional"):
        generate(GenerateConfig(n=300, mix=(1.0,) * 10), tmp_path / "u2", model=model, progress=False)


def test_mix_labels_follow_the_weights_and_depend_on_the_index_only():
    mix = parse_mix("0:1,3:2", 10)
    assert mix == (1.0, 0, 0, 2.0, 0, 0, 0, 0, 0, 0)
    labels = labels_for_range(0, 30_000, 10, mix)
    counts = np.bincount(labels, minlength=10)
    assert set(np.flatnonzero(counts)) == {0, 3} and abs(counts[3] - 20_000) <= 3
    np.testing.assert_array_equal(labels_for_range(12_345, 12_400, 10, mix), labels[12_345:12_400])


def test_rerun_skips_verified_shards_and_remakes_a_damaged_one(tmp_path):
    out = tmp_path / "d"
    cfg = GenerateConfig(n=1024, seed=0, shard_size=256, format="npz")
    first = generate(cfg, out, size="nano", progress=False)
    clean = {p.name: p.read_bytes() for p in (out / "shards").iterdir()}
    again = generate(cfg, out, size="nano", progress=False)
    assert (again.made, again.kept) == (0, 4)
    victim = out / "shards" / "train-00002-of-00004.npz"
    data = bytearray(victim.read_bytes())
    data[500] ^= 0xFF
    victim.write_bytes(bytes(data))
    fixed = generate(cfg, out, size="nano", progress=False)
    assert (fixed.made, fixed.kept) == (1, 3) and fixed.files == first.files
    assert {p.name: p.read_bytes() for p in (out / "shards").iterdir()} == clean


def test_a_damaged_idx_file_is_patched_by_region(tmp_path):
    out = tmp_path / "d"
    cfg = GenerateConfig(n=1024, seed=0, shard_size=256)
    first = generate(cfg, out, size="nano", progress=False)
    path = out / "train-images-idx3-ubyte"
    data = bytearray(path.read_bytes())
    data[16 + 300 * 784] ^= 0xFF  # image 300: shard 1
    path.write_bytes(bytes(data))
    fixed = generate(cfg, out, size="nano", progress=False)
    assert (fixed.made, fixed.kept) == (1, 3) and fixed.files == first.files


def start_generating(out: Path, n: int) -> subprocess.Popen:
    """`gantool generate` (nano, 256-image shards) in a child process, returned once 2 shards are recorded."""
    cmd = [sys.executable, "-c", "from gantool.cli import main; main()", "generate", "--size", "nano"]
    proc = subprocess.Popen(
        [*cmd, "--n", str(n), "--shard-size", "256", "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        m = out / "manifest.json"
        if m.exists() and 2 <= len(json.loads(m.read_text() or "{}").get("shards", {})):
            break
        time.sleep(0.01)
    return proc


def test_killed_run_resumes_to_the_same_bytes(tmp_path):
    out, ref = tmp_path / "killed", tmp_path / "ref"
    generate(GenerateConfig(n=32768, seed=0, shard_size=256), ref, size="nano", progress=False)
    proc = start_generating(out, 32768)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not json.loads((out / "manifest.json").read_text())["complete"]
    r = generate(GenerateConfig(n=32768, seed=0, shard_size=256), out, size="nano", progress=False)
    assert r.kept >= 2 and digests(out) == digests(ref)


def test_bad_folders_are_refused_and_left_alone(tmp_path):
    cfg = GenerateConfig(n=256, shard_size=256)
    foreign = tmp_path / "f"
    foreign.mkdir()
    (foreign / "mine.txt").write_text("keep")
    with pytest.raises(GantoolError, match="mine.txt"):
        generate(cfg, foreign, size="nano", progress=False)
    assert [p.name for p in foreign.iterdir()] == ["mine.txt"]
    generate(cfg, tmp_path / "d", size="nano", progress=False)
    with pytest.raises(GantoolError, match="other settings: n 256 \\(asked 512\\)"):
        generate(GenerateConfig(n=512, shard_size=256), tmp_path / "d", size="nano", progress=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(GantoolError, match="is a file"):
        generate(cfg, tmp_path / "file", size="nano", progress=False)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n=0), "--n must be"),
        (dict(n=-3), "--n must be"),
        (dict(n=10**11), "--n must be"),
        (dict(n=10, format="parquet"), "unknown --format"),
        (dict(n=10, shard_size=300), "multiple of 256"),
        (dict(n=10, seed=2**63 - 5), "int64"),
        (dict(n=10, prefix="../x"), "--prefix"),
    ],
)
def test_bad_configs_are_one_line(kwargs, message):
    with pytest.raises(GantoolError, match=message):
        GenerateConfig(**kwargs)


def test_chunks_are_aligned_to_the_global_index():
    cfg = GenerateConfig(n=10_000, shard_size=CHUNK * 3)
    starts = [cfg.shard_range(k)[0] for k in range(cfg.shards)]
    assert all(s % CHUNK == 0 for s in starts) and cfg.shard_range(cfg.shards - 1)[1] == 10_000


def test_cli_summary_and_one_line_errors(tmp_path):
    cli = [sys.executable, "-c", "from gantool.cli import main; main()", "generate", "--size", "nano", "-q"]
    ok = subprocess.run([*cli, "--n", "512", "--out", str(tmp_path / "d")], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("wrote 512 images to") and ok.stderr == ""
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "keep.txt").write_text("x")
    for args, needle in [
        (["--n", "0"], "--n must be"),
        (["--format", "csv"], "unknown --format"),
        (["--mix", "0:1"], None),
        (["--out", str(tmp_path / "f")], "keep.txt"),
    ]:
        out = args if "--out" in args else [*args, "--out", str(tmp_path / "e")]
        r = subprocess.run(
            [*cli, "--n", "256", *out] if "--n" not in args else [*cli, *out], capture_output=True, text=True
        )
        if needle is None:  # a mix on a conditional model is fine
            assert r.returncode == 0, r.stderr
            continue
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and needle in r.stderr, r.stderr
    assert (tmp_path / "f" / "keep.txt").read_text() == "x" and sorted(p.name for p in (tmp_path / "f").iterdir()) == [
        "keep.txt"
    ]


def test_no_model_means_the_bundled_base_model(tmp_path):
    r = generate(GenerateConfig(n=256, seed=1), tmp_path / "d", progress=False)
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert manifest["model"]["name"] == "bundled:base" and r.made == 1
    np.testing.assert_array_equal(
        read_idx(tmp_path / "d" / "train-images-idx3-ubyte")[:4], Sampler().sample_seeds(range(1, 5), [0, 1, 2, 3])
    )


BLOCK = """
import sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked in this test)", name=name)
sys.meta_path.insert(0, _Block())
from gantool.cli import app
app({argv!r})
"""


@pytest.mark.parametrize(
    "blocked, argv, extra",
    [
        (("uvicorn", "starlette"), ["serve", "--size", "nano", "--port", "0"], "serve"),
        (("ray",), ["generate", "--size", "nano", "--n", "256", "--engine", "ray", "--out", "OUT"], "ray"),
        (("ray",), ["serve", "--ray", "--size", "nano"], "ray"),
    ],
)
def test_a_missing_extra_is_named_in_one_line(tmp_path, blocked, argv, extra):
    argv = [str(tmp_path / "d") if a == "OUT" else a for a in argv]
    proc = subprocess.run(
        [sys.executable, "-c", BLOCK.format(blocked=blocked, argv=argv)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert f"pip install 'gantool[{extra}]'" in proc.stderr
    assert not (tmp_path / "d").exists()  # refused before anything was written


def test_ctrl_c_is_one_line_and_keeps_the_finished_shards(tmp_path):
    out = tmp_path / "d"
    proc = start_generating(out, 2_000_000)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.count("\n") == 1 and err.startswith("interrupted: "), err
    assert "run the same command to finish" in err and "Traceback" not in err
    assert len(json.loads((out / "manifest.json").read_text())["shards"]) >= 2
