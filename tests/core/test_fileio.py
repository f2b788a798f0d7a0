"""Scratch folders named by their owner's pid: a later process removes those whose owner is gone
(kill -9 runs no clean-up) and never one of a live process, another user's, or another target's."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from gantool.core.errors import GantoolError
from gantool.core.fileio import (
    STAGING_PREFIX,
    new_staging_dir,
    owned_temp_dir,
    remove_orphans,
    remove_stale_staging,
    user_path,
)


def _dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def _folder(parent: Path, name: str) -> Path:
    d = parent / name
    d.mkdir()
    (d / "part.onnx").write_bytes(b"x" * 100)
    return d


def test_owned_folders_carry_the_pid_and_are_private(tmp_path):
    d = owned_temp_dir("gantool-c", tmp_path)
    assert d.name.startswith(f"gantool-c-pid{os.getpid()}-") and (d.stat().st_mode & 0o777) == 0o700


def test_only_folders_of_dead_owners_are_removed(tmp_path):
    dead = _folder(tmp_path, f"gantool-c-pid{_dead_pid()}-abc_12")
    live = _folder(tmp_path, f"gantool-c-pid{os.getppid()}-abc_12")
    mine = _folder(tmp_path, f"gantool-c-pid{os.getpid()}-abc_12")
    other_prefix = _folder(tmp_path, f"other-pid{_dead_pid()}-abc_12")
    unnamed = _folder(tmp_path, "gantool-c-abc_12")
    assert remove_orphans(tmp_path, "gantool-c") == [dead.name]
    assert all(p.is_dir() for p in (live, mine, other_prefix, unnamed))


@pytest.mark.skipif(os.getuid() != 0, reason="chown to another user needs root")
def test_another_users_folder_is_never_removed(tmp_path):
    theirs = _folder(tmp_path, f"gantool-c-pid{_dead_pid()}-abc_12")
    os.chown(theirs, 65534, 65534)
    assert remove_orphans(tmp_path, "gantool-c") == [] and theirs.is_dir()


def test_a_files_or_links_named_like_a_folder_are_left(tmp_path):
    (tmp_path / f"gantool-c-pid{_dead_pid()}-abc_12").write_text("a user's file")
    target = _folder(tmp_path, "keep")
    (tmp_path / f"gantool-c-pid{_dead_pid()}-link_1").symlink_to(target)
    assert remove_orphans(tmp_path, "gantool-c") == []
    assert (target / "part.onnx").is_file()


def test_staging_beside_an_export_is_cleaned_without_touching_a_neighbours(tmp_path):
    out = tmp_path / "export"
    old_style = _folder(tmp_path, f"{STAGING_PREFIX}export-k2j4h_x1")  # before pids were in the name
    killed = _folder(tmp_path, f"{STAGING_PREFIX}export-pid{_dead_pid()}-zz_1")
    other_killed = _folder(tmp_path, f"{STAGING_PREFIX}other-pid{_dead_pid()}-zz_1")
    neighbour_live = _folder(tmp_path, f"{STAGING_PREFIX}export-2-pid{os.getppid()}-zz_1")
    neighbour_old = _folder(tmp_path, f"{STAGING_PREFIX}export-2-k2j4h_x1")
    remove_stale_staging(out)
    assert not old_style.exists() and not killed.exists() and not other_killed.exists()
    assert neighbour_live.is_dir() and neighbour_old.is_dir()
    assert new_staging_dir(out).name.startswith(f"{STAGING_PREFIX}export-pid{os.getpid()}-")


@pytest.mark.parametrize("value", [5, None, ["a"], b"model.onnx", "", "a\0b", 1.5])
def test_a_path_argument_of_the_wrong_kind_is_one_line(value):
    with pytest.raises(GantoolError, match="the model path") as exc:
        user_path(value, "the model path")
    assert "\n" not in str(exc.value)
