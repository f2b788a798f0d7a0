"""The ARM64 check (tests/arm64/run.py) as part of make test: the torch-free runtime, the bundled
models and an x86 export's torch-free files run on aarch64 under qemu-user and give x86's pixels
(fp32, int8, .ort and seeded files identical, fp16 within its gates, seeded latents bit-identical;
.tflite files, where litert-torch is installed, within 1/255 (fp32) and the pixel gates (int8))."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_the_runtime_gives_x86s_pixels_on_arm64(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("gantool_arm64_run", ROOT / "tests" / "arm64" / "run.py")
    run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run)

    if os.geteuid() != 0:
        pytest.skip("the ARM64 root needs root (chroot, debootstrap): run make test-arm64 as root")
    missing = run.missing_tools()
    if missing:
        pytest.skip(f"ARM64 check: {'; '.join(missing)} (or make system-deps, as root)")
    out = tmp_path / "arm64.md"
    done = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "arm64" / "run.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, (done.stdout[-3000:], done.stderr[-3000:])
    table = out.read_text()
    for name in ("model.onnx", "model.int8.onnx", "model.seeded.int8.onnx", "model.ort", "bundled:nano"):
        row = next(line for line in table.splitlines() if f"| file:{name} |" in line or f"| {name} |" in line)
        assert "| 100.0% | 0 |" in row and row.endswith("| yes |"), row
    assert table.count("| bit-identical | yes |") == 2
    if importlib.util.find_spec("litert_torch"):  # LiteRT: XNNPack's ARM64 kernels, within the rows' gates
        for name in ("model.tflite", "model.int8.tflite"):
            row = next(line for line in table.splitlines() if f"| file:{name} |" in line)
            assert row.endswith("| yes |"), row
