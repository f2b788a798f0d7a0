"""The plain-C row: generated C99 that matches the int8 ONNX file seed by seed, on this machine and on
an emulated Cortex-M4 (arm-none-eabi-gcc + qemu-system-arm mps2-an386, installed by .ci/run), and its
bad inputs: labels, budgets, unsupported operators, edited files, a missing compiler."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from gantool.cli import app
from gantool.core.errors import GantoolError

pytest.importorskip("onnx")
runner = CliRunner()
MCU = Path(__file__).resolve().parents[3] / "examples" / "mcu"


def _onnx_pixels(out: Path, seeds: np.ndarray, labels) -> np.ndarray:
    from gantool.runtime.generator import to_uint8
    from gantool.runtime.onnx import OnnxGenerator

    return to_uint8(OnnxGenerator(out / "model.seeded.int8.onnx").run_seeds(seeds, labels)).reshape(len(seeds), -1)


@pytest.mark.parametrize("k", [10, 0])
def test_c_export_matches_the_int8_file_seed_by_seed(c_export, k):
    from gantool.artifacts import open_generator

    out = c_export(k)
    report = json.loads((out / "verification.json").read_text())
    judged = [v for v in report["variants"] if v["file"] == "gantool_generator.c"]
    assert judged and judged[0]["passed"] and judged[0]["samples"] == 1000, judged
    assert judged[0]["identical_images"] >= 0.99 and judged[0]["max_level_difference"] <= 2
    header = (out / "gantool_generator.h").read_text()
    assert "#define GANTOOL_IMAGE_SIZE   784" in header and f"#define GANTOOL_NUM_CLASSES  {k}" in header
    assert "int gantool_generate(int64_t seed, int32_t label, uint8_t image[GANTOOL_IMAGE_SIZE]);" in header
    source = (out / "gantool_generator.c").read_text()
    assert "malloc" not in source and "#include <stdio.h>" not in source and "static uint8_t buf_a[" in source
    g = open_generator(out / "gantool_generator.c")
    seeds = np.array([0, 1, 2**31, 2**62 + 5, 2**63 - 1], dtype=np.int64)
    labels = np.array([0, 3, 9, 5, 1]) if k else None
    got = (g.run_seeds(seeds, labels) * 255).round().astype(np.uint8).reshape(len(seeds), -1)
    assert (got == _onnx_pixels(out, seeds, labels)).all()


def test_bad_labels_return_a_negative_code_and_write_nothing(c_export):
    from gantool.artifacts import open_generator

    conditional, unconditional = (
        open_generator(c_export(10) / "gantool_generator.c"),
        open_generator(c_export(0) / "gantool_generator.c"),
    )
    assert conditional.generate_code(5, 3) == 0 and unconditional.generate_code(5, -1) == 0
    for label in (-1, 10, 2**31 - 1, -(2**31)):
        assert conditional.generate_code(5, label) < 0
    for label in (0, 9):
        assert unconditional.generate_code(5, label) < 0


def test_an_edited_c_file_is_refused_before_any_compiler_sees_it(c_export, tmp_path):
    from gantool.artifacts import open_generator

    bad = tmp_path / "bad"
    shutil.copytree(c_export(10), bad)
    source = bad / "gantool_generator.c"
    source.write_text(source.read_text().replace("return GANTOOL_OK;", 'system("rm -rf ~"); return GANTOOL_OK;'))
    with pytest.raises(GantoolError, match="not what gantool generates") as exc:
        open_generator(source)
    assert "\n" not in str(exc.value)
    res = runner.invoke(app, ["verify", str(bad)])
    assert res.exit_code == 1 and "gantool_generator.c changed since export" in res.stderr


@pytest.mark.parametrize("option, value, what", [("--max-flash", "1K", "flash"), ("--max-sram", "512", "SRAM")])
def test_a_budget_the_model_exceeds_is_one_line_and_writes_nothing(trained_run, tmp_path, option, value, what):
    out = tmp_path / "out"
    res = runner.invoke(app, ["export", str(trained_run("dcgan", 10)), "--out", str(out), "--c", option, value])
    assert res.exit_code == 2 and f"bytes of {what}" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_budgets_parse_and_refuse_nonsense(trained_run, tmp_path):
    from gantool.export.config import parse_bytes

    assert parse_bytes("96K", "--max-flash") == 96 * 1024 and parse_bytes("1M", "-") == 1 << 20
    assert parse_bytes("98304", "-") == 98304 and parse_bytes(None, "-") is None
    res = runner.invoke(
        app, ["export", str(trained_run("dcgan", 10)), "--out", str(tmp_path / "o"), "--c", "--max-flash", "lots"]
    )
    assert res.exit_code == 2 and "--max-flash 'lots'" in res.stderr


def test_an_mlp_is_refused_for_c_in_one_line(trained_run, tmp_path):
    res = runner.invoke(app, ["export", str(trained_run("mlp", 0)), "--out", str(tmp_path / "o"), "--c"])
    assert res.exit_code == 2 and "--c exports dcgan generators" in res.stderr and not (tmp_path / "o").exists()


def test_an_operator_the_c_backend_lacks_is_named(c_export):
    import onnx
    from onnx import helper

    from gantool.export.c.lower import lower

    model = onnx.load(str(c_export(10) / "model.seeded.int8.onnx"))
    last = model.graph.node[-1]
    model.graph.node.append(helper.make_node("Softplus", [last.output[0]], ["soft"], name="my_softplus"))
    model.graph.output[0].name = "soft"
    with pytest.raises(GantoolError, match="does not support operator Softplus .node 'my_softplus'"):
        lower(model)


def test_without_a_c_compiler_the_check_is_a_note(c_export, monkeypatch, tmp_path):
    from gantool.artifacts import ARTIFACTS
    from gantool.export.c.maker import verify_c
    from gantool.export.config import ExportConfig

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CC", raising=False)
    out = c_export(10)
    [result] = verify_c(ARTIFACTS["c"], out / "gantool_generator.c", out / "model.seeded.int8.onnx", ExportConfig())
    assert result.passed and result.note and "no C compiler" in result.note and result.pixels is None


def _need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(
            f"{', '.join(missing)} not installed (apt-get install gcc-arm-none-eabi "
            "libnewlib-arm-none-eabi qemu-system-arm)"
        )


def test_the_c_export_runs_on_an_emulated_cortex_m4_and_matches(c_export, tmp_path):
    """Cross-compiled with -mcpu=cortex-m4 -mfloat-abi=hard, run under qemu-system-arm -M mps2-an386
    (examples/mcu's check firmware): the same pixels as the int8 ONNX file, bad labels refused."""
    _need("arm-none-eabi-gcc", "qemu-system-arm")
    out = c_export(10)
    n = 24
    seeds = (np.arange(n, dtype=np.int64) * 104729 + 3) ^ (np.arange(n, dtype=np.int64) << 40)
    labels = np.arange(n) % 10
    check = tmp_path / "check"
    check.mkdir()
    (check / "seeds.h").write_text(
        f"#define CHECK_COUNT {n}\nstatic const int64_t check_seeds[] = {{{', '.join(f'{s}LL' for s in seeds)}}};\n"
        f"static const int32_t check_labels[] = {{{', '.join(map(str, labels))}}};\n"
    )
    build = tmp_path / "build"
    make = ["make", "-s", "-C", str(MCU), f"GEN={out}", f"BUILD={build}", f"CHECK={check}"]
    done = subprocess.run(make + ["check"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    run = subprocess.run(make + ["check-run"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, (run.stdout[-1000:], run.stderr[-1000:])
    lines = [ln.strip() for ln in run.stdout.splitlines() if ln.strip()]
    assert lines[0] == "bad-label refused"
    images = np.array([np.frombuffer(bytes.fromhex(ln), dtype=np.uint8) for ln in lines[1 : 1 + n]])
    assert images.shape == (n, 784) and lines[1 + n].startswith("ticks ")
    assert (images == _onnx_pixels(out, seeds, labels)).all()


def test_the_bundled_nano_firmware_builds_and_draws_a_digit(tmp_path):
    _need("arm-none-eabi-gcc", "qemu-system-arm")
    make = ["make", "-s", "-C", str(MCU), f"BUILD={tmp_path}", "SEED=7", "LABEL=3"]
    run = subprocess.run(make + ["run"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    from gantool.runtime.sampler import Sampler

    rows = [ln for ln in run.stdout.splitlines() if len(ln) == 56]
    assert len(rows) == 28 and sum(c != " " for r in rows for c in r) > 40
    assert "seed 7, label 3:" in run.stdout
    pixels = Sampler.bundled("nano").sample_seeds([7], 3)[0]  # the same digit, drawn by onnxruntime
    want = ["".join(2 * " .:-=+*#%@"[int(p) * 10 // 256] for p in row) for row in pixels]
    assert rows == want


def test_the_committed_nano_c_files_are_what_gantool_generates_from_the_bundled_model():
    from gantool.export.c.source import generate_from_onnx
    from gantool.runtime.bundled import bundled_for_size

    files = generate_from_onnx(bundled_for_size("nano"))
    assert (MCU / "generated" / "gantool_generator.c").read_text() == files.source, (
        "examples/mcu/generated is stale: regenerate it (make -C examples/mcu generated)"
    )
    assert (MCU / "generated" / "gantool_generator.h").read_text() == files.header


def test_the_bundled_nano_model_fits_a_microcontroller():
    """The nano preset's targets: <= 100 KB of int8 weights (and tables), <= 32 KB of activations."""
    from gantool.export.c.source import generate_from_onnx
    from gantool.runtime.bundled import bundled_for_size

    files = generate_from_onnx(bundled_for_size("nano"))
    assert files.flash_bytes <= 100 * 1024 and files.sram_bytes <= 32 * 1024, (files.flash_bytes, files.sram_bytes)


@pytest.mark.parametrize(
    "text, words",
    [
        ("²", "give a positive number"),
        ("¹K", "give a positive number"),
        ("9" * 5000, "over the limit of 1 TiB"),
        ("0", "give a positive number"),
        ("99999999999999999999K", "over the limit of 1 TiB"),
        ("1G", "positive"),
    ],
)
def test_a_budget_that_is_not_ascii_digits_or_is_absurd_is_one_line(text, words):
    from gantool.export.config import parse_bytes

    with pytest.raises(GantoolError, match=words) as exc:
        parse_bytes(text, "--max-flash")
    assert "\n" not in str(exc.value) and len(str(exc.value)) < 200
    assert "102399999999999999998976" not in str(exc.value)  # what was given, not a computed byte count


def test_a_unicode_budget_on_the_command_line_is_one_line(trained_run, tmp_path):
    res = runner.invoke(
        app, ["export", str(trained_run("dcgan", 10)), "--out", str(tmp_path / "o"), "--c", "--max-sram", "²"]
    )
    assert res.exit_code == 2 and "--max-sram '²'" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_a_flash_budget_below_the_models_weights_is_refused_before_any_conversion(trained_run, tmp_path, monkeypatch):
    import gantool.export.exporter as exporter

    def no_conversion(*args, **kwargs):
        raise AssertionError("a file was made before the budget was checked")

    monkeypatch.setattr(exporter, "make", no_conversion)
    res = runner.invoke(
        app, ["export", str(trained_run("dcgan", 10)), "--out", str(tmp_path / "o"), "--c", "--max-flash", "100"]
    )
    assert res.exit_code == 2 and "weights, so its C generator needs at least" in res.stderr, res.output
    assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()
