"""What verification returns, typed: one ExactCheck per file, backend and batch checked at atol, one
GateCheck per file checked by its images against the file it was made from, and the
VerificationReport that `export` and `verify` both return and write (verification.json, whose keys
`to_dict` keeps as they were: readers of the JSON see no change)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from gantool import __version__
from gantool.artifacts.exportdir import FAILED_SUFFIX, MANIFEST

if TYPE_CHECKING:  # pragma: no cover
    from gantool.export.config import ExportConfig
    from gantool.export.job import MakerNote


def _present(**values: Any) -> dict[str, Any]:
    """The keys whose value is not None (the JSON leaves out what a check did not measure)."""
    return {k: v for k, v in values.items() if v is not None}


@dataclass
class ExactCheck:
    """A file on one backend at one batch against its reference at atol: PyTorch eager, or for a
    seeded file the file it wraps fed the latents gantool's numpy sampler computes."""

    file: str
    backend: str
    batch: Optional[int]  # None: the file did not load or run (see error)
    passed: bool
    max_abs_error: Optional[float] = None
    mean_abs_error: Optional[float] = None
    seeded: bool = False  # a seeded file's check: it ran with `truncation`
    truncation: Optional[float] = None
    error: Optional[str] = None

    @classmethod
    def failed(cls, file: str, backend: str, error: str) -> ExactCheck:
        return cls(file, backend, None, False, error=error)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "backend": self.backend, "batch": self.batch, "passed": self.passed}
        out.update(_present(max_abs_error=self.max_abs_error, mean_abs_error=self.mean_abs_error, error=self.error))
        if self.seeded and self.batch is not None:
            out["truncation"] = self.truncation
        return out


@dataclass
class PixelErrors:
    """|candidate - reference| over images in [0, 1]: mean, peak (a high quantile: one pixel in
    10,000 may be off more), max, and the mean in 8-bit levels."""

    mean_pixel_error: float
    max_pixel_error: float
    peak_pixel_error: float
    mean_pixel_error_levels: float


@dataclass
class FidChange:
    fid_fp32: float  # the reference file's FID on the same latents
    fid: float
    gate_fid_change: Optional[float]  # None: reported, not gated

    @property
    def fid_change(self) -> float:
        return self.fid - self.fid_fp32


@dataclass
class IdenticalImages:
    """The C row's gate: the share of seeds whose image is identical to the int8 file's, and the
    largest single-pixel difference in 8-bit levels."""

    identical_images: float
    max_level_difference: int
    gate_identical: float
    gate_levels: int


@dataclass
class GateCheck:
    """A file made from another (fp16, int8, OpenVINO, the C export …) against that file, by its
    images, on one backend. Exactly one of pixels / error / note says what happened."""

    variant: str  # the artifact kind
    file: str
    backend: str
    samples: int
    passed: bool
    pixels: Optional[PixelErrors] = None
    gate_mean: Optional[float] = None
    gate_peak: Optional[float] = None
    fid: Optional[FidChange] = None
    identical: Optional[IdenticalImages] = None
    why: Optional[str] = None  # the gate it missed, in words
    error: Optional[str] = None  # the file did not load or run
    note: Optional[str] = None  # not compared, and why (no C compiler here)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"variant": self.variant, "file": self.file, "backend": self.backend}
        out.update(samples=self.samples, passed=self.passed)
        if self.pixels is not None:
            out.update(vars(self.pixels))
        out.update(_present(gate_mean=self.gate_mean, gate_peak=self.gate_peak))
        if self.fid is not None:
            out.update(vars(self.fid), fid_change=self.fid.fid_change)
        if self.identical is not None:
            out.update(vars(self.identical))
        out.update(_present(why=self.why, error=self.error, note=self.note))
        return out


@dataclass
class VerificationReport:
    """Everything an export or a `gantool verify` found, in verification.json."""

    atol: float
    checkpoint: str
    checkpoint_sha256: str
    verified: bool  # the atol checks ran (export --no-verify: only the gates)
    results: list[ExactCheck] = field(default_factory=list)
    variants: list[GateCheck] = field(default_factory=list)
    notes: dict[str, MakerNote] = field(default_factory=dict)  # file name -> what its maker said
    fid_note: Optional[str] = None  # why FID changes were not computed
    numbers_checked: Optional[bool] = None  # gantool verify: the numbers were re-run (None: an export)
    sha256_matches_manifest: Optional[dict[str, bool]] = None  # gantool verify: per file
    changed_since_export: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # the previous export's files this one did not make
    gantool_version: str = __version__

    @classmethod
    def new(cls, cfg: ExportConfig, ckpt_path: str, ckpt_sha: str) -> VerificationReport:
        return cls(atol=cfg.atol, checkpoint=ckpt_path, checkpoint_sha256=ckpt_sha, verified=cfg.verify)

    def add(self, checks: tuple[list[ExactCheck], list[GateCheck]]) -> None:
        self.results += checks[0]
        self.variants += checks[1]

    @property
    def passed(self) -> bool:
        checks: list[ExactCheck | GateCheck] = [*self.results, *self.variants]
        return all(c.passed for c in checks) and not self.changed_since_export

    def failed_files(self) -> set[str]:
        checks: list[ExactCheck | GateCheck] = [*self.results, *self.variants]
        return set(self.changed_since_export) | {c.file for c in checks if not c.passed}

    def failure_line(self, path: Path) -> str:
        bad = [r for r in self.results if not r.passed]
        if self.changed_since_export:
            what = f"{', '.join(self.changed_since_export)} changed since export (SHA-256 differs from {MANIFEST})"
        elif bad:
            worst = bad[0]
            what = f"{worst.file} on {worst.backend} (batch {worst.batch}): " + (
                f"max abs error {worst.max_abs_error:.3g} > atol {self.atol:g}"
                if worst.max_abs_error is not None
                else worst.error or "does not load"
            )
        else:
            what = f"{next(v for v in self.variants if not v.passed).file} misses its pixel-error gate"
        return f"verification failed: {what}; files marked {FAILED_SUFFIX}, report in {path}"

    def to_dict(self, files: list[str]) -> dict[str, Any]:
        """verification.json: `files`, the names the export directory holds."""
        out: dict[str, Any] = {
            "gantool_version": self.gantool_version,
            "atol": self.atol,
            "checkpoint": self.checkpoint,
            "checkpoint_sha256": self.checkpoint_sha256,
            "verified": self.verified,
            "results": [r.to_dict() for r in self.results],
            "variants": [v.to_dict() for v in self.variants],
            "notes": {name: note.to_dict() for name, note in self.notes.items()},
            "passed": self.passed,
            "files": files,
        }
        out.update(_present(fid_note=self.fid_note, numbers_checked=self.numbers_checked))
        if self.sha256_matches_manifest is not None:
            out["sha256_matches_manifest"] = self.sha256_matches_manifest
            out["changed_since_export"] = self.changed_since_export
        if self.removed:
            out["removed"] = self.removed
        return out
