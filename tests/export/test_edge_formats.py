"""What is particular to the ExecuTorch and OpenVINO rows (what every row shares is in test_rows.py):
the delegate report, the int8 program's size, the bf16 backend, a missing extra named."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import pytest
from typer.testing import CliRunner

from gantool.artifacts import ARTIFACTS, open_generator
from gantool.core.errors import GantoolError

pytest.importorskip("executorch", reason="the executorch extra is not installed (make test installs it)")
pytest.importorskip("openvino", reason="the openvino extra is not installed (make test installs it)")

pytestmark = pytest.mark.edge
runner = CliRunner()
EDGE = tuple(dict.fromkeys(k.group for k in ARTIFACTS.values() if k.needs))  # the groups that need an extra


@pytest.fixture(scope="module")
def edge_export(trained_run, tmp_path_factory):
    from gantool.export import ExportConfig, export

    cache = {}

    def make(arch, k):
        if (arch, k) not in cache:
            out = tmp_path_factory.mktemp(f"edge-{arch}-{k}")
            cache[arch, k] = (
                out,
                export(
                    trained_run(arch, k),
                    ExportConfig(out_dir=str(out), formats=EDGE, variants=("int8",), force=True, fid=False),
                    progress=False,
                ),
            )
        return cache[arch, k]

    return make


@pytest.mark.parametrize("arch, k", [("dcgan", 10), ("mlp", 0)])
def test_every_edge_format_exported_and_verified(edge_export, arch, k):
    out, result = edge_export(arch, k)
    report = result.report
    # ExecuTorch: what stayed outside the XNNPACK delegate is reported; the label lookup only.
    outside = report.notes["model.pte"].facts["outside_delegate"]
    assert len(outside) == (0 if k == 0 else 1) and all("embedding" in o for o in outside), outside
    assert (out / "model.int8.pte").stat().st_size < 0.6 * (
        out / "model.pte"
    ).stat().st_size  # tiny model: headers count


def test_openvino_runs_at_both_precisions(edge_export):
    out, _ = edge_export("dcgan", 10)
    assert open_generator(out / "model.xml").precision == "f32"
    assert open_generator(out / "model.xml", backend="openvino.bf16").precision == "bf16"


def test_missing_extra_is_named(trained_run, tmp_path, monkeypatch):
    from gantool.export import ExportConfig, export

    monkeypatch.setitem(sys.modules, "executorch", None)  # as if gantool[executorch] were not installed
    monkeypatch.setitem(sys.modules, "executorch.exir", None)
    with pytest.raises(GantoolError, match=r"--executorch needs executorch.*pip install 'gantool\[executorch\]'"):
        export(
            trained_run("mlp", 0), ExportConfig(out_dir=str(tmp_path / "o"), formats=("executorch",)), progress=False
        )
    assert not (tmp_path / "o").exists()


def _claim_classes(folder, file: str, classes: int) -> None:
    sidecar = folder / f"{file}.gantool.json"
    meta = json.loads(sidecar.read_text())
    meta["num_classes"] = classes
    sidecar.write_text(json.dumps(meta))


def test_a_sidecar_claiming_more_classes_than_the_ir_holds_is_refused(edge_export, tmp_path):
    """OpenVINO's Gather reads past the table without a word: the claim is checked against the IR."""
    src, _ = edge_export("dcgan", 10)
    for name in ("model.xml", "model.bin", "model.xml.gantool.json"):
        shutil.copy(src / name, tmp_path / name)
    _claim_classes(tmp_path, "model.xml", 1000)
    with pytest.raises(GantoolError, match="metadata says 1000 classes, but the program's label embedding has 10"):
        open_generator(tmp_path / "model.xml")


def test_a_label_the_pte_program_refuses_is_one_line(edge_export, tmp_path):
    src, _ = edge_export("dcgan", 10)
    for name in ("model.pte", "model.pte.gantool.json"):
        shutil.copy(src / name, tmp_path / name)
    _claim_classes(tmp_path, "model.pte", 1000)
    probe = textwrap.dedent("""
        import sys, numpy as np
        from gantool.artifacts import open_generator
        g = open_generator(sys.argv[1])
        try:
            g(np.zeros((1, g.latent_dim), np.float32), np.array([999]))
        except ValueError as e:
            print(e)
    """)
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "model.pte")], capture_output=True, text=True, timeout=300
    )
    assert "ExecuTorch could not run the program" in done.stdout, done.stdout + done.stderr
    assert done.stderr == "", f"ExecuTorch's C++ log reached stderr: {done.stderr[:300]}"
