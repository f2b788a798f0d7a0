"""`export(checkpoint, ExportConfig)` and `verify(export_dir)`, both driven by the artifact table.

An export is built in a staging folder beside the output directory and swapped in as a whole
once every file is made and verified, so a reader never sees a half-written or mixed folder.
An export directory holds the table's files that were asked for, plus:

    verification.json   per-backend, per-batch errors; variant pixel errors
    manifest.json       each file's SHA-256 and size, the checkpoint it came from
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from gantool import __version__
from gantool.artifacts import ARTIFACTS, ArtifactKind, open_backend, resolve
from gantool.config_io import from_dict
from gantool.console import say
from gantool.errors import GantoolError, GantoolFileNotFoundError, VerificationError, first_line
from gantool.export.config import ExportConfig
from gantool.export_dir import FAILED_SUFFIX, MANIFEST, REPORT, read_export_dir
from gantool.fileio import (check_writable_dir, new_staging_dir, path_lock, remove_stale_staging, replace_dir,
                            sha256_file, write_json_atomic)


@dataclass
class ExportResult:
    out_dir: Path
    files: dict[str, Path]  # artifact kind ("onnx", "torchscript", "int8", …) -> path
    report: dict[str, Any]


def export(source: str | os.PathLike, cfg: ExportConfig, progress: bool = True) -> ExportResult:
    """Export the EMA generator of a run dir / checkpoint to the artifacts `cfg` asks for."""
    from gantool.export.formats import ExportJob, Target
    from gantool.export.metadata import build_metadata
    from gantool.export.wrapper import example_inputs, inference_form, quantization_form, wrap
    from gantool.toolkit.inference import open_checkpoint

    cfg.validate()
    reference = open_checkpoint(source)  # PyTorch eager, fp32: what every file is checked against
    ckpt = reference.checkpoint
    out = Path(cfg.out_dir)
    check_writable_dir(out.parent, "output directory")
    with path_lock(out, f"output directory {str(out)!r}"):
        remove_stale_staging(out)
        _check_out_dir(out, ckpt.sha256, cfg.force)
        quant, quant_note = quantization_form(ckpt.generator())
        job = ExportJob(module=wrap(inference_form(ckpt.generator()), ckpt.conditional),
                        quant_module=None if quant is None else wrap(quant, ckpt.conditional), quant_note=quant_note,
                        inputs=example_inputs(ckpt.model.latent_dim, ckpt.model.num_classes),
                        input_names=list(reference.metadata["inputs"]), cfg=cfg,
                        metadata=build_metadata(ckpt, artifact_format="onnx", variant="fp32", opset=cfg.opset))
        staging = new_staging_dir(out)
        try:
            report = _new_report(cfg, str(ckpt.path), ckpt.sha256)
            made: dict[str, Path] = {}
            judge = _Judge(cfg, ckpt, report, progress)
            for kind in cfg.kinds():
                target = Target(kind, staging / kind.file, made.get(kind.source or ""),
                                {**job.metadata, "artifact_format": kind.format, "variant": kind.variant})
                say(progress, f"making {kind.file}")
                notes = _make(kind, job, target)
                if notes:
                    report["notes"][kind.file] = notes
                made[kind.name] = target.path
                judge.check(kind, target.path, made, reference)
            report["passed"] = _passed(report)
            delivered = _finish(staging, out, made, report, ckpt, cfg)
        except GantoolError:
            raise
        except OSError as e:  # disk full, quota, a folder gone: the previous export is untouched
            where = f": {e.filename}" if e.filename else ""
            raise GantoolError(f"could not write the export ({e.strerror or e}{where}); {str(out)!r} is unchanged: "
                               "free some space or choose another --out") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if not report["passed"]:
        raise VerificationError(_failure_line(report, out / REPORT))
    return ExportResult(out, delivered, report)


def _make(kind: ArtifactKind, job, target) -> Optional[dict]:
    try:
        return resolve(kind.maker)(job, target)
    except ModuleNotFoundError as e:
        extra = kind.extra or "export"
        raise GantoolError(f"--{kind.format} needs {e.name}, which is not installed: "
                           f"pip install 'gantool[{extra}]'") from None


class _Judge:
    """Checks each artifact as soon as it is made: exact rows against eager (when cfg.verify),
    gated rows against their source (always: the gate is part of making a variant)."""

    def __init__(self, cfg: ExportConfig, ckpt, report: dict, progress: bool) -> None:
        self.cfg, self.ckpt, self.report, self.progress = cfg, ckpt, report, progress
        self._evaluator: Any = None

    def check(self, kind: ArtifactKind, path: Path, made: dict[str, Path], reference) -> None:
        from gantool.export.checks import verify_exact

        cfg = self.cfg
        if kind.seeded:
            if cfg.verify:
                from gantool.export.checks import verify_seeded

                say(self.progress, f"verifying {kind.file} against {made[kind.source].name} on numpy's seeded latents")
                self.report["results"] += verify_seeded(kind, path, made[kind.source], cfg.atol)
            return
        if not kind.gated:
            if cfg.verify:
                say(self.progress, f"verifying {kind.file} against PyTorch eager")
                self.report["results"] += verify_exact(reference, kind, path, cfg.atol, cfg.seed)
            return
        for judged in judge_kind(kind, path, made[kind.source], cfg, self.evaluator()):
            self.report["variants"].append(judged)
            if not judged["passed"]:
                fid = f", FID change {judged['fid_change']:+.2f}" if "fid_change" in judged else ""
                option = f"--{kind.variant}" if kind.variant != "fp32" else f"--{kind.format}"
                raise VerificationError(
                    f"the {kind.name} variant misses the gate on {judged['backend']}: mean pixel error "
                    f"{judged['mean_pixel_error']:.4f} (max {cfg.max_pixel_error}), peak {judged['max_pixel_error']:.4f} "
                    f"(max {cfg.max_peak_pixel_error}){fid}; nothing was written. Drop {option} or raise the gate")

    def evaluator(self):
        """The Evaluator that scores FID changes, or None (and why, in the report); built once."""
        if self._evaluator is None:
            self._evaluator = variant_evaluator(self.cfg, self.ckpt.train, self.report, self.progress) or False
        return self._evaluator or None


def judge_kind(kind: ArtifactKind, path: Path, source: Path, cfg: ExportConfig, evaluator=None) -> list[dict[str, Any]]:
    """A gated file judged against the file it was made from, on each of its row's backends."""
    from gantool.export.checks import judge_variant

    reference = open_backend(ARTIFACTS[kind.source].backends[0], source)
    return [{"variant": kind.name, "backend": backend,
             **judge_variant(reference, open_backend(backend, path), cfg.variant_samples, cfg.seed,
                             cfg.max_pixel_error, cfg.max_peak_pixel_error, evaluator, cfg.max_fid_change)}
            for backend in kind.backends]


def variant_evaluator(cfg: ExportConfig, train_cfg, report: dict, progress: bool):
    if cfg.fid is False:
        report["fid_note"] = "FID change not computed (--no-fid)"
        return None
    from gantool.toolkit.metrics.evaluator import Evaluator

    try:
        return Evaluator.for_model(train_cfg, data_dir=cfg.fid_data_dir, progress=progress)
    except GantoolError as e:
        if cfg.fid:  # asked for explicitly: a missing test split is an error
            raise
        report["fid_note"] = f"FID change not computed: {e}"
        return None


def _finish(staging: Path, out: Path, made: dict[str, Path], report: dict, ckpt, cfg: ExportConfig) -> dict[str, Path]:
    """Name failed files *.failed, write the report and manifest, swap the folder in."""
    failed = {r["file"] for r in report["results"] + report["variants"] if not r["passed"]}
    entries = {}
    for kind, path in made.items():
        names = [path.name] + [c for c in ARTIFACTS[kind].companions if (staging / c).is_file()]
        for name in names:
            final = name + FAILED_SUFFIX if path.name in failed else name
            if final != name:
                os.replace(staging / name, staging / final)
            p = staging / final
            entries[final] = {"kind": kind, "sha256": sha256_file(p), "size": p.stat().st_size,
                              **({"failed": True} if final != name else {}),
                              **({"companion": True} if name != path.name else {})}
    for leftover in set(os.listdir(staging)) - set(entries):  # a maker's scratch files never ship
        p = staging / leftover
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    write_json_atomic(staging / REPORT, {**report, "files": sorted(entries)})
    write_json_atomic(staging / MANIFEST, {
        "gantool_version": __version__,
        "checkpoint": {"path": str(Path(ckpt.path).resolve()), "sha256": ckpt.sha256},
        "model": ckpt.train.to_dict()["model"], "export_config": cfg.to_dict(), "files": entries,
        "report": REPORT})
    replace_dir(staging, out)
    return {e["kind"]: out / n for n, e in entries.items() if not e.get("failed") and not e.get("companion")}


def verify(export_dir: str | os.PathLike, checkpoint: Optional[str | os.PathLike] = None,
           atol: Optional[float] = None, progress: bool = True) -> dict[str, Any]:
    """Re-verify an export directory: every file's SHA-256 against the manifest first (a file that
    changed since export fails, whatever its numbers), then the numbers against the checkpoint.
    Files that fail are renamed with a `.failed` suffix so nothing uses them as good."""
    from gantool.export.checks import verify_exact, verify_seeded
    from gantool.toolkit.inference import open_checkpoint

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
        ckpt_path = Path(checkpoint) if checkpoint else Path(d.checkpoint_path)
        if not ckpt_path.is_file():
            raise GantoolFileNotFoundError(
                f"checkpoint {str(ckpt_path)!r} (the export's source) is missing; pass --checkpoint PATH")
        if sha256_file(ckpt_path) != d.checkpoint_sha256:
            raise GantoolError(f"checkpoint {str(ckpt_path)!r} is not the one this export came from (SHA-256 differs)")
        say(progress, f"verifying {', '.join(p.name for p in d.files.values())}")
        reference = open_checkpoint(ckpt_path)
        report = _new_report(cfg, str(ckpt_path), d.checkpoint_sha256)
        for kind_name, path in d.files.items():
            kind = ARTIFACTS[kind_name]
            if kind.seeded:
                if kind.source in d.files:
                    report["results"] += verify_seeded(kind, path, d.files[kind.source], cfg.atol)
            elif not kind.gated:
                report["results"] += verify_exact(reference, kind, path, cfg.atol, cfg.seed)
            elif kind.source in d.files:
                try:
                    report["variants"] += judge_kind(kind, path, d.files[kind.source], cfg)
                except GantoolError as e:  # a changed or damaged file that no longer loads
                    report["variants"].append({"variant": kind_name, "file": path.name, "samples": 0,
                                               "passed": False, "error": first_line(e, 200)})
        report["sha256_matches_manifest"] = {name: name not in changed for name in d.entries}
        report["changed_since_export"] = changed
        report["passed"] = _passed(report) and not changed
        _mark_failed(out, d, report, changed)
        if not report["passed"]:
            raise VerificationError(_failure_line(report, out / REPORT))
        return report


def _mark_failed(out: Path, d, report: dict, changed: list[str]) -> None:
    failed = set(changed) | {r["file"] for r in report["results"] + report["variants"] if not r["passed"]}
    failed &= set(d.entries)  # only names the manifest lists: never anything outside the folder
    if failed:
        manifest = dict(d.manifest)
        files = {}
        for name, entry in d.entries.items():
            if name in failed:
                os.replace(out / name, out / (name + FAILED_SUFFIX))
                files[name + FAILED_SUFFIX] = {**entry, "failed": True}
            else:
                files[name] = entry
        manifest["files"] = files
        write_json_atomic(out / MANIFEST, manifest)
    write_json_atomic(out / REPORT, {**report, "files": sorted(d.entries)})


# ----- helpers -------------------------------------------------------------------------------
def _new_report(cfg: ExportConfig, ckpt_path: str, ckpt_sha: str) -> dict[str, Any]:
    return {"gantool_version": __version__, "atol": cfg.atol, "checkpoint": ckpt_path,
            "checkpoint_sha256": ckpt_sha, "verified": cfg.verify, "results": [], "variants": [], "notes": {}}


def _passed(report: dict) -> bool:
    return all(r["passed"] for r in report["results"]) and all(v["passed"] for v in report["variants"])


def _failure_line(report: dict, path: Path) -> str:
    changed = report.get("changed_since_export") or []
    bad = [r for r in report["results"] if not r["passed"]]
    if changed:
        what = f"{', '.join(changed)} changed since export (SHA-256 differs from {MANIFEST})"
    elif bad:
        worst = bad[0]
        what = (f"{worst['file']} on {worst['backend']} (batch {worst['batch']}): "
                + (f"max abs error {worst['max_abs_error']:.3g} > atol {report['atol']:g}"
                   if "max_abs_error" in worst else worst.get("error", "does not load")))
    else:
        worst = next(v for v in report["variants"] if not v["passed"])
        what = f"{worst['file']} misses its pixel-error gate"
    return f"verification failed: {what}; files marked {FAILED_SUFFIX}, report in {path}"


def _check_out_dir(out: Path, ckpt_sha: str, force: bool) -> None:
    """Refuse to mix models or to replace a folder that is not an export: an export replaces
    its folder as a whole, so a folder of other files is never taken over, even with --force."""
    if not out.exists():
        return
    if not out.is_dir():
        raise GantoolError(f"output path {str(out)!r} is a file, not a directory")
    try:
        existing = read_export_dir(out, required=False)
    except GantoolError:
        if force:  # a damaged export of ours: --force may replace it
            return
        raise
    if existing is None:
        if any(out.iterdir()):
            raise GantoolError(f"{str(out)!r} is not empty and holds no gantool export; choose another --out")
        return
    if existing.checkpoint_sha256 != ckpt_sha and not force:
        raise GantoolError(f"{str(out)!r} already holds an export of a different model; pass --force to replace it")
