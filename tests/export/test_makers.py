"""Every row's maker follows the maker protocol (gantool.export.job.Maker), imported from its row:
annotated (job: ExportJob, target: Target) -> MakerNote | None; a row's own verifier and precheck
import too. Importing a maker module loads no optional runtime (those load inside the maker)."""

from __future__ import annotations

import inspect
import subprocess
import sys
import typing

import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")

from gantool.artifacts import ARTIFACTS, resolve  # noqa: E402
from gantool.export.job import ExportJob, MakerNote, Target  # noqa: E402


@pytest.mark.parametrize("kind", ARTIFACTS.values(), ids=lambda k: k.name)
def test_the_rows_maker_follows_the_protocol(kind):
    maker = resolve(kind.maker)
    hints = typing.get_type_hints(maker)
    params = list(inspect.signature(maker).parameters)
    assert params == ["job", "target"], f"{kind.maker}: parameters {params}"
    assert hints["job"] is ExportJob and hints["target"] is Target, f"{kind.maker}: {hints}"
    assert hints["return"] in (MakerNote, type(None), typing.Optional[MakerNote]), f"{kind.maker} returns {hints}"
    for ref in (kind.verifier, kind.precheck):
        if ref is not None:
            assert callable(resolve(ref)), ref


def test_maker_modules_import_without_the_optional_runtimes():
    modules = sorted({str(k.maker).partition(":")[0] for k in ARTIFACTS.values()})
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(sorted(m for m in ('executorch', 'openvino', 'litert_torch', 'ai_edge_litert') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]", proc.stdout
