"""The verification report that `export` and `verify` both write (verification.json), and its one-line summary."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from gantool import __version__
from gantool.artifacts.exportdir import FAILED_SUFFIX, MANIFEST

if TYPE_CHECKING:  # pragma: no cover
    from gantool.export.config import ExportConfig


def new_report(cfg: ExportConfig, ckpt_path: str, ckpt_sha: str) -> dict[str, Any]:
    return {
        "gantool_version": __version__,
        "atol": cfg.atol,
        "checkpoint": ckpt_path,
        "checkpoint_sha256": ckpt_sha,
        "verified": cfg.verify,
        "results": [],
        "variants": [],
        "notes": {},
    }


def passed(report: dict) -> bool:
    return all(r["passed"] for r in report["results"]) and all(v["passed"] for v in report["variants"])


def failure_line(report: dict, path: Path) -> str:
    changed = report.get("changed_since_export") or []
    bad = [r for r in report["results"] if not r["passed"]]
    if changed:
        what = f"{', '.join(changed)} changed since export (SHA-256 differs from {MANIFEST})"
    elif bad:
        worst = bad[0]
        what = f"{worst['file']} on {worst['backend']} (batch {worst['batch']}): " + (
            f"max abs error {worst['max_abs_error']:.3g} > atol {report['atol']:g}"
            if "max_abs_error" in worst
            else worst.get("error", "does not load")
        )
    else:
        worst = next(v for v in report["variants"] if not v["passed"])
        what = f"{worst['file']} misses its pixel-error gate"
    return f"verification failed: {what}; files marked {FAILED_SUFFIX}, report in {path}"
