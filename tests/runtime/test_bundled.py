"""The bundled models' manifest (gantool/runtime/models/manifest.json): read and checked once, written by
.ci/record_bundled.py (make pretrained), never by editing Python source."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from gantool.core.errors import GantoolError
from gantool.runtime import Sampler, bundled

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def models_copy(tmp_path, monkeypatch):
    shutil.copytree(bundled.BUNDLED_DIR, tmp_path / "models")
    monkeypatch.setattr(bundled, "BUNDLED_DIR", tmp_path / "models")
    monkeypatch.setattr(bundled, "MANIFEST", tmp_path / "models" / "manifest.json")
    bundled.bundled_table.cache_clear()
    yield tmp_path / "models"
    bundled.bundled_table.cache_clear()


def test_the_manifest_names_every_shipped_model_and_its_size():
    table = bundled.bundled_table()
    assert set(table) == {p.name for p in bundled.BUNDLED_DIR.glob("*.onnx")}
    assert bundled.bundled_sizes() == {"base": "digits.seeded.fp16.onnx", "nano": "nano.seeded.int8.onnx"}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "[]",
        '{"models": {}}',
        '{"models": {"x.onnx": {"sha256": "00"}}}',
        '{"models": {"../x.onnx": {"sha256": "' + "0" * 64 + '", "size": "base"}}}',
    ],
)
def test_a_malformed_manifest_is_one_line(models_copy, text):
    (models_copy / "manifest.json").write_text(text)
    with pytest.raises(GantoolError, match="manifest .* is missing or malformed; reinstall gantool"):
        Sampler()


def test_record_bundled_writes_the_hash_the_loader_checks(models_copy):
    spec = importlib.util.spec_from_file_location("record_bundled", ROOT / ".ci" / "record_bundled.py")
    record_bundled = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(record_bundled)
    model = models_copy / bundled.BUNDLED_MODEL
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 1  # a re-trained model: other bytes
    model.write_bytes(bytes(data))
    with pytest.raises(GantoolError, match="not the file gantool shipped"):
        bundled.bundled_model_path()
    sha = record_bundled.record(bundled.BUNDLED_MODEL, "base", models_copy)
    bundled.bundled_table.cache_clear()
    assert json.loads((models_copy / "manifest.json").read_text())["models"][bundled.BUNDLED_MODEL]["sha256"] == sha
    assert bundled.bundled_model_path() == model
