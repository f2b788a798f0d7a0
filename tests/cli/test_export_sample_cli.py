from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from gantool.cli import app

runner = CliRunner()


def _one_line_error(res, code=2):
    assert res.exit_code == code, res.output
    assert res.stderr.startswith("error: ") and res.stderr.strip().count("\n") == 0
    assert "Traceback" not in res.output


def test_export_cli_writes_verified_files(trained_run, tmp_path):
    pytest.importorskip("onnx")
    out = tmp_path / "exp"
    res = runner.invoke(app, ["export", str(trained_run("mlp", 10)), "--out", str(out), "--onnx", "--int8"])
    assert res.exit_code == 0, res.output
    assert "onnxruntime" in res.stdout and "model.int8.onnx" in res.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json",
        "model.int8.onnx",
        "model.onnx",
        "verification.json",
    ]
    res = runner.invoke(app, ["verify", str(out)])
    assert res.exit_code == 0 and "verified" in res.stdout


def test_export_default_out_is_inside_run(trained_run, tmp_path):
    pytest.importorskip("onnx")
    run = tmp_path / "run"
    shutil.copytree(trained_run("mlp", 0), run)
    res = runner.invoke(app, ["export", str(run), "--torchscript"])
    assert res.exit_code == 0, res.output
    assert (run / "export" / "model.ts.pt").is_file() and not (run / "export" / "model.onnx").exists()


def test_export_cli_bad_input(trained_run, tmp_path):
    pytest.importorskip("onnx")
    _one_line_error(runner.invoke(app, ["export", str(tmp_path / "nope")]))
    _one_line_error(
        runner.invoke(app, ["export", str(trained_run("mlp", 0)), "--out", str(tmp_path / "o"), "--opset", "9"])
    )
    (tmp_path / "junk.pt").write_text("junk")
    _one_line_error(runner.invoke(app, ["export", str(tmp_path / "junk.pt"), "--out", str(tmp_path / "o")]))
    assert not (tmp_path / "o").exists()


def test_verify_cli_fails_with_exit_1(exported, tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper

    out = tmp_path / "e"
    shutil.copytree(exported("mlp", 0), out)
    model = onnx.load(str(out / "model.onnx"))
    init = model.graph.initializer[0]
    arr = numpy_helper.to_array(init).copy()
    arr.flat[:] += 0.5
    init.CopyFrom(numpy_helper.from_array(arr, init.name))
    onnx.save(model, str(out / "model.onnx"))
    res = runner.invoke(app, ["verify", str(out)])
    _one_line_error(res, code=1)
    assert "verification failed" in res.stderr
    _one_line_error(runner.invoke(app, ["verify", str(tmp_path)]))


def test_info_prints_metadata(exported):
    for name in ("model.onnx", "model.ts.pt", "model.int8.onnx"):
        res = runner.invoke(app, ["info", str(exported("dcgan", 10) / name)])
        assert res.exit_code == 0
        meta = json.loads(res.stdout)
        assert meta["num_classes"] == 10 and meta["latent_dim"] == 8


def test_info_bad_file(tmp_path):
    (tmp_path / "x.onnx").write_bytes(b"\x08\x01garbage")
    _one_line_error(runner.invoke(app, ["info", str(tmp_path / "x.onnx")]))
    _one_line_error(runner.invoke(app, ["info", str(tmp_path / "missing.onnx")]))


def test_sample_grid_dir_and_npy(exported, tmp_path):
    model = str(exported("dcgan", 10) / "model.onnx")
    res = runner.invoke(
        app, ["sample", model, "--n", "30", "--labels", "0,1,2", "--seed", "0", "--out", str(tmp_path / "g.png")]
    )
    assert res.exit_code == 0, res.output
    assert Image.open(tmp_path / "g.png").size == (10 * 30 + 2, 3 * 30 + 2)  # one row per label
    res = runner.invoke(app, ["sample", model, "--n", "4", "--digit", "7", "--out", str(tmp_path / "pngs") + "/"])
    assert res.exit_code == 0 and sorted(p.name for p in (tmp_path / "pngs").iterdir())[0] == "00000.png"
    assert len(list((tmp_path / "pngs").iterdir())) == 4
    res = runner.invoke(
        app,
        [
            "sample",
            model,
            "--n",
            "5",
            "--seed",
            "3",
            "--digit",
            "7",
            "--truncation",
            "0.8",
            "--out",
            str(tmp_path / "x.npy"),
        ],
    )
    assert res.exit_code == 0
    arr = np.load(tmp_path / "x.npy")
    from gantool.runtime import Sampler

    np.testing.assert_array_equal(arr, Sampler(model).sample(5, seed=3, labels=7, truncation=0.8))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--n", "0"], "between 1 and"),
        (["--n", "-2"], "between 1 and"),
        (["--n", "200000"], "between 1 and 100000"),
        (["--digit", "11"], r"--digit must be in 0..9"),
        (["--labels", "1,x"], "comma-separated integers"),
        (["--n", "5", "--labels", "1,2"], "not a multiple"),
        (["--truncation", "-1"], "positive finite"),
        (["--truncation", "nan"], "positive finite"),
        (["--digit", "1", "--labels", "1"], "not both"),
        (["--out", "/nonexistent-dir/x.png"], "does not exist"),
        (["--out", "grid.jpg"], "use a .png file"),
    ],
)
def test_sample_bad_input(exported, args, message):
    res = runner.invoke(app, ["sample", str(exported("dcgan", 10) / "model.onnx"), *args])
    _one_line_error(res)
    assert re.search(message, res.stderr), res.stderr


def test_sample_n_not_integer(exported):
    res = runner.invoke(app, ["sample", str(exported("dcgan", 10) / "model.onnx"), "--n", "2.5"])
    assert res.exit_code == 2 and "--n" in res.stderr


def test_sample_labels_on_unconditional(exported, tmp_path):
    res = runner.invoke(
        app, ["sample", str(exported("mlp", 0) / "model.onnx"), "--digit", "3", "--out", str(tmp_path / "a.png")]
    )
    _one_line_error(res)
    assert "unconditional" in res.stderr and not (tmp_path / "a.png").exists()


def test_sample_missing_or_bad_model(tmp_path):
    _one_line_error(runner.invoke(app, ["sample", str(tmp_path / "missing.onnx")]))
    (tmp_path / "bad.onnx").write_text("nope")
    _one_line_error(runner.invoke(app, ["sample", str(tmp_path / "bad.onnx"), "--out", str(tmp_path / "s.png")]))


def test_sample_prints_the_seed_it_drew_and_the_same_seed_makes_the_same_grid(tmp_path):
    import re

    res = runner.invoke(app, ["sample", "--n", "6", "--out", str(tmp_path / "a.png")])
    assert res.exit_code == 0, res.output
    seed = re.search(r"seed (\d+) \(pass --seed \1 to make these images again\)", res.stdout).group(1)
    res = runner.invoke(app, ["sample", "--n", "6", "--seed", seed, "--out", str(tmp_path / "b.png")])
    assert res.exit_code == 0 and "pass --seed" not in res.stdout
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()


def test_sample_seeds_ranges_give_one_image_per_seed(tmp_path):
    from gantool.runtime import Sampler

    res = runner.invoke(app, ["sample", "--seeds", "3-5,9", "--digit", "4", "--out", str(tmp_path / "s.npy")])
    assert res.exit_code == 0, res.output
    got = np.load(tmp_path / "s.npy")
    s = Sampler()
    want = np.concatenate([s.sample(3, seed=3, labels=4), s.sample(1, seed=9, labels=4)])
    np.testing.assert_array_equal(got, want)  # seed k's image is image 0 of sample(seed=k)


def test_sample_scale_and_wording(tmp_path):
    res = runner.invoke(app, ["sample", "--n", "1", "--seed", "0", "--scale", "4", "--out", str(tmp_path / "one.png")])
    assert res.exit_code == 0 and "grid of 1 image" in res.stdout and "1 images" not in res.stdout
    assert Image.open(tmp_path / "one.png").size == (4 * (28 + 4), 4 * (28 + 4))
    res = runner.invoke(
        app, ["sample", "--n", "4", "--seed", "0", "--nrow", str(2 * 10**9), "--out", str(tmp_path / "wide.png")]
    )
    assert res.exit_code == 0 and Image.open(tmp_path / "wide.png").size == (4 * 30 + 2, 32)  # nrow > n is n


def test_a_read_only_output_folder_is_one_line_before_any_work(exported, tmp_path):
    """As root, permissions do not stop writes; a read-only bind mount does (in a mount namespace)."""
    import subprocess
    import sys

    ro = tmp_path / "ro"
    ro.mkdir()
    model = exported("mlp", 0) / "model.onnx"
    script = f"mount --bind {ro} {ro} && mount -o remount,bind,ro {ro} && " + " ; ".join(
        f"{sys.executable} -m gantool {args} 2>&1; echo rc=$?"
        for args in (
            f"sample {model} --n 2 --seed 1 --out {ro}/x.png",
            f"sample {model} --n 2 --seed 1 --out {ro}/d/",
            f"sample {model} --n 2 --seed 1 --out {ro}/x.npy",
            f"eval {model} --n 10 --json {ro}/e.json",
            f"bench {exported('mlp', 0)} --no-fid --markdown {ro}/b.md",
        )
    )
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=300)
    if "unshare failed" in proc.stderr or "mount:" in proc.stdout + proc.stderr:
        pytest.skip(f"no mount namespace here: {proc.stderr.strip()[:100]}")
    blocks = proc.stdout.strip().split("rc=")
    outputs = [b.split("\n", 1)[-1] if i else b for i, b in enumerate(blocks[:-1])]
    codes = [int(b.split("\n", 1)[0]) for b in blocks[1:]]
    assert codes == [2] * 5, proc.stdout
    for out in outputs:
        lines = [line for line in out.strip().splitlines() if line]
        assert len(lines) == 1 and lines[0].startswith("error: ") and "Read-only file system" in lines[0], out
