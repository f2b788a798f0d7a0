"""What is particular to the ExecuTorch and OpenVINO rows (what every row shares is in test_rows.py):
the delegate report, the int8 program's size, the bf16 backend, a missing extra named."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from typer.testing import CliRunner

from gantool.artifacts import ARTIFACTS, open_generator
from gantool.cli import app
from gantool.core.errors import GantoolError
from gantool.runtime.latents import seeded_inputs

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
            cache[arch, k] = (out, export(trained_run(arch, k), ExportConfig(
                out_dir=str(out), formats=EDGE, variants=("int8",), force=True, fid=False), progress=False))
        return cache[arch, k]

    return make


@pytest.mark.parametrize("arch, k", [("dcgan", 10), ("mlp", 0)])
def test_every_edge_format_exported_and_verified(edge_export, arch, k):
    out, result = edge_export(arch, k)
    report = result.report
    # ExecuTorch: what stayed outside the XNNPACK delegate is reported; the label lookup only.
    outside = report["notes"]["model.pte"]["outside_delegate"]
    assert len(outside) == (0 if k == 0 else 1) and all("embedding" in o for o in outside), outside
    assert (out / "model.int8.pte").stat().st_size < 0.6 * (out / "model.pte").stat().st_size  # tiny model: headers count


def test_openvino_runs_at_both_precisions(edge_export):
    out, _ = edge_export("dcgan", 10)
    assert open_generator(out / "model.xml").precision == "f32"
    assert open_generator(out / "model.xml", backend="openvino.bf16").precision == "bf16"


def test_missing_extra_is_named(trained_run, tmp_path, monkeypatch):
    from gantool.export import ExportConfig, export

    monkeypatch.setitem(sys.modules, "executorch", None)  # as if gantool[executorch] were not installed
    monkeypatch.setitem(sys.modules, "executorch.exir", None)
    with pytest.raises(GantoolError, match=r"--executorch needs executorch.*pip install 'gantool\[executorch\]'"):
        export(trained_run("mlp", 0), ExportConfig(out_dir=str(tmp_path / "o"), formats=("executorch",)),
               progress=False)
    assert not (tmp_path / "o").exists()
