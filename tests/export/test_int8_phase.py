"""The int8 file's phase form (gantool.export.makers.int8_phase): each quantized sub-pixel convolution runs as
four 2x2 phase convolutions (a narrow layer: two row-phase 2x3 ones) interleaved in uint8, the image's
convolution as a block convolution (int8_narrow); the pixels are those of the earlier phase form; the
C lowering follows it (c_phase), refuses moves that are not a phase interleave, and files made in the
earlier sub-pixel form still open, verify, sample and lower."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from typer.testing import CliRunner

from gantool.cli import app
from gantool.core.errors import GantoolError

pytest.importorskip("onnx")
runner = CliRunner()


def _ops(path) -> Counter:
    import onnx

    return Counter(n.op_type for n in onnx.load(str(path)).graph.node)


def test_the_int8_file_runs_phase_convolutions_and_no_zero_taps(c_export):
    import onnx
    from onnx import numpy_helper

    out = c_export(10)
    model = onnx.load(str(out / "model.int8.onnx"))
    ops = _ops(out / "model.int8.onnx")
    # width 4: the first layer's phases (8 outputs) run as two row-phase 2x3 convolutions of 16 outputs,
    # the second's (4 outputs) as four 2x2 convolutions widened to 16 and Sliced back, the image's as a
    # 6x6 block convolution of 16 pixels per position and a DepthToSpace
    assert ops["Conv"] == 2 + 4 + 1 and ops["Slice"] == 4 and ops["DepthToSpace"] == 1, ops
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    kernels = sorted(
        tuple(inits[n.input[0]].shape[2:])
        for n in model.graph.node
        if n.op_type == "DequantizeLinear" and n.input[0] in inits and inits[n.input[0]].ndim == 4
    )
    assert kernels == [(2, 2)] * 4 + [(2, 3)] * 2 + [(6, 6)], kernels
    report = json.loads((out / "verification.json").read_text())
    assert "phase convolutions" in report["notes"]["model.int8.onnx"]["built_from"]


def test_the_c_file_follows_the_phase_form_with_fewer_weights(c_export):
    from gantool.export.c.source import generate_from_onnx

    files = generate_from_onnx(c_export(10) / "model.seeded.int8.onnx")
    # the row-phase convolutions run as their 2x2 phases, the block convolution as its 3x3 kernel
    assert "place_phase(" in files.source and "depth_to_space(" not in files.source
    assert "one phase's output" in files.header


def test_moves_that_are_not_a_phase_interleave_are_refused(c_export):
    """Swapping the two row phases of the interleave draws a valid image of the wrong pixels: refused."""
    import onnx

    from gantool.export.c.lower import lower

    model = onnx.load(str(c_export(10) / "model.seeded.int8.onnx"))
    cat_h = next(n for n in model.graph.node if n.op_type == "Concat" and n.name.startswith("phase_cat_h"))
    first, second = list(cat_h.input)
    cat_h.input[0], cat_h.input[1] = second, first
    with pytest.raises(GantoolError, match="pads|not a phase interleave"):
        lower(model)


def test_a_file_in_the_earlier_sub_pixel_form_still_opens_verifies_samples_and_lowers(
    trained_run, tmp_path, monkeypatch
):
    import gantool.export.makers.variants as variants
    from gantool.export import ExportConfig, export
    from gantool.runtime import Sampler

    monkeypatch.setattr(variants, "to_phase_form", lambda model: 0)  # what earlier gantool versions wrote
    out = tmp_path / "old"
    export(trained_run("dcgan", 10), ExportConfig(out_dir=str(out), formats=("c",), fid=False), progress=False)
    monkeypatch.undo()
    assert _ops(out / "model.int8.onnx")["DepthToSpace"] == 2
    res = runner.invoke(app, ["verify", str(out)])
    assert res.exit_code == 0, res.output
    images = Sampler(out / "model.seeded.int8.onnx").sample(4, seed=3, labels=[1, 2, 3, 4])
    assert images.shape == (4, 28, 28) and images.std() > 0
    report = json.loads((out / "verification.json").read_text())
    judged = [v for v in report["variants"] if v["file"] == "gantool_generator.c"][0]
    assert judged["identical_images"] >= 0.99


def test_the_phase_form_is_close_to_the_sub_pixel_form_it_came_from(trained_run, tmp_path, monkeypatch):
    """The same int8 weights with one rounding where the sub-pixel file had two: within a few levels."""
    import onnx

    import gantool.export.makers.variants as variants
    from gantool.export import ExportConfig, export
    from gantool.export.makers.int8_phase import to_phase_form
    from gantool.runtime.onnx import OnnxGenerator

    out = tmp_path / "sub"
    monkeypatch.setattr(variants, "to_phase_form", lambda model: 0)
    export(
        trained_run("dcgan", 10),
        ExportConfig(out_dir=str(out), formats=("onnx",), variants=("int8",), fid=False),
        progress=False,
    )
    monkeypatch.undo()
    model = onnx.load(str(out / "model.int8.onnx"))
    assert to_phase_form(model) == 2
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(tmp_path / "phase.onnx"))
    z = np.random.default_rng(0).standard_normal((64, 8)).astype(np.float32)
    labels = np.arange(64) % 10
    a = OnnxGenerator(out / "model.int8.onnx").images(z, labels).astype(int)
    b = OnnxGenerator(tmp_path / "phase.onnx").images(z, labels).astype(int)
    assert np.abs(a - b).mean() < 1.0 and np.abs(a - b).max() <= 16


def test_row_phase_and_block_convolutions_give_the_earlier_forms_pixels(trained_run, tmp_path, monkeypatch):
    """The same export with the row-phase and block forms turned off (four widened phase convolutions,
    the image's widened to 16 and Sliced): the same pixels, fewer Slices, the same C file."""
    import gantool.export.makers.int8_narrow as narrow
    import gantool.export.makers.int8_phase as phase
    from gantool.export import ExportConfig, export
    from gantool.runtime.onnx import OnnxGenerator

    run = trained_run("dcgan", 10)  # width 4: phase convolutions of 8 and 4 outputs
    files = {}
    for name in ("earlier", "today"):
        if name == "earlier":
            monkeypatch.setattr(phase, "ROW_PHASE_MAX", 0)
            monkeypatch.setattr(narrow, "_block_conv", lambda *args: [])
        out = tmp_path / name
        export(run, ExportConfig(out_dir=str(out), formats=("onnx",), variants=("int8",), fid=False), progress=False)
        monkeypatch.undo()
        files[name] = out / "model.int8.onnx"
    assert _ops(files["earlier"])["Slice"] == 4 + 4 + 1 and _ops(files["today"])["Slice"] == 4
    assert _ops(files["today"])["DepthToSpace"] == 1
    z = np.random.default_rng(0).standard_normal((256, 8)).astype(np.float32)
    labels = np.arange(256) % 10
    a, b = (OnnxGenerator(files[k]).images(z, labels) for k in ("earlier", "today"))
    assert a.std() > 0 and np.array_equal(a, b)
    from gantool.export.c.source import generate_from_onnx

    earlier, today = (generate_from_onnx(files[k]) for k in ("earlier", "today"))
    assert earlier.source == today.source and "depth_to_space(" not in today.source  # the same C, no zero taps


def test_reform_int8_rewrites_a_file_of_the_earlier_form_with_the_same_pixels_and_c(tmp_path):
    """.ci/reform_int8.py (how the bundled nano model was re-formed): a file of the earlier phase form
    (four widened phase convolutions, the image's widened and Sliced) becomes today's form, the script
    itself refusing to write anything whose pixels or C differ."""
    import importlib.util
    from pathlib import Path

    import onnx

    from gantool.runtime.bundled import bundled_for_size

    spec = importlib.util.spec_from_file_location("reform_int8", Path(__file__).parents[2] / ".ci" / "reform_int8.py")
    assert spec is not None and spec.loader is not None
    reform = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reform)
    today = onnx.load(str(bundled_for_size("nano")))
    seeded_slices = _ops_of(today)["Slice"]  # the in-graph latent draw's own; no phase convolution is Sliced today
    reform.sub_pixel_form(today)  # back to the sub-pixel blocks the exporter quantizes
    assert _ops_of(today)["DepthToSpace"] == 2 and _ops_of(today)["Slice"] == seeded_slices
    earlier = tmp_path / "earlier.onnx"
    import gantool.export.makers.int8_narrow as narrow
    import gantool.export.makers.int8_phase as phase

    old_max, old_block = phase.ROW_PHASE_MAX, narrow._block_conv
    phase.ROW_PHASE_MAX, narrow._block_conv = 0, lambda *args: []
    try:
        assert phase.to_phase_form(today) == 2
    finally:
        phase.ROW_PHASE_MAX, narrow._block_conv = old_max, old_block
    # the earlier form: the 8-output phase convolutions and the image's widened to 16 and Sliced
    assert _ops_of(today)["Slice"] == seeded_slices + 4 + 1 and _ops_of(today)["DepthToSpace"] == 0
    onnx.save(today, str(earlier))
    out = tmp_path / "today.onnx"
    model = onnx.load(str(earlier))
    reform.sub_pixel_form(model)
    assert phase.to_phase_form(model) == 2
    onnx.save(model, str(out))
    reform.same(earlier, out)  # raises SystemExit on any pixel or C difference
    assert _ops_of(onnx.load(str(out))) == _ops_of(onnx.load(str(bundled_for_size("nano"))))
    again = onnx.load(str(out))  # a file of today's form re-formed again: its own phase_* names kept apart
    reform.sub_pixel_form(again)
    assert phase.to_phase_form(again) == 2
    onnx.checker.check_model(again, full_check=True)
    onnx.save(again, str(tmp_path / "again.onnx"))
    reform.same(out, tmp_path / "again.onnx")


def _ops_of(model) -> Counter:
    return Counter(n.op_type for n in model.graph.node)
