"""An export never deletes or replaces a file gantool did not write (gantool.export.publish)."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from typer.testing import CliRunner

from gantool.cli import app
from gantool.core.errors import GantoolError
from gantool.export import ExportConfig, export

runner = CliRunner()


def _user_files(out):
    (out / "notes.md").write_text("my notes")
    (out / "data").mkdir()
    (out / "data" / "keep.txt").write_text("keep")
    (out / "eval.json").write_text('{"fid": 1}')  # what `gantool eval` writes beside a model
    return {name: (out / name).read_bytes() for name in ("notes.md", "data/keep.txt", "eval.json")}


def _still_there(out, files):
    return {name: (out / name).read_bytes() for name in files if (out / name).is_file()} == files


def test_re_export_keeps_everything_gantool_did_not_write(trained_run, tmp_path):
    out = tmp_path / "exp"
    export(trained_run("mlp", 0), ExportConfig(out_dir=str(out), formats=("onnx",)), progress=False)
    mine = _user_files(out)
    export(trained_run("mlp", 0), ExportConfig(out_dir=str(out), formats=("onnx",)), progress=False)
    assert _still_there(out, mine)
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == {"model.onnx"}


def test_force_over_another_models_export_replaces_only_its_files(trained_run, tmp_path):
    out = tmp_path / "project"
    export(trained_run("mlp", 0), ExportConfig(out_dir=str(out), formats=("onnx",), variants=("int8",)), progress=False)
    (out / "train.py").write_text("print('a project source file')")
    mine = _user_files(out) | {"train.py": (out / "train.py").read_bytes()}
    with pytest.raises(GantoolError, match="different model; pass --force"):
        export(trained_run("dcgan", 0), ExportConfig(out_dir=str(out), formats=("onnx",)), progress=False)
    result = export(
        trained_run("dcgan", 0), ExportConfig(out_dir=str(out), formats=("onnx",), force=True), progress=False
    )
    assert _still_there(out, mine)
    assert result.removed == ["model.int8.onnx"] and not (out / "model.int8.onnx").exists()
    assert set(json.loads((out / "manifest.json").read_text())["files"]) == {"model.onnx"}


def test_fewer_formats_removes_the_old_ones_only_with_force_and_says_so(trained_run, tmp_path):
    out = tmp_path / "fewer"
    run = str(trained_run("mlp", 0))
    assert runner.invoke(app, ["export", run, "--out", str(out), "--onnx", "--torchscript", "--fp16"]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    res = runner.invoke(app, ["export", run, "--out", str(out), "--onnx"])
    assert res.exit_code == 2 and "holds model.fp16.onnx, model.ts.pt from its earlier export" in res.stderr
    assert "pass --force to remove them" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing changed
    res = runner.invoke(app, ["export", run, "--out", str(out), "--onnx", "--force"])
    assert res.exit_code == 0, res.output
    assert "removed model.fp16.onnx, model.ts.pt: the previous export's files not asked for this time" in res.stdout
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "model.onnx", "verification.json"]
    report = json.loads((out / "verification.json").read_text())
    assert report["removed"] == ["model.fp16.onnx", "model.ts.pt"]


@pytest.mark.parametrize("force", [False, True])
def test_a_file_in_the_way_is_refused_not_replaced(trained_run, tmp_path, force):
    out = tmp_path / "inway"
    export(trained_run("mlp", 0), ExportConfig(out_dir=str(out), formats=("onnx",)), progress=False)
    (out / "model.ts.pt").write_text("the user's own file, not in the manifest")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(GantoolError, match=r"model.ts.pt' is in the way and was not written by gantool"):
        export(
            trained_run("mlp", 0),
            ExportConfig(out_dir=str(out), formats=("onnx", "torchscript"), force=force),
            progress=False,
        )
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["inway"]  # the staging folder is gone too


def test_a_symlink_in_the_way_is_refused(trained_run, tmp_path):
    out = tmp_path / "link"
    export(trained_run("mlp", 0), ExportConfig(out_dir=str(out), formats=("onnx",)), progress=False)
    target = tmp_path / "precious.txt"
    target.write_text("precious")
    os.remove(out / "model.onnx")
    os.symlink(target, out / "model.onnx")
    with pytest.raises(GantoolError, match="model.onnx' is a symbolic link; an export's files are never links"):
        export(trained_run("mlp", 0), ExportConfig(out_dir=str(out), formats=("onnx",)), progress=False)
    assert target.read_text() == "precious" and (out / "model.onnx").is_symlink()
    (out / "manifest.json").write_text(json.dumps({"files": {}}))  # the link is no longer in the manifest
    with pytest.raises(GantoolError, match="model.onnx' is in the way and was not written by gantool"):
        export(trained_run("mlp", 0), ExportConfig(out_dir=str(out), formats=("onnx",), force=True), progress=False)
    assert target.read_text() == "precious" and (out / "model.onnx").is_symlink()


def test_a_damaged_manifest_is_not_a_licence_to_delete(trained_run, tmp_path):
    out = tmp_path / "damaged"
    export(trained_run("mlp", 0), ExportConfig(out_dir=str(out), formats=("onnx",)), progress=False)
    (out / "notes.md").write_text("mine")
    (out / "manifest.json").write_text("{not json")
    with pytest.raises(GantoolError, match="damaged manifest.json, so gantool cannot tell which files it wrote"):
        export(trained_run("mlp", 0), ExportConfig(out_dir=str(out), formats=("onnx",), force=True), progress=False)
    assert (out / "notes.md").read_text() == "mine" and (out / "model.onnx").is_file()


def test_a_new_export_folder_has_the_users_mode(trained_run, tmp_path):
    old = os.umask(0o022)
    try:
        out = tmp_path / "mode"
        export(trained_run("mlp", 0), ExportConfig(out_dir=str(out), formats=("onnx",)), progress=False)
    finally:
        os.umask(old)
    assert (out.stat().st_mode & 0o777) == 0o755  # not the 0700 of a temporary folder
    assert ((out / "model.onnx").stat().st_mode & 0o777) == 0o644


def test_eval_json_beside_an_export_survives_re_export(trained_run, tmp_path):
    shutil.rmtree(tmp_path / "e", ignore_errors=True)
    out = tmp_path / "e"
    export(trained_run("mlp", 0), ExportConfig(out_dir=str(out), formats=("onnx",)), progress=False)
    (out / "eval.json").write_text("{}")
    export(trained_run("mlp", 0), ExportConfig(out_dir=str(out), formats=("onnx", "torchscript")), progress=False)
    assert (out / "eval.json").read_text() == "{}"
