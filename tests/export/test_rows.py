"""Every row of the artifact table, generated from it: exported, verified as its row says, its
metadata where its row says, opened, described by `info`, and a one-line error when damaged.

Rows whose extra loads ExecuTorch or OpenVINO are marked `edge` (make test runs them in their own
process); each row skips on its own when its extra is missing (a failure on CI).
"""

from __future__ import annotations

import json
import shutil
from importlib.util import find_spec

import numpy as np
import pytest
from typer.testing import CliRunner

from gantool.artifacts import ARTIFACTS, BACKENDS, open_generator
from gantool.cli import app
from gantool.core.errors import GantoolError
from gantool.runtime.latents import seeded_inputs
from gantool.runtime.metadata import read_metadata

runner = CliRunner()
ARCHES = [("dcgan", 10), ("mlp", 0)]


def _needs(kind) -> set[str]:
    return {m for m in [kind.needs] + [BACKENDS[b].needs for b in kind.backends] if m}


def _rows():
    return [pytest.param(k, marks=[pytest.mark.edge] if _needs(k) else [], id=k.name) for k in ARTIFACTS.values()]


def _require(kind) -> None:
    missing = sorted(m for m in _needs(kind) if find_spec(m) is None)
    if missing:
        pytest.skip(f"the {kind.name} row needs {', '.join(missing)}: pip install 'gantool[{kind.extra}]'")


@pytest.fixture(scope="module")
def row_export(trained_run, tmp_path_factory):
    """One export per (arch, extras or not) holding every group of those rows, with every variant."""
    from gantool.export import ExportConfig, export

    cache = {}

    def make(kind, arch="dcgan", k=10):
        extras = bool(_needs(kind))
        key = (arch, k, extras)
        if key not in cache:
            groups = tuple(
                dict.fromkeys(
                    r.group
                    for r in ARTIFACTS.values()
                    if (bool(_needs(r)) == extras or r.name == "onnx") and (not r.archs or arch in r.archs)
                )
            )
            out = tmp_path_factory.mktemp(f"rows-{arch}-{k}-{int(extras)}")
            cache[key] = (
                out,
                export(
                    trained_run(arch, k),
                    ExportConfig(out_dir=str(out), formats=groups, variants=("fp16", "int8"), fid=False),
                    progress=False,
                ),
            )
        return cache[key]

    return make


def _rows_by_arch():
    """(row, arch, classes) for every architecture the row's maker handles (the refusal of the others:
    tests/export/test_c_export.py)."""
    return [
        pytest.param(p.values[0], arch, k, marks=p.marks, id=f"{p.id}-{arch}")
        for p in _rows()
        for arch, k in ARCHES
        if not ARTIFACTS[p.id].archs or arch in ARTIFACTS[p.id].archs
    ]


@pytest.mark.parametrize("kind, arch, k", _rows_by_arch())
def test_row_is_exported_and_verified_as_it_says(row_export, kind, arch, k):
    _require(kind)
    out, result = row_export(kind, arch, k)
    assert kind.name in result.files, f"the export of every group and variant made no {kind.file} for {arch}"
    path = result.files[kind.name]
    manifest = json.loads((out / "manifest.json").read_text())["files"]
    assert manifest[kind.file]["kind"] == kind.name and not manifest[kind.file].get("companion")
    for companion in kind.all_companions:
        assert (out / companion).is_file() and manifest[companion] == {**manifest[companion], "companion": True}
    report = result.report
    mine = [r for r in report.results if r.file == kind.file]
    gated = [v for v in report.variants if v.file == kind.file]
    if kind.gated:  # verified by its images against its source, on every backend of its row
        assert {v.backend for v in gated} == set(kind.backends) and all(v.passed for v in gated)
        assert not mine
    else:  # exact: every backend of its row at every batch that backend verifies on
        seen = {(r.backend, r.batch) for r in mine}
        want = {(b, n) for b in kind.backends for n in BACKENDS[b].batches}
        assert want <= seen and all(r.passed and (r.max_abs_error or 0) <= 1e-4 for r in mine), mine
    meta = read_metadata(path)
    assert meta.artifact_format == kind.group and meta.variant == kind.variant
    if kind.sidecar:
        assert json.loads((out / kind.sidecar).read_text())["artifact_format"] == kind.group


@pytest.mark.parametrize("kind", _rows())
def test_row_opens_and_agrees_with_the_onnx_file(row_export, kind):
    _require(kind)
    out, result = row_export(kind)
    assert kind.name in result.files, f"no {kind.file} in the export"
    g = open_generator(result.files[kind.name])
    assert g.backend == kind.backends[0] and g.variant == kind.variant
    reference = open_generator(out / "model.onnx")
    if kind.seeded:
        return  # verified against its source on numpy's latents at export (test_row_is_exported…)
    feeds = seeded_inputs(300, 8, 10, seed=4)  # > 256 rows: a backend with a batch bound runs in chunks
    atol = 0.3 if kind.variant != "fp32" else (1e-3 if kind.gated else 1e-4)
    np.testing.assert_allclose(g(feeds["z"], feeds["label"]), reference(feeds["z"], feeds["label"]), atol=atol)
    res = runner.invoke(app, ["info", str(result.files[kind.name])])
    assert res.exit_code == 0 and json.loads(res.stdout)["artifact_format"] == kind.group, res.output
    assert kind.runtime == BACKENDS[kind.backends[0]].torch_free


@pytest.mark.parametrize("damage", ["truncated", "foreign"])
@pytest.mark.parametrize("kind", [p for p in _rows() if ARTIFACTS[p.id].variant == "fp32"])
def test_a_damaged_row_file_is_a_one_line_error(row_export, tmp_path, kind, damage):
    _require(kind)
    out, result = row_export(kind)
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    data = (bad / kind.file).read_bytes()
    (bad / kind.file).write_bytes(data[: len(data) // 3] if damage == "truncated" else b"\x00gantool? no" * 50)
    with pytest.raises(GantoolError) as exc:
        open_generator(bad / kind.file)
    assert kind.file in str(exc.value) and "\n" not in str(exc.value)
    res = runner.invoke(app, ["verify", str(bad)])
    assert res.exit_code == 1 and f"{kind.file} changed since export" in res.stderr


@pytest.mark.parametrize("kind", [p for p in _rows() if ARTIFACTS[p.id].sidecar and ARTIFACTS[p.id].variant == "fp32"])
@pytest.mark.parametrize("lie", [("latent_dim", 9), ("num_classes", 0), ("image_shape", [1, 14, 14])])
def test_a_lying_sidecar_is_refused(row_export, tmp_path, kind, lie):
    """What the program's own shapes can contradict (a wrong non-zero class count they cannot)."""
    _require(kind)
    out, _ = row_export(kind)
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    sidecar = bad / kind.sidecar
    meta = json.loads(sidecar.read_text())
    meta[lie[0]] = lie[1]
    sidecar.write_text(json.dumps(meta))
    with pytest.raises(GantoolError) as exc:
        open_generator(bad / kind.file)
    assert "\n" not in str(exc.value) and ("metadata" in str(exc.value) or "num_classes" in str(exc.value))
    res = runner.invoke(app, ["info", str(bad / kind.file)])
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1, res.output


@pytest.mark.parametrize("kind", [p for p in _rows() if ARTIFACTS[p.id].sidecar and ARTIFACTS[p.id].variant == "fp32"])
def test_sidecar_metadata_that_is_not_utf8_is_one_line(row_export, tmp_path, kind):
    _require(kind)
    out, _ = row_export(kind)
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    (bad / kind.sidecar).write_bytes(b'{"latent_dim": "\xff\xfe"}')
    with pytest.raises(GantoolError, match="not valid UTF-8"):
        open_generator(bad / kind.file)


def test_a_manifest_whose_kinds_disagree_with_its_files_is_refused(row_export, tmp_path):
    from tests.cli import hostile as H

    out, _ = row_export(ARTIFACTS["onnx"])
    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    H.edit_manifest(
        bad, lambda m: {**m, "files": {**m["files"], "model.onnx": {**m["files"]["model.onnx"], "kind": "int8"}}}
    )
    for cmd in (["verify", str(bad)], ["info", str(bad)], ["sample", str(bad), "--out", str(tmp_path / "x.png")]):
        res = runner.invoke(app, cmd)
        assert res.exit_code == 2 and "says 'model.onnx' is a int8 file, which its name contradicts" in res.stderr


@pytest.mark.parametrize("kind", [p for p in _rows() if ARTIFACTS[p.id].runtime and ARTIFACTS[p.id].variant == "fp32"])
def test_flipped_bytes_anywhere_are_a_result_or_one_line(row_export, tmp_path, kind):
    """40 copies, each with one byte flipped at a spread offset, opened and run by the torch-free
    runtime in a child process (a native crash fails the test instead of killing pytest): each is
    either images or one GantoolError line, never a traceback."""
    import subprocess
    import sys
    import textwrap

    _require(kind)
    out, result = row_export(kind)
    data = result.files[kind.name].read_bytes()
    for i, where in enumerate(np.linspace(0.0, 0.999, 40)):
        bad = bytearray(data)
        bad[int(where * len(bad))] ^= 0xFF
        (tmp_path / f"{i:02d}{kind.suffix}").write_bytes(bytes(bad))
    code = textwrap.dedent(f"""
        import pathlib, sys
        from gantool.core.errors import GantoolError
        from gantool.runtime import Sampler
        for p in sorted(pathlib.Path({str(tmp_path)!r}).iterdir()):
            try:
                Sampler(p).sample(3, seed=1, labels=[0, 1, 2])
                print(p.name, "ok")
            except GantoolError as e:
                assert "\\n" not in str(e), str(e)
                print(p.name, "error")
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    outcomes = proc.stdout.split()
    assert len(outcomes) == 80 and set(outcomes[1::2]) <= {"ok", "error"}
