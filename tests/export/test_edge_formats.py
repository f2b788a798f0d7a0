"""Edge formats (rows of the artifact table): .pt2, .ort, ExecuTorch .pte (fp32 + int8), OpenVINO IR."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from typer.testing import CliRunner

from gantool.artifacts import open_generator
from gantool.cli import app
from gantool.core.errors import GantoolError
from gantool.runtime.latents import seeded_inputs

pytest.importorskip("executorch", reason="the executorch extra is not installed (make test installs it)")
pytest.importorskip("openvino", reason="the openvino extra is not installed (make test installs it)")

pytestmark = pytest.mark.edge
runner = CliRunner()
EDGE = ("onnx", "pt2", "ort", "executorch", "openvino")


@pytest.fixture(scope="module")
def edge_export(trained_run, tmp_path_factory):
    from gantool.export import ExportConfig, export

    cache = {}

    def make(arch, k):
        if (arch, k) not in cache:
            out = tmp_path_factory.mktemp(f"edge-{arch}-{k}")
            cache[arch, k] = (out, export(trained_run(arch, k), ExportConfig(
                out_dir=str(out), formats=EDGE, variants=("int8",), force=True, fid=False), progress=False))
        return cache[arch, k]

    return make


@pytest.mark.parametrize("arch, k", [("dcgan", 10), ("mlp", 0)])
def test_every_edge_format_exported_and_verified(edge_export, arch, k):
    out, result = edge_export(arch, k)
    assert set(result.files) == {"onnx", "int8", "pt2", "ort", "pte", "pte-int8", "openvino"}
    report = result.report
    exact = {(r["file"], r["backend"]): r for r in report["results"]}
    for name, backend in (("model.pt2", "torch.export"), ("model.ort", "onnxruntime"), ("model.pte", "executorch")):
        rows = [r for (f, b), r in exact.items() if f == name and b == backend]
        assert rows and all(r["max_abs_error"] <= 1e-4 for r in report["results"] if r["file"] == name)
    judged = {(v["file"], v["backend"]): v for v in report["variants"]}
    assert {("model.int8.pte", "executorch"), ("model.xml", "openvino"), ("model.xml", "openvino.bf16")} <= set(judged)
    assert all(v["passed"] for v in judged.values())
    manifest = json.loads((out / "manifest.json").read_text())["files"]
    for companion in ("model.bin", "model.xml.gantool.json", "model.pte.gantool.json", "model.required_operators.config"):
        assert manifest[companion]["companion"] is True
    # ExecuTorch: what stayed outside the XNNPACK delegate is reported; the label lookup only.
    outside = report["notes"]["model.pte"]["outside_delegate"]
    assert len(outside) == (0 if k == 0 else 1) and all("embedding" in o for o in outside), outside
    assert (out / "model.int8.pte").stat().st_size < 0.6 * (out / "model.pte").stat().st_size  # tiny model: headers count
    ops = report["notes"]["model.ort"]["required_operators"]
    assert any("Gemm" in line or "MatMul" in line for line in ops)


def test_edge_files_open_and_agree(edge_export):
    out, _ = edge_export("dcgan", 10)
    feeds = seeded_inputs(300, 8, 10, seed=4)  # > 256: ExecuTorch runs it in chunks
    want = open_generator(out / "model.onnx")(feeds["z"], feeds["label"])
    for name, atol in (("model.pt2", 1e-4), ("model.ort", 1e-4), ("model.pte", 1e-4), ("model.xml", 1e-3),
                       ("model.int8.pte", 0.3)):
        got = open_generator(out / name)(feeds["z"], feeds["label"])
        np.testing.assert_allclose(got, want, atol=atol, err_msg=name)
    bf16 = open_generator(out / "model.xml", backend="openvino.bf16")
    assert bf16.precision == "bf16"


def test_pt2_loads_without_gantool(edge_export):
    out, _ = edge_export("dcgan", 10)
    code = textwrap.dedent(f"""
        import sys, torch
        sys.modules["gantool"] = None  # gantool cannot be imported
        m = torch.export.load({str(out / "model.pt2")!r}).module()
        y = m(torch.zeros(5, 8), torch.arange(5))
        print(tuple(y.shape), float(y.min()) >= 0, float(y.max()) <= 1)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert proc.stdout.strip().endswith("(5, 1, 28, 28) True True")


def test_info_and_sample_know_the_edge_files(edge_export, tmp_path):
    out, _ = edge_export("dcgan", 10)
    for name, fmt in (("model.pt2", "pt2"), ("model.ort", "ort"), ("model.pte", "executorch"),
                      ("model.int8.pte", "executorch"), ("model.xml", "openvino")):
        res = runner.invoke(app, ["info", str(out / name)])
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["artifact_format"] == fmt
    res = runner.invoke(app, ["sample", str(out / "model.ort"), "--n", "4", "--out", str(tmp_path / "o.png")])
    assert res.exit_code == 0 and (tmp_path / "o.png").is_file()
    res = runner.invoke(app, ["info", str(out)])
    assert "model.int8.pte" in res.stdout and "model.xml" in res.stdout


@pytest.mark.parametrize("name", ["model.pte", "model.pt2", "model.ort", "model.xml"])
@pytest.mark.parametrize("damage", ["truncated", "foreign"])
def test_damaged_edge_files_are_one_line_errors(edge_export, tmp_path, name, damage):
    import shutil

    out, _ = edge_export("mlp", 0)
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    data = (bad / name).read_bytes()
    (bad / name).write_bytes(data[: len(data) // 3] if damage == "truncated" else b"\x00gantool? no" * 50)
    with pytest.raises(GantoolError) as exc:
        open_generator(bad / name)
    assert name in str(exc.value) and "\n" not in str(exc.value)
    res = runner.invoke(app, ["verify", str(bad)])
    assert res.exit_code == 1 and f"{name} changed since export" in res.stderr


def test_missing_extra_is_named(trained_run, tmp_path, monkeypatch):
    from gantool.export import ExportConfig, export

    monkeypatch.setitem(sys.modules, "executorch", None)  # as if gantool[executorch] were not installed
    monkeypatch.setitem(sys.modules, "executorch.exir", None)
    with pytest.raises(GantoolError, match=r"--executorch needs executorch.*pip install 'gantool\[executorch\]'"):
        export(trained_run("mlp", 0), ExportConfig(out_dir=str(tmp_path / "o"), formats=("executorch",)),
               progress=False)
    assert not (tmp_path / "o").exists()
