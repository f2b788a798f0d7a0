"""The artifact table: one row + one maker makes a new kind exported, verified, listed and opened."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("onnx")

from gantool.artifacts import ARTIFACTS, ArtifactKind, artifact_for_file, open_generator  # noqa: E402
from gantool.artifacts.registry import GROUP_HELP  # noqa: E402
from gantool.cli import app  # noqa: E402
from gantool.core.errors import GantoolError  # noqa: E402
from gantool.export.job import MakerNote  # noqa: E402
from gantool.runtime.latents import seeded_inputs  # noqa: E402

runner = CliRunner()


def make_dummy(job, target):
    """The one function a new kind needs: here, the verified ONNX file re-saved under a new name,
    its metadata saying which format it is."""
    import onnx

    from gantool.export.makers.onnx import set_onnx_metadata

    model = onnx.load(str(target.source))
    set_onnx_metadata(model, target.metadata)
    onnx.save(model, str(target.path))
    return MakerNote("dummy made")


@pytest.fixture
def dummy_kind(monkeypatch):
    row = ArtifactKind(
        "dummy",
        "model.dummy.onnx",
        "dummy",
        make_dummy,
        ("onnxruntime",),
        source="onnx",
        help="Write model.dummy.onnx.",
    )
    monkeypatch.setitem(ARTIFACTS, "dummy", row)  # the one row (as register_artifact would add it)
    monkeypatch.setitem(GROUP_HELP, "dummy", row.help)
    return row


def test_a_new_kind_is_one_row_and_one_function(dummy_kind, trained_run, tmp_path):
    from gantool.export import ExportConfig, export, verify

    out = tmp_path / "exp"
    result = export(trained_run("mlp", 10), ExportConfig(out_dir=str(out), formats=("dummy",)))
    assert set(result.files) == {"onnx", "dummy"}  # its source is made too
    checked = [r for r in result.report.results if r.file == "model.dummy.onnx"]
    assert {r.batch for r in checked} == {1, 3, 64} and all(r.passed for r in checked)
    assert result.report.notes["model.dummy.onnx"] == MakerNote("dummy made")
    saved = json.loads((out / "verification.json").read_text())
    assert saved["notes"]["model.dummy.onnx"] == {"say": "dummy made"}
    assert json.loads((out / "manifest.json").read_text())["files"]["model.dummy.onnx"]["kind"] == "dummy"
    report = verify(out)  # verify reads the table too
    assert any(r.file == "model.dummy.onnx" for r in report.results)

    g = open_generator(out / "model.dummy.onnx")
    ref = open_generator(out / "model.onnx")
    feeds = seeded_inputs(5, 8, 10, seed=1)
    np.testing.assert_array_equal(g(feeds["z"], feeds["label"]), ref(feeds["z"], feeds["label"]))
    assert g.metadata.artifact_format == "dummy"

    res = runner.invoke(app, ["info", str(out)])
    assert res.exit_code == 0 and "model.dummy.onnx" in res.stdout and "dummy" in res.stdout
    res = runner.invoke(app, ["formats"])
    assert res.exit_code == 0 and "model.dummy.onnx" in res.stdout
    res = runner.invoke(
        app, ["export", str(trained_run("mlp", 10)), "--out", str(tmp_path / "cli"), "--format", "dummy"]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "cli" / "model.dummy.onnx").is_file()


@pytest.mark.slow
def test_bench_lists_a_new_kind(dummy_kind, trained_run, tmp_path):
    from gantool.assess import BenchConfig, bench
    from gantool.export import ExportConfig, export

    out = tmp_path / "exp"
    export(trained_run("mlp", 0), ExportConfig(out_dir=str(out), formats=("dummy",)))
    result = bench(out, BenchConfig(calls=200, repeats=1, cold_runs=1, fid=False), progress=False)
    assert [r["format"] for r in result["rows"]] == ["pytorch eager", "onnx fp32", "dummy"]
    assert all(r["latency_ms"] > 0 and r["cold_start_s"] > 0 for r in result["rows"])


def test_open_generator_opens_every_kind(exported, trained_run, tmp_path):
    out = exported("dcgan", 10)
    feeds = seeded_inputs(4, 8, 10, seed=3)
    eager = open_generator(trained_run("dcgan", 10))
    want = eager(feeds["z"], feeds["label"])
    assert eager.backend == "pytorch" and want.shape == (4, 1, 28, 28)
    for name, atol in (
        ("model.onnx", 1e-4),
        ("model.ts.pt", 1e-4),
        ("model.fp16.onnx", 0.05),
        ("model.int8.onnx", 0.3),
    ):
        g = open_generator(out / name)
        assert artifact_for_file(out / name).file == name
        np.testing.assert_allclose(g(feeds["z"], feeds["label"]), want, atol=atol)
    assert open_generator(out).path.name == "model.onnx"  # an export dir: its ONNX file
    ckpt = open_generator(trained_run("dcgan", 10) / "checkpoints" / "last.pt")
    np.testing.assert_array_equal(ckpt(feeds["z"], feeds["label"]), want)
    renamed = tmp_path / "digits.int8.onnx"  # a renamed file is recognised by its suffix
    shutil.copy(out / "model.int8.onnx", renamed)
    assert artifact_for_file(renamed).name == "int8" and open_generator(renamed).variant == "int8"
    ref = open_generator(out / "model.onnx", backend="onnx.reference")
    np.testing.assert_allclose(ref(feeds["z"][:1], feeds["label"][:1]), want[:1], atol=1e-4)


def test_open_generator_bad_input(exported, tmp_path):
    (tmp_path / "x.bin").write_bytes(b"1234")
    with pytest.raises(GantoolError, match="not a file gantool knows"):
        open_generator(tmp_path / "x.bin")
    with pytest.raises(FileNotFoundError):
        open_generator(tmp_path / "missing.onnx")
    with pytest.raises(GantoolError, match="runs on onnxruntime"):
        open_generator(exported("mlp", 0) / "model.int8.onnx", backend="torchscript")
    with pytest.raises(GantoolError, match="does not take"):
        open_generator(exported("mlp", 0) / "model.ts.pt", threads=2)
    g = open_generator(exported("mlp", 0) / "model.onnx")
    with pytest.raises(ValueError, match="unconditional"):
        g(np.zeros((2, 8), np.float32), np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="z must have shape"):
        g(np.zeros((2, 3), np.float32))
