"""`verify(export_dir)`: re-check an export directory, integrity first.

Every file's size and SHA-256 are compared with `manifest.json` before anything opens a file: a
file that changed since export fails at once and is never loaded (a loader that can run code never
touches it). This part needs neither torch nor onnx. Then, when torch is installed (or asked for),
the numbers: each file verified against the checkpoint exactly as at export (gantool.export.verification.checks).
Files that fail are renamed with a `.failed` suffix so nothing uses them as good.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Optional

from gantool.artifacts import ARTIFACTS
from gantool.artifacts.exportdir import MANIFEST, REPORT, read_export_dir
from gantool.core.configs import from_dict
from gantool.core.console import say
from gantool.core.errors import GantoolError, GantoolFileNotFoundError, VerificationError
from gantool.core.fileio import path_lock, sha256_file, write_json_atomic
from gantool.export.config import ExportConfig
from gantool.export.publish import mark_failed
from gantool.export.verification.results import VerificationReport

NUMBERS_NEED = ("torch", "onnx")  # the modules the numerical re-check imports (gantool[export])


def numbers_available() -> bool:
    try:
        return all(importlib.util.find_spec(m) is not None for m in NUMBERS_NEED)
    except ImportError:  # an import hook that refuses the module
        return False


def verify(
    export_dir: str | os.PathLike,
    checkpoint: Optional[str | os.PathLike] = None,
    atol: Optional[float] = None,
    progress: bool = True,
    numbers: Optional[bool] = None,
) -> VerificationReport:
    """Hashes against the manifest, then (numbers=True, or None with torch installed) the numbers
    against the checkpoint. Returns the report; VerificationError (exit 1) if anything failed."""
    out = Path(export_dir)
    d = read_export_dir(out)
    with path_lock(out, f"export directory {str(out)!r}"):
        cfg = from_dict(ExportConfig, d.export_config, f"{MANIFEST} export_config")
        cfg.out_dir = str(out)
        if atol is not None:
            cfg.atol = atol
        cfg.validate()
        missing = [str(out / n) for n in d.entries if not (out / n).is_file()]
        if missing:
            raise GantoolFileNotFoundError(f"export files missing: {', '.join(missing)}")
        changed = d.changed_files()
        if numbers is None:
            numbers = numbers_available()
        report = VerificationReport.new(cfg, d.checkpoint_path, d.checkpoint_sha256)
        report.numbers_checked = bool(numbers and not changed)
        if numbers and not changed:  # a changed file is never loaded: it fails on its hash alone
            _check_numbers(d, cfg, checkpoint, report, progress)
        report.sha256_matches_manifest = {name: name not in changed for name in d.entries}
        report.changed_since_export = changed
        _mark_failed(out, d, report)
        if not report.passed:
            raise VerificationError(report.failure_line(out / REPORT))
        return report


def _check_numbers(d, cfg: ExportConfig, checkpoint, report: VerificationReport, progress: bool) -> None:
    from gantool.export.verification.checks import verify_file
    from gantool.toolkit.inference import open_checkpoint

    ckpt_path = Path(checkpoint) if checkpoint else Path(d.checkpoint_path)
    if not ckpt_path.is_file():
        raise GantoolFileNotFoundError(
            f"checkpoint {str(ckpt_path)!r} (the export's source) is missing; pass --checkpoint PATH"
        )
    if sha256_file(ckpt_path) != d.checkpoint_sha256:
        raise GantoolError(f"checkpoint {str(ckpt_path)!r} is not the one this export came from (SHA-256 differs)")
    say(progress, f"verifying {', '.join(p.name for p in d.files.values())}")
    reference = open_checkpoint(ckpt_path)
    report.checkpoint = str(ckpt_path)
    for kind_name, path in d.files.items():
        report.add(verify_file(ARTIFACTS[kind_name], path, d.files, reference, cfg))


def _mark_failed(out: Path, d, report: VerificationReport) -> None:
    failed = report.failed_files() & set(d.entries)  # only names the manifest lists: never anything outside the folder
    if failed:
        manifest = dict(d.manifest)
        files = {}
        for name, entry in d.entries.items():
            if name in failed:
                files[mark_failed(out, name)] = {**entry, "failed": True}
            else:
                files[name] = entry
        manifest["files"] = files
        write_json_atomic(out / MANIFEST, manifest)
    write_json_atomic(out / REPORT, report.to_dict(sorted(d.entries)))
