"""Where an export lands: gantool replaces only the files its own manifest says it wrote.

An export is built in a staging folder beside the output directory. A new output directory is
that folder, renamed into place whole. Into an existing export, the finished files are moved one
by one (each an atomic rename), `manifest.json` last; files the previous manifest listed that this
export does not make again are refused before any work unless --force is given, and then removed
and named in the export's report. Anything else in the
folder (a user's notes, a sub-folder, the `eval.json` that `gantool eval` wrote) stays, and a file
in the way that gantool did not write is a one-line refusal naming it, `--force` or not.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Optional

from gantool.artifacts.exportdir import FAILED_SUFFIX, MANIFEST, REPORT, ExportDir, UnsafeExportDir, read_export_dir
from gantool.core.errors import GantoolError
from gantool.core.fileio import current_umask


def existing_export(out: Path, ckpt_sha: str, force: bool) -> Optional[ExportDir]:
    """The export already in `out` (None for a missing or empty folder), refusing to mix models
    without --force and to write into a folder of other files."""
    if not out.exists():
        return None
    if out.is_symlink() or not out.is_dir():
        raise GantoolError(f"output path {str(out)!r} is a file, not a directory")
    try:
        existing = read_export_dir(out, required=False)
    except UnsafeExportDir:  # a link or a path out of the folder: said as it is
        raise
    except GantoolError as e:
        raise GantoolError(
            f"{str(out)!r} holds a damaged {MANIFEST}, so gantool cannot tell which files it wrote "
            f"({e}); move the folder aside or choose another --out"
        ) from None
    if existing is None:
        if any(out.iterdir()):
            raise GantoolError(f"{str(out)!r} is not empty and holds no gantool export; choose another --out")
        return None
    if existing.checkpoint_sha256 != ckpt_sha and not force:
        raise GantoolError(f"{str(out)!r} already holds an export of a different model; pass --force to replace it")
    return existing


def check_removals(out: Path, existing: Optional[ExportDir], planned: set[str], force: bool) -> None:
    """Files of the earlier export that this one would not make again are removed only with --force:
    refused here, before any work. (Kept and marked stale instead, an old model.int8.onnx of other
    weights would sit beside the new model.onnx, looking current: a trap; refusing says it instead.)"""
    if existing is None or force:
        return
    gone = sorted(
        name for name in existing.entries if name not in planned and name.removesuffix(FAILED_SUFFIX) not in planned
    )
    if gone:
        shown = ", ".join(gone[:6]) + (f" and {len(gone) - 6} more" if len(gone) > 6 else "")
        raise GantoolError(
            f"{str(out)!r} holds {shown} from its earlier export, which this export does not make "
            "again; ask for those formats too, or pass --force to remove them"
        )


def check_in_the_way(out: Path, names: list[str], existing: Optional[ExportDir]) -> None:
    """Every name about to be written into `out` is free, or a plain file the previous manifest lists."""
    ours = set(existing.entries) | {MANIFEST, REPORT} if existing is not None else set()
    for name in names:
        p = out / name
        if not (p.exists() or p.is_symlink()):
            continue
        if p.is_symlink() or not p.is_file() or name not in ours:
            raise GantoolError(
                f"{str(p)!r} is in the way and was not written by gantool; "
                "move it or choose another --out (--force never replaces it)"
            )


def publish(staging: Path, out: Path, names: list[str], existing: Optional[ExportDir]) -> list[str]:
    """Move the finished export into `out`; returns the previous export's files removed because
    this one did not make them again."""
    if not out.exists():
        os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp makes 0700: give the folder the usual mode
        os.replace(staging, out)
        return []
    check_in_the_way(out, names + [MANIFEST, REPORT], existing)
    for name in names + [REPORT, MANIFEST]:  # the manifest last: it vouches for what is already there
        os.replace(staging / name, out / name)
    stale = sorted(set(existing.entries) - set(names)) if existing is not None else []
    for name in stale:
        p = out / name
        if p.is_file() and not p.is_symlink():
            p.unlink()
    shutil.rmtree(staging, ignore_errors=True)
    return stale


def mark_failed(folder: Path, name: str) -> str:
    """Rename `name` (a file gantool's manifest lists, in `folder`) to NAME.failed and return the new
    name: a file that failed verification stays for inspection, and no loader takes it for a model."""
    failed = name + FAILED_SUFFIX
    os.replace(folder / name, folder / failed)
    return failed
