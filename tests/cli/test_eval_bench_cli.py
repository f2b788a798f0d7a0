from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")

from gantool.cli import app  # noqa: E402

runner = CliRunner()


def test_eval_checkpoint_and_onnx_agree(trained_run, exported, tmp_path):
    run = trained_run("dcgan", 10)
    out_a, out_b = tmp_path / "a.json", tmp_path / "b.json"
    res = runner.invoke(app, ["eval", str(run), "--n", "200", "--json", str(out_a)])
    assert res.exit_code == 0, res.output
    assert "FID" in res.stdout and "conditional accuracy" in res.stdout
    res = runner.invoke(app, ["eval", str(exported("dcgan", 10) / "model.onnx"), "--n", "200", "--json", str(out_b)])
    assert res.exit_code == 0, res.output
    a, b = json.loads(out_a.read_text()), json.loads(out_b.read_text())
    assert a["kind"] == "pytorch" and b["kind"] == "onnx:fp32"
    assert abs(a["fid"] - b["fid"]) < 0.05 * max(a["fid"], 1.0)  # same latents, same pixels (±1 level)
    for key in ("fid", "fid_floor", "inception_score", "coverage", "precision", "recall"):
        assert isinstance(a[key], float)
    assert 0.0 <= a["coverage"] <= 1.0 and 0.0 <= a["class_accuracy"]["overall"] <= 1.0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--n", "1"], "n must be between 2 and 50000"),
        (["--n", "50001"], "n must be between 2 and 50000"),
    ],
)
def test_eval_bad_n(trained_run, args, message):
    res = runner.invoke(app, ["eval", str(trained_run("mlp", 0)), *args])
    assert res.exit_code == 2 and message in res.stderr


def test_eval_not_a_model(tmp_path):
    (tmp_path / "x.onnx").write_text("nope")
    res = runner.invoke(app, ["eval", str(tmp_path / "x.onnx")])
    assert res.exit_code == 2 and "not a loadable ONNX model" in res.stderr
    res = runner.invoke(app, ["eval", str(tmp_path)])
    assert res.exit_code == 2 and "not a gantool run directory" in res.stderr


def test_eval_dataset_without_test_split(trained_run, tmp_path):
    import shutil

    data = tmp_path / "train-only"
    data.mkdir()
    src = trained_run("mlp", 0)
    from gantool.toolkit import load_checkpoint

    idx_dir = load_checkpoint(src).train.data_dir
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        shutil.copy(f"{idx_dir}/{name}", data / name)
    res = runner.invoke(app, ["eval", str(src), "--n", "50", "--data-dir", str(data)])
    assert res.exit_code == 2 and "needs the idx test split" in res.stderr and "t10k" in res.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    res = runner.invoke(app, ["eval", str(src), "--n", "50", "--dataset", "mnist-sample", "--data-dir", str(empty)])
    assert res.exit_code == 2 and "needs the mnist test split" in res.stderr  # mnist-sample is judged on MNIST


@pytest.mark.slow
def test_bench_export_dir(exported, tmp_path):
    md, js = tmp_path / "bench.md", tmp_path / "bench.json"
    res = runner.invoke(
        app,
        [
            "bench",
            str(exported("mlp", 10)),
            "--calls",
            "200",
            "--fid-n",
            "100",
            "--markdown",
            str(md),
            "--json",
            str(js),
        ],
    )
    assert res.exit_code == 0, res.output
    result = json.loads(js.read_text())
    formats = [r["format"] for r in result["rows"]]
    assert formats == ["pytorch eager", "torchscript", "onnx fp32", "onnx fp16", "onnx int8"]
    for r in result["rows"]:
        assert r["latency_ms"] > 0 and r["throughput_ips"] > 0 and r["cold_start_s"] > 0 and r["peak_rss_mb"] > 10
        assert r["size_mb"] > 0 and "fid" in r
    assert result["rows"][0]["fid_change"] == 0.0
    assert abs(result["rows"][2]["fid_change"]) < 0.5  # fp32 ONNX: same images as eager
    assert md.read_text().startswith("**mlp**") and "ΔFID" in md.read_text()


def test_bench_bad_input(tmp_path):
    res = runner.invoke(app, ["bench", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "does not exist" in res.stderr
    res = runner.invoke(app, ["bench", str(tmp_path), "--calls", "10"])
    assert res.exit_code == 2


@pytest.mark.slow
def test_bench_compares_a_seeded_file_with_eager_on_the_same_latents(trained_run, tmp_path):
    """A seeded file draws its own latents: its ΔFID is against eager fed those latents, so a faithful
    file shows ~0 (against eager on PCG64 latents it would show the sampling noise of two latent sets)."""
    from gantool.export import ExportConfig, export

    out = tmp_path / "s"
    export(trained_run("mlp", 10), ExportConfig(out_dir=str(out), formats=("seeded",)), progress=False)
    js = tmp_path / "b.json"
    res = runner.invoke(app, ["bench", str(out), "--calls", "200", "--fid-n", "200", "--json", str(js)])
    assert res.exit_code == 0, res.output
    rows = {r["file"]: r for r in json.loads(js.read_text())["rows"]}
    seeded = rows["model.seeded.onnx"]
    assert seeded["fid_vs"] == "eager on the same seeds" and abs(seeded["fid_change"]) < 0.5
    assert rows["model.onnx"]["fid_vs"] == "eager"
    assert "seeded files are compared with PyTorch eager fed the same latents" in res.stdout
