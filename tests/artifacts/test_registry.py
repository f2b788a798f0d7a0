"""The artifact table's rules, checked where rows are registered, and what is generated from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomllib

from gantool.artifacts import ARTIFACTS, BACKENDS
from gantool.artifacts.registry import (
    GROUP_HELP,
    METADATA_PLACES,
    ArtifactKind,
    Backend,
    TableError,
    artifact_for_file,
    register_artifact,
    register_backend,
)

ROOT = Path(__file__).resolve().parents[2]


def _row(**changes) -> ArtifactKind:
    base = dict(name="newkind", file="model.new", group="onnx", maker="x:y", backends=("onnxruntime",))
    return ArtifactKind(**{**base, **changes})


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(backends=("tflite-ish",)), "artifact row 'newkind' names unknown backends"),
        (dict(backends=()), "artifact row 'newkind' names unknown backends"),
        (dict(source="nothing"), "artifact row 'newkind' is made from unknown kind 'nothing'"),
        (dict(metadata="exif"), "artifact row 'newkind' keeps its metadata in 'exif', which the reader does not know"),
        (dict(group="brandnew"), "artifact row 'newkind' is the first row of option group --brandnew: give it help="),
        (dict(help="again"), "option group --onnx already has its help text"),
        (dict(variant="int4"), "variant 'int4', which has no --int4 option"),
        (dict(extra="litert"), "give both extra= .pip extra. and needs= .module. or neither"),
        (dict(name="onnx"), "artifact row 'onnx' is registered twice"),
        (dict(file="noext"), "must be a plain name with a suffix"),
    ],
)
def test_a_bad_row_is_a_one_line_error_naming_it(changes, message):
    before = dict(ARTIFACTS), dict(GROUP_HELP)
    with pytest.raises(TableError, match=message) as exc:
        register_artifact(_row(**changes))
    assert "\n" not in str(exc.value)
    assert (dict(ARTIFACTS), dict(GROUP_HELP)) == before  # nothing half-registered


def test_a_bad_backend_row_is_refused():
    with pytest.raises(TableError, match="backend row 'onnxruntime' is registered twice"):
        register_backend(Backend("onnxruntime", "x:y"))
    with pytest.raises(TableError, match="backend row 'b': give both extra="):
        register_backend(Backend("b", "x:y", extra="openvino"))


def test_every_extra_is_a_pip_extra_and_names_its_module():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    rows = list(ARTIFACTS.values()) + list(BACKENDS.values())
    for row in rows:
        if row.extra is not None:
            assert row.extra in extras, f"{row.name}: gantool[{row.extra}] is not in pyproject.toml"
            assert any(
                re.match(rf"{re.escape(row.needs)}\b", dep.replace("-", "_")) or row.extra in dep
                for dep in extras[row.extra]
            ), f"{row.name}: gantool[{row.extra}] does not install {row.needs}"
    assert {r.extra for r in rows if r.extra} <= set(extras["all"][0].split("[")[1].rstrip("]").split(","))


def test_every_metadata_place_is_read():
    from gantool.runtime.metadata import READERS

    assert set(READERS) == set(METADATA_PLACES)
    assert {k.metadata for k in ARTIFACTS.values()} <= set(METADATA_PLACES)


def test_every_row_is_found_by_its_file_name_and_renamed_suffix():
    for kind in ARTIFACTS.values():
        assert artifact_for_file(kind.file) is kind
        assert artifact_for_file("digits" + kind.suffix) is kind


def test_export_options_come_from_the_table():
    from typer.testing import CliRunner

    from gantool.cli import app

    res = CliRunner().invoke(app, ["export", "--help"], terminal_width=200, env={"COLUMNS": "200"})
    text = " ".join(res.stdout.split())
    for group, help in GROUP_HELP.items():
        assert f"--{group}" in text and " ".join(help.split())[:40] in text, group
    for variant in ("--fp16", "--int8"):
        assert variant in text


def test_readme_formats_table_matches_the_table():
    """Every row's file and option appears in the README's formats table, and nothing else does."""
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| format | file |") :]
    table = table[: table.index("\n\n")]
    rows = [line.split("|")[1:-1] for line in table.splitlines()[2:]]
    files = {cells[1].strip() for cells in rows}
    for kind in ARTIFACTS.values():
        assert any(kind.file in f for f in files), f"README's formats table has no row for {kind.file}"
        row = next(cells for cells in rows if kind.file in cells[1])
        for part in kind.option.split():
            assert part in row[2], f"README gives {row[2].strip()!r} as the option for {kind.file}, not {kind.option}"
