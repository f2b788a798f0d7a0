"""The pixel/FID gates on tiny numpy generators (no training, no torch): what passes, what fails,
and what verification.json records for each."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
import pytest

from gantool.export.config import ExportConfig
from gantool.export.verification.checks import compare_images, pixel_errors
from gantool.export.verification.results import ExactCheck, GateCheck, VerificationReport
from gantool.runtime.generator import Generator
from gantool.runtime.metadata import ModelMetadata

META = ModelMetadata(latent_dim=4, num_classes=0, image_shape=(1, 2, 2), inputs=("z",))


class Tiny(Generator):
    """pixels = sigmoid(z @ W) + offset, one pixel per latent value: a generator in three lines."""

    def __init__(self, offset: float = 0.0, noise: float = 0.0, name: str = "model.onnx") -> None:
        super().__init__(META, Path(name))
        self.offset, self.noise = offset, noise

    def _run(self, z: np.ndarray, labels: Optional[np.ndarray]) -> np.ndarray:
        y = 1 / (1 + np.exp(-z)) + self.offset + self.noise * np.sin(1000 * z)
        return np.clip(y, 0, 1).astype(np.float32).reshape(len(z), 1, 2, 2)


def _cfg(**kw) -> ExportConfig:
    return ExportConfig(variant_samples=200, **kw)


def test_the_same_images_pass_with_zero_error():
    check = compare_images("int8", "onnxruntime", Tiny(), Tiny(name="model.int8.onnx"), _cfg())
    assert check.passed and check.pixels is not None and check.pixels.max_pixel_error == 0.0
    assert check.to_dict()["file"] == "model.int8.onnx" and check.to_dict()["mean_pixel_error"] == 0.0


def test_a_shifted_file_misses_the_mean_gate_and_says_by_how_much():
    check = compare_images("int8", "onnxruntime", Tiny(), Tiny(offset=0.05, name="model.int8.onnx"), _cfg())
    assert not check.passed and check.pixels is not None
    assert check.pixels.mean_pixel_error == pytest.approx(0.05, abs=1e-6) and check.gate_mean == 0.02


def test_the_peak_gate_reads_a_quantile_not_the_single_worst_pixel():
    ref = np.zeros((10, 1, 100, 100), np.float32)
    one_bad = ref.copy()
    one_bad[0, 0, 0, 0] = 1.0  # one pixel in 100,000: under the 99.99th percentile
    errors = pixel_errors(ref, one_bad)
    assert errors.max_pixel_error == 1.0 and errors.peak_pixel_error < 0.5


def test_nan_pixels_count_as_the_worst():
    errors = pixel_errors(np.zeros((1, 4), np.float32), np.array([[np.nan, 0, 0, 0]], np.float32))
    assert errors.max_pixel_error == 1.0 and errors.mean_pixel_error == 0.25


class _Scores:
    def __init__(self, fid: float) -> None:
        self.fid = fid


class _Evaluator:
    """Scores the reference's images at FID 10 and the candidate's at 10 + their mean brightness gap."""

    def score(self, images, labels, pr_samples):
        return _Scores(10.0 + float(images.mean()) / 255.0)


@pytest.mark.parametrize("gate, passed", [(None, True), (1.0, True), (0.001, False)])
def test_the_fid_change_is_reported_and_gated_when_asked(gate, passed):
    check = compare_images(
        "fp16",
        "onnxruntime",
        Tiny(),
        Tiny(offset=0.01, name="model.fp16.onnx"),
        _cfg(max_fid_change=gate),
        _Evaluator(),
    )
    assert check.fid is not None and check.fid.fid_change > 0 and check.passed is passed
    saved = check.to_dict()
    assert saved["fid_change"] == pytest.approx(saved["fid"] - saved["fid_fp32"]) and saved["gate_fid_change"] == gate


def test_the_report_fails_on_any_check_and_names_the_file():
    report = VerificationReport.new(ExportConfig(), "last.pt", "0" * 64)
    report.add(([ExactCheck("model.onnx", "onnxruntime", 1, True, 1e-6, 1e-7)], []))
    assert report.passed and report.failed_files() == set()
    report.add(([], [GateCheck("int8", "model.int8.onnx", "onnxruntime", 10, False, error="does not load")]))
    assert not report.passed and report.failed_files() == {"model.int8.onnx"}
    assert report.failure_line(Path("v.json")).startswith("verification failed: model.int8.onnx misses")
    saved = report.to_dict(["model.onnx"])
    assert saved["passed"] is False and saved["variants"][0]["error"] == "does not load"
