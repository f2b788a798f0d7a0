"""Reading an export directory: `read_export_dir()` is the one reader of `manifest.json` (torch-free).

A manifest is untrusted input: it must be a JSON object whose `files` map plain file names
(never a path: nothing outside the folder is ever read, hashed or renamed) to entries with a
known artifact kind, a SHA-256 and a size.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional, overload

from gantool.artifacts.registry import ARTIFACTS, artifact_for_file
from gantool.core.console import columns
from gantool.core.errors import GantoolError, GantoolFileNotFoundError
from gantool.core.fileio import sha256_file

MANIFEST = "manifest.json"
REPORT = "verification.json"
FAILED_SUFFIX = ".failed"
MAX_MANIFEST_BYTES = 4 << 20
_SHA = re.compile(r"^[0-9a-f]{64}$")


class UnsafeExportDir(GantoolError):
    """An export folder whose manifest names something gantool must not follow (a link, a path out)."""


@dataclass
class ExportDir:
    path: Path
    manifest: dict[str, Any]
    entries: dict[str, dict[str, Any]]  # file name -> {"kind", "sha256", "size", ["failed"], ["companion"]}
    files: dict[str, Path] = field(default_factory=dict)  # kind -> its (non-failed) main file
    checkpoint_path: str = ""
    checkpoint_sha256: str = ""

    @property
    def export_config(self) -> dict[str, Any]:
        return self.manifest.get("export_config") or {}

    def primary(self) -> Path:
        """The file that stands for the whole export: fp32 ONNX if present, else the first fp32 file."""
        if "onnx" in self.files:
            return self.files["onnx"]
        for kind, path in self.files.items():
            if ARTIFACTS[kind].variant == "fp32":
                return path
        raise GantoolError(f"{str(self.path)!r} holds no usable (verified, fp32) model file; export again")

    def changed_files(self) -> list[str]:
        """Files whose bytes differ from what the manifest recorded at export (missing ones too)."""
        changed = []
        for name, entry in self.entries.items():
            p = self.path / name
            if not p.is_file() or p.stat().st_size != entry["size"] or sha256_file(p) != entry["sha256"]:
                changed.append(name)
        return changed


@overload
def read_export_dir(path: str | os.PathLike, required: Literal[True] = True) -> ExportDir: ...
@overload
def read_export_dir(path: str | os.PathLike, required: bool) -> Optional[ExportDir]: ...
def read_export_dir(path: str | os.PathLike, required: bool = True) -> Optional[ExportDir]:
    """Parse and validate `path/manifest.json`; None when there is none and not `required`."""
    path = Path(path)
    mpath = path / MANIFEST
    if mpath.is_symlink():
        raise UnsafeExportDir(f"{str(mpath)!r} is a symbolic link; refusing to follow it (export again)")
    if not mpath.is_file():
        if not required:
            return None
        if not path.exists():
            raise GantoolFileNotFoundError(f"{str(path)!r} does not exist")
        raise GantoolError(f"{str(path)!r} is not a gantool export directory (no {MANIFEST}); run gantool export")
    bad = f"{str(mpath)!r} is unreadable or malformed"
    try:
        if mpath.stat().st_size > MAX_MANIFEST_BYTES:
            raise GantoolError(f"{bad} (too large); delete the export directory and export again")
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise GantoolError(f"{bad}; delete the export directory and export again") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise GantoolError(f"{bad} (no 'files' table); delete the export directory and export again")
    out = ExportDir(path, manifest, {})
    for name, entry in manifest["files"].items():
        out.entries[name] = _check_entry(mpath, name, entry)
        if not entry.get("failed") and not entry.get("companion"):
            out.files.setdefault(entry["kind"], path / name)
    ckpt = manifest.get("checkpoint")
    if isinstance(ckpt, dict) and isinstance(ckpt.get("path"), str) and _SHA.match(str(ckpt.get("sha256", ""))):
        out.checkpoint_path, out.checkpoint_sha256 = ckpt["path"], ckpt["sha256"]
    if "export_config" in manifest and not isinstance(manifest["export_config"], dict):
        raise GantoolError(f"{bad} ('export_config' is not an object); export again")
    return out


def _check_entry(mpath: Path, name: Any, entry: Any) -> dict[str, Any]:
    if not isinstance(name, str) or not is_plain_name(name):
        raise UnsafeExportDir(
            f"{str(mpath)!r} names {name!r:.80}, which is not a file inside its folder; refusing to touch it"
        )
    if (mpath.parent / name).is_symlink():  # gantool never writes one: it could point anywhere
        raise UnsafeExportDir(
            f"{str(mpath.parent / name)!r} is a symbolic link; an export's files are never links: "
            "refusing to follow it (export again)"
        )
    if (
        not isinstance(entry, dict)
        or not _SHA.match(str(entry.get("sha256", "")))
        or not isinstance(entry.get("size"), int)
        or isinstance(entry.get("size"), bool)
    ):
        raise GantoolError(f"{str(mpath)!r}: the entry for {name!r} is malformed; export again")
    kind = ARTIFACTS.get(entry.get("kind"))  # type: ignore[arg-type]
    if kind is None:
        raise GantoolError(
            f"{str(mpath)!r}: {name!r} has unknown kind {entry.get('kind')!r:.40}; "
            "it was written by another gantool version"
        )
    base = name[: -len(FAILED_SUFFIX)] if entry.get("failed") and name.endswith(FAILED_SUFFIX) else name
    fits = base in kind.all_companions if entry.get("companion") else artifact_for_file(base) is kind
    if not fits:
        raise GantoolError(
            f"{str(mpath)!r} says {name!r} is a {kind.name} {'companion' if entry.get('companion') else 'file'}, "
            "which its name contradicts; export again"
        )
    return entry


def is_plain_name(name: str) -> bool:
    """A bare file name: no directory part, not '.' or '..', no NUL, not hidden."""
    return (
        bool(name)
        and name not in (".", "..")
        and "/" not in name
        and "\\" not in name
        and "\x00" not in name
        and not name.startswith(".")
        and len(name) <= 255
    )


def describe(d: ExportDir) -> str:
    """A table of an export directory's files: kind, size, status, and what opens each."""
    rows = [("file", "kind", "size (MB)", "status", "opened by", "torch-free")]
    for name, e in d.entries.items():
        kind = ARTIFACTS[e["kind"]]
        status = "FAILED" if e.get("failed") else ("companion" if e.get("companion") else "verified")
        rows.append(
            (name, kind.name, f"{e['size'] / 1e6:.2f}", status, kind.backends[0], "yes" if kind.runtime else "no")
        )
    return f"{str(d.path)}  (checkpoint {d.checkpoint_path or '?'})\n" + columns(rows)
