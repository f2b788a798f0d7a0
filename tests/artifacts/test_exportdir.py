"""The one reader of manifest.json, on manifests built by hand (no export needed)."""

from __future__ import annotations

import json

import pytest

from gantool.artifacts.exportdir import describe, is_plain_name, read_export_dir
from gantool.core.errors import GantoolError

SHA = "a" * 64


def write(tmp_path, files, **extra):
    (tmp_path / "manifest.json").write_text(json.dumps({"files": files, **extra}))
    for name in files:
        if isinstance(name, str) and is_plain_name(name):
            (tmp_path / name).write_bytes(b"x")
    return tmp_path


def entry(kind, **kw):
    return {"kind": kind, "sha256": SHA, "size": 1, **kw}


def test_files_by_kind_primary_and_companions(tmp_path):
    d = read_export_dir(
        write(
            tmp_path,
            {
                "model.ts.pt": entry("torchscript"),
                "model.onnx": entry("onnx"),
                "model.int8.onnx.failed": entry("int8", failed=True),
                "model.xml": entry("openvino"),
                "model.bin": entry("openvino", companion=True),
            },
            checkpoint={"path": "/x/last.pt", "sha256": SHA},
        )
    )
    assert set(d.files) == {"torchscript", "onnx", "openvino"}  # failed files and companions are not models
    assert d.primary().name == "model.onnx" and d.checkpoint_sha256 == SHA
    assert sorted(d.changed_files()) == sorted(d.entries)  # every fake hash differs from the bytes on disk
    table = describe(d)
    assert "FAILED" in table and "companion" in table and "companionopenvino" not in table


def test_primary_falls_back_to_an_fp32_file(tmp_path):
    d = read_export_dir(write(tmp_path, {"model.ts.pt": entry("torchscript"), "model.fp16.onnx": entry("fp16")}))
    assert d.primary().name == "model.ts.pt"
    d = read_export_dir(write(tmp_path, {"model.fp16.onnx": entry("fp16")}))
    with pytest.raises(GantoolError, match="no usable .verified, fp32. model file"):
        d.primary()


@pytest.mark.parametrize(
    "files, message",
    [
        ({"../x.onnx": entry("onnx")}, "not a file inside its folder"),
        ({"/etc/passwd": entry("onnx")}, "not a file inside its folder"),
        ({".hidden.onnx": entry("onnx")}, "not a file inside its folder"),
        ({"model.onnx": entry("coreml")}, "unknown kind 'coreml'"),
        ({"model.onnx": entry("int8")}, "says 'model.onnx' is a int8 file, which its name contradicts"),
        ({"model.bin": entry("pte", companion=True)}, "is a pte companion, which its name contradicts"),
        ({"model.onnx": {"kind": "onnx", "sha256": "zz", "size": 1}}, "malformed"),
        ({"model.onnx": {"kind": "onnx", "sha256": SHA, "size": True}}, "malformed"),
        ({"model.onnx": "onnx"}, "malformed"),
    ],
)
def test_bad_entries_are_one_line_errors(tmp_path, files, message):
    with pytest.raises(GantoolError, match=message) as exc:
        read_export_dir(write(tmp_path, files))
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize(
    "text, message",
    [
        ("[]", "no 'files' table"),
        ("{nope", "unreadable or malformed"),
        ('{"files": {}, "export_config": 3}', "export_config"),
    ],
)
def test_bad_manifests(tmp_path, text, message):
    (tmp_path / "manifest.json").write_text(text)
    with pytest.raises(GantoolError, match=message):
        read_export_dir(tmp_path)


def test_symlinked_members_and_manifests_are_refused(tmp_path):
    outside = tmp_path / "outside.onnx"
    outside.write_bytes(b"secret")
    d = tmp_path / "exp"
    d.mkdir()
    (d / "model.onnx").symlink_to(outside)
    (d / "manifest.json").write_text(json.dumps({"files": {"model.onnx": entry("onnx")}}))
    with pytest.raises(GantoolError, match="is a symbolic link"):
        read_export_dir(d)
    (d / "model.onnx").unlink()
    real = tmp_path / "m.json"
    (d / "manifest.json").rename(real)
    (d / "manifest.json").symlink_to(real)
    with pytest.raises(GantoolError, match="manifest.json' is a symbolic link"):
        read_export_dir(d)


def test_missing_manifest(tmp_path):
    assert read_export_dir(tmp_path, required=False) is None
    with pytest.raises(GantoolError, match="not a gantool export directory"):
        read_export_dir(tmp_path)
    with pytest.raises(FileNotFoundError):
        read_export_dir(tmp_path / "nope")
