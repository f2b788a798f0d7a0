"""The C kernels are real C files: each compiles on its own after the prelude with the export's own
warning flags (warnings are errors), and the text a graph gets is put together from them as before."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from gantool.export.c.backend import HOST_FLAGS, host_compiler
from gantool.export.c.kernels import KERNEL_FILES, kernel, kernels_for

KERNELS_DIR = "gantool/export/c/kernels"


@pytest.mark.parametrize("name", KERNEL_FILES)
def test_each_kernel_file_compiles_with_warnings_as_errors(name, tmp_path):
    cc = host_compiler()
    if cc is None:
        pytest.skip("no C compiler on this machine (cc, gcc or clang)")
    root = Path(__file__).resolve().parents[3]
    unit = tmp_path / f"unit_{name}"
    # place_phase, depth_to_space and apply_table stand alone; conv2d and gemm need requantize (core.c).
    needs = [] if name == "core.c" else ["core.c"]
    unit.write_text('#include "prelude.h"\n' + "".join(kernel(n) for n in needs) + kernel(name))
    shutil.copy(root / KERNELS_DIR / "prelude.h", tmp_path / "prelude.h")
    done = subprocess.run(
        [cc, *HOST_FLAGS, "-Wno-unused-function", "-x", "c", "-c", unit.name, "-o", "unit.o"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_the_kernel_text_follows_the_graph():
    plain, d2s, phase = kernels_for(False, False), kernels_for(True, False), kernels_for(False, True)
    assert "depth_to_space" not in plain and "place_phase" not in plain and "static void conv2d(" in plain
    assert d2s.index("depth_to_space(") < d2s.index("apply_table(")  # between conv2d and apply_table
    assert phase.startswith(plain) and "place_phase" in phase[len(plain) :]


def test_an_unknown_kernel_file_is_refused():
    with pytest.raises(ValueError, match="no C kernel file"):
        kernel("../../../etc/passwd")
