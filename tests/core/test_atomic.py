"""Atomic writes and locks (gantool.core.fileio), on tiny files: a failed write leaves the old file
and no temp behind; a second holder of a lock is one line; temps of a killed writer are removed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gantool.core.errors import GantoolError
from gantool.core.fileio import (
    atomic_path,
    dir_lock,
    path_lock,
    remove_stale_temps,
    sha256_file,
    write_json_atomic,
    write_text_atomic,
)


def test_an_atomic_write_replaces_the_file_with_the_usual_mode(tmp_path):
    target = tmp_path / "a.json"
    target.write_text("old")
    write_json_atomic(target, {"b": 1, "a": [1, 2]})
    assert target.read_text() == '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1\n}\n'
    umask = os.umask(0)
    os.umask(umask)
    assert (target.stat().st_mode & 0o777) == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]  # no temp left


def test_an_error_inside_the_block_keeps_the_old_file_and_removes_the_temp(tmp_path):
    target = tmp_path / "model.onnx"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_a_write_into_a_missing_folder_is_one_line_naming_it(tmp_path):
    target = tmp_path / "gone" / "x.txt"
    with pytest.raises(GantoolError, match="could not write") as exc:
        write_text_atomic(target, "x")
    assert str(target) in str(exc.value) and "\n" not in str(exc.value)


def test_temps_of_a_killed_writer_are_removed_and_nothing_else(tmp_path):
    (tmp_path / ".model.onnx.k2j4h_x1.tmp").write_text("half")
    (tmp_path / "notes.tmp").write_text("a user's file")  # not hidden: not gantool's temp
    (tmp_path / "model.onnx").write_text("keep")
    assert remove_stale_temps(tmp_path) == [".model.onnx.k2j4h_x1.tmp"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx", "notes.tmp"]


def test_sha256_of_a_file_is_hashlibs(tmp_path):
    import hashlib

    f = tmp_path / "x.bin"
    f.write_bytes(b"\x00\x01" * 100_000)
    assert sha256_file(f, chunk=4096) == hashlib.sha256(b"\x00\x01" * 100_000).hexdigest()


_HOLD = """
import sys, time
from gantool.core.fileio import {lock}
with {lock}(sys.argv[1], "the folder"):
    print("held", flush=True)
    time.sleep(30)
"""


@pytest.mark.parametrize("lock", [dir_lock, path_lock])
def test_a_second_holder_is_refused_in_one_line_and_a_dead_holders_lock_is_free(lock, tmp_path, monkeypatch):
    monkeypatch.setenv("GANTOOL_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "out"
    folder.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD.format(lock=lock.__name__), str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(GantoolError, match="the folder is in use by another gantool process") as exc:
            with lock(folder, "the folder"):
                pass
        assert "\n" not in str(exc.value)
    finally:
        holder.kill()  # as kill -9: the OS drops the lock
        holder.wait()
    with lock(folder, "the folder"):
        pass
