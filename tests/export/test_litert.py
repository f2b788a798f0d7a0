"""The LiteRT rows beyond what every row gets (test_rows.py): fixed-batch files run any n, the
torch-free Sampler opens them, int8 files take float latents, options and hostile headers are
one-line errors, a missing runtime names its extra, and one interpreter serves many threads."""

from __future__ import annotations

import json
import shutil
import threading

import numpy as np
import pytest
from typer.testing import CliRunner

from gantool.artifacts import open_generator
from gantool.cli import app
from gantool.core.errors import GantoolError

pytest.importorskip("litert_torch", reason="the LiteRT rows need litert-torch: pip install 'gantool[litert]'")
pytest.importorskip("ai_edge_litert", reason="the LiteRT rows need ai-edge-litert: pip install 'gantool[litert]'")
pytestmark = pytest.mark.edge
runner = CliRunner()


def test_any_n_runs_on_a_fixed_batch_file_and_matches_eager(tflite_export, trained_run):
    from gantool.runtime import Sampler

    sampler = Sampler(tflite_export / "model.tflite", threads=1)
    assert sampler.generator.file_batch == 1 and sampler.generator.backend == "litert"
    eager = open_generator(trained_run("dcgan", 10))
    for n in (1, 5, 17):
        z = sampler.latents(n, seed=n)
        labels = np.arange(n) % 10
        np.testing.assert_allclose(sampler.generate_float(z, labels), eager(z, labels), atol=1e-4)
    png = tflite_export / "grid.png"
    res = runner.invoke(
        app, ["sample", str(tflite_export / "model.tflite"), "--n", "10", "--seed", "2", "--out", str(png)]
    )
    assert res.exit_code == 0 and png.stat().st_size > 0 and not res.stderr, res.output


def test_the_int8_file_takes_float_latents_and_keeps_int64_labels(tflite_export):
    g = open_generator(tflite_export / "model.int8.tflite")
    dtypes = [np.dtype(d["dtype"]) for d in g._inputs]
    assert dtypes == [np.int8, np.int64], "z quantized in the file, the label kept int64 (enable_x64)"
    reference = open_generator(tflite_export / "model.tflite")
    z = np.random.default_rng(0).standard_normal((8, g.latent_dim)).astype(np.float32)
    labels = np.arange(8)
    assert np.abs(g(z, labels) - reference(z, labels)).mean() < 0.02


def test_options_the_interpreter_cannot_honour_are_one_line_errors(tflite_export):
    from gantool.runtime import Sampler

    path = tflite_export / "model.tflite"
    with pytest.raises(GantoolError, match="providers= is an onnxruntime option"):
        Sampler(path, providers=["CUDAExecutionProvider"])
    with pytest.raises(GantoolError, match="threads must be a positive integer"):
        open_generator(path, threads=0)


@pytest.mark.parametrize(
    "head", [b"PK\x03\x04" + b"\x00" * 60, b"\x1c\x00\x00\x00TFL3", b"\xff\xff\xff\x7fTFL3" + b"\x00" * 60]
)
def test_a_foreign_or_cut_header_never_reaches_the_interpreter(tflite_export, tmp_path, head):
    bad = tmp_path / "model.tflite"
    bad.write_bytes(head)
    shutil.copy(tflite_export / "model.tflite.gantool.json", tmp_path / "model.tflite.gantool.json")
    with pytest.raises(GantoolError, match="is not a (loadable )?LiteRT") as exc:
        open_generator(bad)
    assert "\n" not in str(exc.value)


def test_a_missing_runtime_names_its_extra(tflite_export, monkeypatch):
    import gantool.artifacts.opener as opener

    real = opener.find_spec
    monkeypatch.setattr(opener, "find_spec", lambda name: None if name == "ai_edge_litert" else real(name))
    res = runner.invoke(app, ["sample", str(tflite_export / "model.tflite"), "--out", "x.png"])
    assert (
        res.exit_code == 2
        and res.stderr.strip()
        == "error: the litert backend needs ai_edge_litert; pip install 'gantool[litert-runtime]'"
    ), res.output


def test_one_interpreter_serves_many_threads(tflite_export):
    from gantool.runtime import Sampler

    sampler = Sampler(tflite_export / "model.tflite", threads=1)
    want = {s: sampler.sample(6, seed=s, labels=s % 10) for s in range(4)}
    got = {}
    threads = [
        threading.Thread(target=lambda s=s: got.__setitem__(s, sampler.sample(6, seed=s, labels=s % 10)))
        for s in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(got[s], want[s]) for s in want)


def test_the_sidecar_says_what_the_file_is(tflite_export):
    meta = json.loads((tflite_export / "model.int8.tflite.gantool.json").read_text())
    assert (meta["artifact_format"], meta["variant"]) == ("tflite", "int8")
    report = json.loads((tflite_export / "verification.json").read_text())
    assert report["notes"]["model.tflite"]["batch"] == 1


def test_export_without_the_converter_names_its_extra(trained_run, tmp_path, monkeypatch):
    import sys

    from gantool.export import ExportConfig, export

    monkeypatch.setitem(sys.modules, "litert_torch", None)  # as if gantool[litert] were not installed
    with pytest.raises(GantoolError, match=r"--tflite needs litert_torch.*pip install 'gantool\[litert\]'"):
        export(trained_run("dcgan", 10), ExportConfig(out_dir=str(tmp_path / "o"), formats=("tflite",)), progress=False)
    assert not (tmp_path / "o").exists()
