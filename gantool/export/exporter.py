"""`export(checkpoint, ExportConfig)`, driven by the artifact table (`verify` is gantool.export.verification.recheck).

An export is built in a staging folder beside the output directory and moved in once every file
is made and verified (gantool.export.publish: only files gantool's manifest lists are ever
replaced or removed). An export directory holds the table's files that were asked for, plus:

    verification.json   per-backend, per-batch errors; variant pixel errors
    manifest.json       each file's SHA-256 and size, the checkpoint it came from
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from gantool import __version__
from gantool.artifacts import ARTIFACTS, ArtifactKind, resolve
from gantool.artifacts.exportdir import MANIFEST, REPORT
from gantool.core.console import say
from gantool.core.errors import GantoolError, VerificationError
from gantool.core.fileio import (
    check_writable_dir,
    new_staging_dir,
    path_lock,
    remove_stale_staging,
    sha256_file,
    write_json_atomic,
)
from gantool.export.config import ExportConfig
from gantool.export.job import MakerNote
from gantool.export.publish import check_removals, existing_export, mark_failed, publish
from gantool.export.verification.checks import variant_evaluator, verify_file
from gantool.export.verification.results import GateCheck, VerificationReport


@dataclass
class ExportResult:
    out_dir: Path
    files: dict[str, Path]  # artifact kind ("onnx", "torchscript", "int8", …) -> path
    report: VerificationReport
    removed: list[str] = field(default_factory=list)  # the previous export's files this one did not make again


def export(source: str | os.PathLike, cfg: ExportConfig, progress: bool = True) -> ExportResult:
    """Export the EMA generator of a run dir / checkpoint to the artifacts `cfg` asks for."""
    from gantool.export.job import ExportJob, Target
    from gantool.export.metadata import build_metadata
    from gantool.export.wrapper import example_inputs, inference_form, quantization_form, wrap
    from gantool.toolkit.inference import open_checkpoint

    cfg.validate()
    reference = open_checkpoint(Path(source))  # PyTorch eager, fp32: what every file is checked against
    ckpt = reference.checkpoint
    for kind in cfg.kinds():
        if kind.archs and ckpt.model.arch not in kind.archs:
            raise GantoolError(
                f"--{kind.group} exports {' or '.join(kind.archs)} generators, and this checkpoint "
                f"holds a {ckpt.model.arch}; train with --arch {kind.archs[0]} (or --size nano)"
            )
        if kind.precheck is not None:  # seconds, before minutes of conversion that could only fail
            resolve(kind.precheck)(ckpt.generator(), cfg)
    out = Path(cfg.out_dir)
    check_writable_dir(out.parent, "output directory")
    with path_lock(out, f"output directory {str(out)!r}"):
        remove_stale_staging(out)
        existing = existing_export(out, ckpt.sha256, cfg.force)
        check_removals(out, existing, {n for k in cfg.kinds() for n in (k.file, *k.all_companions)}, cfg.force)
        quant, quant_note = quantization_form(ckpt.generator())
        job = ExportJob(
            module=wrap(inference_form(ckpt.generator()), ckpt.conditional),
            quant_module=None if quant is None else wrap(quant, ckpt.conditional),
            quant_note=quant_note,
            inputs=example_inputs(ckpt.model.latent_dim, ckpt.model.num_classes),
            input_names=list(reference.metadata.inputs),
            cfg=cfg,
            metadata=build_metadata(ckpt, artifact_format="onnx", variant="fp32", opset=cfg.opset),
        )
        staging = new_staging_dir(out)
        try:
            report = VerificationReport.new(cfg, str(ckpt.path), ckpt.sha256)
            made: dict[str, Path] = {}
            verifier = _Verifier(cfg, ckpt, report, progress)
            for kind in cfg.kinds():
                target = Target(
                    kind,
                    staging / kind.file,
                    made.get(kind.source or ""),
                    {**job.metadata, "artifact_format": kind.group, "variant": kind.variant},
                )
                say(progress, f"making {kind.file}")
                note = make(kind, job, target)
                if note is not None:
                    report.notes[kind.file] = note
                made[kind.name] = target.path
                verifier.check(kind, target.path, made, reference)
            delivered, removed = _finish(staging, out, existing, made, report, ckpt, cfg)
        except GantoolError:
            raise
        except OSError as e:  # disk full, quota, a folder gone: the previous export is untouched
            where = f": {e.filename}" if e.filename else ""
            raise GantoolError(
                f"could not write the export ({e.strerror or e}{where}); {str(out)!r} is unchanged: "
                "free some space or choose another --out"
            ) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    if not report.passed:
        raise VerificationError(report.failure_line(out / REPORT))
    return ExportResult(out, delivered, report, removed)


def make(kind: ArtifactKind, job, target) -> Optional[MakerNote]:
    """Run the row's maker, then put the metadata where the row says it lives (a sidecar is the
    exporter's to write) and read it back through the runtime's reader, as any user would."""
    from gantool.runtime.metadata import read_metadata

    try:
        note = resolve(kind.maker)(job, target)
    except ModuleNotFoundError as e:
        raise GantoolError(
            f"--{kind.group} needs {e.name}, which is not installed: pip install 'gantool[{kind.extra or 'export'}]'"
        ) from None
    if kind.sidecar:
        write_json_atomic(target.path.with_name(kind.sidecar), target.metadata)
    if note is not None and not isinstance(note, MakerNote):
        raise TypeError(f"the maker of row {kind.name!r} ({kind.maker}) returned {type(note).__name__}, not MakerNote")
    read_metadata(target.path)
    return note


class _Verifier:
    """Verifies each artifact as soon as it is made (gantool.export.verification.checks.verify_file); a gated
    file that misses its gate stops the export before anything is written."""

    def __init__(self, cfg: ExportConfig, ckpt, report: VerificationReport, progress: bool) -> None:
        self.cfg, self.ckpt, self.report, self.progress = cfg, ckpt, report, progress
        self._evaluator: Any = None

    def check(self, kind: ArtifactKind, path: Path, made: dict[str, Path], reference) -> None:
        cfg = self.cfg
        if kind.gated or cfg.verify:
            against = made[kind.source or ""].name if kind.gated or kind.seeded else "PyTorch eager"
            say(self.progress, f"verifying {kind.file} against {against}")
        checks = verify_file(
            kind, path, made, reference, cfg, self.evaluator() if kind.gated else None, exact=cfg.verify
        )
        self.report.add(checks)
        for v in checks[1]:
            if not v.passed:
                raise VerificationError(self._gate_line(kind, v))

    def _gate_line(self, kind: ArtifactKind, v: GateCheck) -> str:
        cfg = self.cfg
        option = f"--{kind.variant}" if kind.variant != "fp32" and kind.verifier is None else f"--{kind.group}"
        if v.pixels is None:
            return f"the {kind.name} variant could not be verified ({v.error}); nothing was written. Drop {option}"
        if v.why:
            return f"{v.file} misses its gate on {v.backend}: {v.why}; nothing was written. Drop {option}"
        fid = f", FID change {v.fid.fid_change:+.2f}" if v.fid is not None else ""
        return (
            f"the {kind.name} variant misses the gate on {v.backend}: mean pixel error "
            f"{v.pixels.mean_pixel_error:.4f} (max {cfg.max_pixel_error}), peak {v.pixels.peak_pixel_error:.4f} "
            f"(max {cfg.max_peak_pixel_error}){fid}; nothing was written. Drop {option} or raise the gate"
        )

    def evaluator(self):
        """The Evaluator that scores FID changes, or None (and why, in the report); built once."""
        if self._evaluator is None:
            self._evaluator = variant_evaluator(self.cfg, self.ckpt.train, self.report, self.progress) or False
        return self._evaluator or None


def _finish(
    staging: Path, out: Path, existing, made: dict[str, Path], report: VerificationReport, ckpt, cfg: ExportConfig
) -> tuple[dict[str, Path], list[str]]:
    """Name failed files *.failed, write the report and manifest, move the export in."""
    failed = report.failed_files()
    entries: dict[str, dict[str, Any]] = {}
    for kind, path in made.items():
        names = [path.name] + [c for c in ARTIFACTS[kind].all_companions if (staging / c).is_file()]
        for name in names:
            final = mark_failed(staging, name) if path.name in failed else name
            p = staging / final
            entries[final] = {
                "kind": kind,
                "sha256": sha256_file(p),
                "size": p.stat().st_size,
                **({"failed": True} if final != name else {}),
                **({"companion": True} if name != path.name else {}),
            }
    for leftover in set(os.listdir(staging)) - set(entries):  # a maker's scratch files never ship
        p = staging / leftover
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    removed = sorted(set(existing.entries) - set(entries)) if existing is not None else []
    report.removed = removed
    write_json_atomic(staging / REPORT, report.to_dict(sorted(entries)))
    write_json_atomic(
        staging / MANIFEST,
        {
            "gantool_version": __version__,
            "checkpoint": {"path": str(Path(ckpt.path).resolve()), "sha256": ckpt.sha256},
            "model": ckpt.train.to_dict()["model"],
            "export_config": cfg.to_dict(),
            "files": entries,
            "report": REPORT,
        },
    )
    publish(staging, out, list(entries), existing)
    delivered = {e["kind"]: out / n for n, e in entries.items() if not e.get("failed") and not e.get("companion")}
    return delivered, removed
