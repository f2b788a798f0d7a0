"""`export(checkpoint, ExportConfig)` and `verify(export_dir)`.

Everything is written into a staging folder inside the output directory and
moved into place only once verified, so a failed or interrupted export never
leaves a file that looks good. An export directory holds:

    model.onnx  model.ts.pt  [model.fp16.onnx]  [model.int8.onnx]
    verification.json   per-backend, per-batch errors; variant pixel errors
    manifest.json       each file's SHA-256 and size, the checkpoint it came from
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from gantool import __version__
from gantool.errors import GantoolError, GantoolFileNotFoundError, VerificationError
from gantool.export.config import ExportConfig
from gantool.fileio import check_writable_dir, sha256_file, write_json_atomic

MANIFEST = "manifest.json"
REPORT = "verification.json"
FAILED_SUFFIX = ".failed"


@dataclass
class ExportResult:
    out_dir: Path
    files: dict[str, Path]  # "onnx" | "torchscript" | "fp16" | "int8" -> path
    report: dict[str, Any]


def export(source: str | os.PathLike, cfg: ExportConfig, progress: bool = False) -> ExportResult:
    """Export the EMA generator of a run dir / checkpoint to the formats `cfg` asks for."""
    import torch  # noqa: F401  (needs the export extra)

    from gantool.export.formats import FORMATS, ExportJob
    from gantool.export.metadata import build_metadata
    from gantool.export.wrapper import example_inputs, inference_form, wrap
    from gantool.toolkit.checkpoint import generator_from_checkpoint, load_checkpoint

    cfg.validate()
    ckpt = load_checkpoint(source)
    ckpt_sha = sha256_file(ckpt["path"])
    out = Path(cfg.out_dir)
    old_manifest = _check_out_dir(out, ckpt_sha, cfg.force)
    check_writable_dir(out, "output directory")
    model_cfg = ckpt["model_config"]
    conditional = model_cfg["num_classes"] > 0
    generator = generator_from_checkpoint(ckpt, prefer_ema=True)
    module = wrap(generator, conditional)  # the reference: PyTorch eager, fp32
    job = ExportJob(
        module=wrap(inference_form(generator), conditional),
        inputs=example_inputs(model_cfg["latent_dim"], model_cfg["num_classes"]),
        input_names=["z", "label"] if model_cfg["num_classes"] else ["z"],
        opset=cfg.opset,
        metadata=lambda fmt, variant, opset: build_metadata(ckpt, ckpt_sha, opset=opset, variant=variant,
                                                            artifact_format=fmt),
    )
    meta = job.metadata("onnx", "fp32", cfg.opset)
    staging = Path(tempfile.mkdtemp(prefix=".gantool-tmp-", dir=out))
    try:
        files: dict[str, Path] = {}
        for name in (n for n in FORMATS if getattr(cfg, n)):
            file_name, fn = FORMATS[name]
            _say(progress, f"exporting {file_name}")
            fn(job, staging / file_name)
            files[name] = staging / file_name
        report = _new_report(cfg, ckpt, ckpt_sha)
        if cfg.verify:
            _say(progress, "verifying against PyTorch eager")
            report["results"] = _verify(module, files, meta, cfg)
        _make_variants(cfg, files, meta, staging, report, progress, ckpt)
        report["passed"] = _passed(report)
        if not report["passed"]:
            # Numbers disagree: hand the files over marked as failed, never as good ones.
            delivered = _deliver(staging, out, files, suffix=FAILED_SUFFIX)
            write_json_atomic(out / REPORT, _finish_report(report, delivered))
            raise VerificationError(_failure_line(report, out / REPORT))
        delivered = _deliver(staging, out, files)
        _remove_stale(out, old_manifest, delivered)
        write_json_atomic(out / REPORT, _finish_report(report, delivered))
        write_json_atomic(out / MANIFEST, _manifest(delivered, ckpt, ckpt_sha, cfg))
        return ExportResult(out, delivered, report)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _variant_evaluator(cfg: ExportConfig, ckpt: dict, report: dict, progress: bool):
    """The Evaluator that scores FID changes, or None (and why, in the report)."""
    if cfg.fid is False:
        report["fid_note"] = "FID change not computed (--no-fid)"
        return None
    from gantool.toolkit.metrics.evaluate import Evaluator

    train_cfg = ckpt["train_config"]
    try:
        return Evaluator(train_cfg["dataset"], cfg.fid_data_dir or train_cfg.get("data_dir"), progress=progress)
    except GantoolError as e:
        if cfg.fid:  # asked for explicitly: a missing test split is an error
            raise
        report["fid_note"] = f"FID change not computed: {e}"
        return None


def _make_variants(cfg: ExportConfig, files: dict[str, Path], meta: dict, staging: Path, report: dict,
                   progress: bool, ckpt: dict) -> None:
    from gantool.export.variants import VARIANTS
    from gantool.export.verify import judge_variant

    wanted = [n for n in VARIANTS if getattr(cfg, n)]
    evaluator = _variant_evaluator(cfg, ckpt, report, progress) if wanted else None
    for name in wanted:
        file_name, fn = VARIANTS[name]
        _say(progress, f"making {file_name}")
        fn(files["onnx"], staging / file_name, meta, cfg.calibration_samples, cfg.seed)
        judged = judge_variant(files["onnx"], staging / file_name, meta, cfg.variant_samples, cfg.seed,
                               cfg.max_pixel_error, cfg.max_peak_pixel_error, evaluator, cfg.max_fid_change)
        report["variants"].append({"variant": name, **judged})
        if not judged["passed"]:
            fid = f", FID change {judged['fid_change']:+.2f}" if "fid_change" in judged else ""
            raise GantoolError(
                f"the {name} variant misses the gate: mean pixel error {judged['mean_pixel_error']:.4f} "
                f"(max {cfg.max_pixel_error}), peak {judged['max_pixel_error']:.4f} (max {cfg.max_peak_pixel_error})"
                f"{fid}; nothing was written. Drop --{name} or raise the gate"
            )
        files[name] = staging / file_name


def verify(export_dir: str | os.PathLike, checkpoint: Optional[str | os.PathLike] = None,
           atol: Optional[float] = None) -> dict[str, Any]:
    """Re-verify an export directory against its checkpoint; raises VerificationError on failure.

    Files that fail are renamed with a `.failed` suffix so nothing uses them as good.
    """
    from gantool.export.metadata import read_metadata
    from gantool.export.wrapper import wrap
    from gantool.toolkit.checkpoint import generator_from_checkpoint, load_checkpoint

    out = Path(export_dir)
    manifest = _read_manifest(out)
    if manifest is None:
        raise GantoolError(f"{str(out)!r} is not a gantool export directory (no {MANIFEST}); run gantool export")
    cfg = ExportConfig(**{k: v for k, v in manifest["export_config"].items() if k in ExportConfig.__dataclass_fields__})
    cfg.out_dir = str(out)
    if atol is not None:
        cfg.atol = atol
    cfg.validate()
    ckpt_path = Path(checkpoint) if checkpoint else Path(manifest["checkpoint"]["path"])
    if not ckpt_path.exists():
        raise GantoolFileNotFoundError(
            f"checkpoint {str(ckpt_path)!r} (the export's source) is missing; pass --checkpoint PATH")
    ckpt = load_checkpoint(ckpt_path)
    ckpt_sha = sha256_file(ckpt["path"])
    if ckpt_sha != manifest["checkpoint"]["sha256"]:
        raise GantoolError(f"checkpoint {str(ckpt_path)!r} is not the one this export came from (SHA-256 differs)")
    files = {e["kind"]: out / name for name, e in manifest["files"].items()}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        raise GantoolFileNotFoundError(f"export files missing: {', '.join(missing)}")
    module = wrap(generator_from_checkpoint(ckpt, prefer_ema=True), ckpt["model_config"]["num_classes"] > 0)
    meta = read_metadata(files["onnx"] if "onnx" in files else files["torchscript"])
    report = _new_report(cfg, ckpt, ckpt_sha)
    report["results"] = _verify(module, {k: v for k, v in files.items() if k in ("onnx", "torchscript")}, meta, cfg)
    from gantool.export.verify import judge_variant

    for kind in ("fp16", "int8"):
        if kind in files:
            judged = judge_variant(files["onnx"], files[kind], meta, cfg.variant_samples, cfg.seed,
                                   cfg.max_pixel_error, cfg.max_peak_pixel_error)
            report["variants"].append({"variant": kind, **judged})
    report["sha256_matches_manifest"] = {
        name: sha256_file(out / name) == e["sha256"] for name, e in manifest["files"].items()}
    report["passed"] = _passed(report)
    failed_files = {r["file"] for r in report["results"] + report["variants"] if not r["passed"]}
    if failed_files:
        renamed = {}
        for name in failed_files:
            os.replace(out / name, out / (name + FAILED_SUFFIX))
            renamed[name] = name + FAILED_SUFFIX
        manifest["files"] = {renamed.get(n, n): {**e, "failed": n in renamed} for n, e in manifest["files"].items()}
        write_json_atomic(out / MANIFEST, manifest)
    write_json_atomic(out / REPORT, _finish_report(report, files))
    if not report["passed"]:
        raise VerificationError(_failure_line(report, out / REPORT))
    return report


# ----- helpers -------------------------------------------------------------------------------
def _verify(module, files: dict[str, Path], meta: dict, cfg: ExportConfig) -> list[dict]:
    from gantool.export.verify import verify_files

    return verify_files(module, files, meta, cfg.atol, seed=cfg.seed)


def _new_report(cfg: ExportConfig, ckpt: dict, ckpt_sha: str) -> dict[str, Any]:
    return {"gantool_version": __version__, "atol": cfg.atol, "checkpoint": str(ckpt["path"]),
            "checkpoint_sha256": ckpt_sha, "verified": cfg.verify, "results": [], "variants": []}


def _passed(report: dict) -> bool:
    return all(r["passed"] for r in report["results"]) and all(v["passed"] for v in report["variants"])


def _finish_report(report: dict, files: dict[str, Path]) -> dict:
    return {**report, "files": sorted(p.name for p in files.values())}


def _failure_line(report: dict, path: Path) -> str:
    bad = [r for r in report["results"] if not r["passed"]]
    worst = bad[0] if bad else report["variants"][0]
    what = (f"{worst['file']} on {worst['backend']} (batch {worst['batch']}): "
            + (f"max abs error {worst['max_abs_error']:.3g} > atol {report['atol']:g}"
               if "max_abs_error" in worst else worst.get("error", "does not load"))
            ) if bad else f"{worst['file']} misses its pixel-error gate"
    return f"verification failed: {what}; files marked {FAILED_SUFFIX}, report in {path}"


def _deliver(staging: Path, out: Path, files: dict[str, Path], suffix: str = "") -> dict[str, Path]:
    delivered = {}
    for kind, path in files.items():
        target = out / (path.name + suffix)
        os.replace(path, target)  # same filesystem: atomic
        delivered[kind] = target
    return delivered


def _manifest(files: dict[str, Path], ckpt: dict, ckpt_sha: str, cfg: ExportConfig) -> dict[str, Any]:
    return {
        "gantool_version": __version__,
        "checkpoint": {"path": str(Path(ckpt["path"]).resolve()), "sha256": ckpt_sha},
        "model": ckpt["model_config"],
        "export_config": cfg.to_dict(),
        "files": {p.name: {"kind": kind, "sha256": sha256_file(p), "size": p.stat().st_size}
                  for kind, p in files.items()},
        "report": REPORT,
    }


def _read_manifest(out: Path) -> Optional[dict]:
    import json

    path = out / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        raise GantoolError(f"{str(path)!r} is unreadable; delete the export directory and export again") from None


def _check_out_dir(out: Path, ckpt_sha: str, force: bool) -> Optional[dict]:
    """Refuse to mix models: an out dir holding another model's export needs --force."""
    if not out.exists():
        return None
    if not out.is_dir():
        raise GantoolError(f"output path {str(out)!r} is a file, not a directory")
    manifest = _read_manifest(out)
    if force:
        return manifest
    if manifest is not None and manifest["checkpoint"]["sha256"] != ckpt_sha:
        raise GantoolError(f"{str(out)!r} already holds an export of a different model; pass --force to replace it")
    others = [p.name for p in out.iterdir() if not p.name.startswith(".gantool-tmp-")]
    if manifest is None and others:
        raise GantoolError(f"{str(out)!r} is not empty and holds no gantool export; choose another --out or --force")
    return manifest


def _remove_stale(out: Path, old_manifest: Optional[dict], delivered: dict[str, Path]) -> None:
    """Files of a previous export that this one did not write (a variant, a .failed file)."""
    keep = {p.name for p in delivered.values()}
    stale = set(old_manifest["files"]) if old_manifest else set()
    stale |= {p.name for p in out.glob(f"*{FAILED_SUFFIX}")}
    for name in stale - keep:
        (out / name).unlink(missing_ok=True)


def _say(progress: bool, msg: str) -> None:
    if progress:
        import sys

        print(f"… {msg}", file=sys.stderr)
