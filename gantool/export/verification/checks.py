"""Numerical verification of exported files, driven by the artifact table; `verify_file()` is the
one entry point, shared by `export` and `verify`.

Exact rows (fp32 files): for each verifying backend's batch sizes (its row's `batches`) with
seeded latents (and, for conditional models, enough batches that every label is seen), the
backend's output is compared with PyTorch eager: max and mean absolute error on [0, 1] pixels,
failing above `atol`. Seeded rows: against the file they wrap, fed the latents gantool's numpy
sampler computes. Gated rows (fp16, int8, …) are verified by their images against the file they
were made from: mean and peak pixel error and, given an Evaluator, the change in FID.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional

import numpy as np

from gantool.artifacts import ARTIFACTS, BACKENDS, ArtifactKind, open_backend, resolve
from gantool.core.errors import GantoolError, first_line
from gantool.export.seeds import exact_seed, gate_seed
from gantool.export.verification.results import ExactCheck, FidChange, GateCheck, PixelErrors, VerificationReport
from gantool.runtime.generator import Generator, to_uint8
from gantool.runtime.latents import seeded_inputs
from gantool.runtime.metadata import ModelMetadata

Checks = tuple[list[ExactCheck], list[GateCheck]]


def verify_file(
    kind: ArtifactKind,
    path: Path,
    files: dict[str, Path],
    reference: Optional[Generator],
    cfg,
    evaluator=None,
    exact: bool = True,
) -> Checks:
    """One file verified as its row says: (atol checks, gate checks). `files` maps kinds to the
    files beside it (its row's source among them); `exact=False` skips the atol checks (export
    --no-verify), never the gates, which are part of making a variant."""
    source = files.get(kind.source or "")
    if kind.verifier is not None:
        return [], (resolve(kind.verifier)(kind, path, source, cfg) if source else [])
    if kind.seeded:
        return (verify_seeded(kind, path, source, cfg.atol) if exact and source else []), []
    if not kind.gated:
        if not exact:
            return [], []
        assert reference is not None  # an fp32 row is verified against PyTorch eager
        return verify_exact(reference, kind, path, cfg.atol, cfg.seed), []
    if source is None:
        return [], []
    return [], verify_gated(kind, path, source, cfg, evaluator)


def verify_gated(kind: ArtifactKind, path: Path, source: Path, cfg, evaluator=None) -> list[GateCheck]:
    """A gated file against the file it was made from, on each of its row's backends; a file that no
    longer loads fails with its one-line reason."""
    assert kind.source is not None  # a gated row names its source (checked at import)
    try:
        reference = open_backend(ARTIFACTS[kind.source].backends[0], source)
        return [
            compare_images(kind.name, backend, reference, open_backend(backend, path), cfg, evaluator)
            for backend in kind.backends
        ]
    except GantoolError as e:
        return [GateCheck(kind.name, path.name, kind.backends[0], 0, False, error=first_line(e, 200))]


def variant_evaluator(cfg, train_cfg, report: VerificationReport, progress: bool):
    """The Evaluator that scores variants' FID changes, or None (and why, in the report)."""
    if cfg.fid is False:
        report.fid_note = "FID change not computed (--no-fid)"
        return None
    from gantool.toolkit.metrics.evaluator import Evaluator

    try:
        return Evaluator.for_model(train_cfg, data_dir=cfg.fid_data_dir, progress=progress)
    except GantoolError as e:
        if cfg.fid:  # asked for explicitly: a missing test split is an error
            raise
        report.fid_note = f"FID change not computed: {e}"
        return None


def verification_feeds(meta: ModelMetadata, batch: int, seed: int) -> list[dict[str, np.ndarray]]:
    """Seeded inputs of `batch` rows; for conditional models, as many runs as it takes to cover every label."""
    k = meta.num_classes
    runs = math.ceil(k / batch) if k else 1
    return [
        seeded_inputs(batch, meta.latent_dim, k, seed=exact_seed(seed, batch, r), offset=r * batch) for r in range(runs)
    ]


def verify_exact(reference: Generator, kind: ArtifactKind, path: Path, atol: float, seed: int = 0) -> list[ExactCheck]:
    """`path` on each of its row's backends against the eager `reference`; one check per batch."""
    results = []
    for backend in kind.backends:
        try:
            generator = open_backend(backend, path)
            for batch in BACKENDS[backend].batches:
                err = _errors(reference, generator, verification_feeds(reference.metadata, batch, seed))
                max_err = float(err.max())
                results.append(ExactCheck(path.name, backend, batch, max_err <= atol, max_err, float(err.mean())))
        except GantoolError as e:  # a file that does not load or run fails verification
            results.append(ExactCheck.failed(path.name, backend, first_line(e, 200)))
    return results


def _errors(reference: Generator, candidate: Generator, runs: list[dict[str, np.ndarray]]) -> np.ndarray:
    errs = []
    for feeds in runs:
        want, got = reference(feeds["z"], feeds.get("label")), candidate(feeds["z"], feeds.get("label"))
        if got.shape != want.shape:
            errs.append(np.full(want.shape, np.inf))
        else:
            errs.append(np.abs(got.astype(np.float64) - want.astype(np.float64)))
    err = np.concatenate([e.ravel() for e in errs])
    return np.where(np.isnan(err), np.inf, err)  # NaN never passes


SEEDS = (0, 1, 7, 2**31 - 1, 2**31, 2**62 + 5, 2**63 - 1)  # edge cases of the seed's three 31-bit parts


def verify_seeded(
    kind: ArtifactKind, path: Path, source: Path, atol: float, truncation: float = 0.7
) -> list[ExactCheck]:
    """A seeded file against the file it wraps fed the same latents, computed by gantool's numpy
    implementation of the in-graph sampler: at its backend's batch sizes (edge-case seeds included),
    and once more with truncation at the largest."""
    from gantool.runtime.latents import cycle_labels
    from gantool.runtime.seeded import seeded_latents

    assert kind.source is not None  # a seeded row names the file it wraps (checked at import)
    backend = kind.backends[0]
    try:
        seeded, reference = open_backend(backend, path), open_backend(ARTIFACTS[kind.source].backends[0], source)
        results = []
        batches = BACKENDS[backend].batches
        for batch, trunc in [(b, None) for b in batches] + [(max(batches), truncation)]:
            seeds = np.array((SEEDS * batch)[:batch], dtype=np.int64) ^ (np.arange(batch) << 20)  # stays >= 0
            labels = cycle_labels(batch, seeded.num_classes) if seeded.conditional else None
            want = reference(seeded_latents(seeds, seeded.latent_dim, trunc), labels)
            err = np.abs(seeded.run_seeds(seeds, labels, trunc).astype(np.float64) - want)
            err = np.where(np.isnan(err), np.inf, err)
            max_err = float(err.max())
            results.append(
                ExactCheck(path.name, backend, batch, max_err <= atol, max_err, float(err.mean()), True, trunc)
            )
        return results
    except GantoolError as e:
        return [ExactCheck.failed(path.name, backend, first_line(e, 200))]


def compare_images(
    kind_name: str, backend: str, reference: Generator, candidate: Generator, cfg, evaluator=None
) -> GateCheck:
    """A reduced-precision file verified by its images: pixel errors against the file it was made
    from on cfg.variant_samples seeded samples and, given an Evaluator, the change in FID (same
    latents, same reference), each against its gate in cfg."""
    meta, samples = reference.metadata, cfg.variant_samples
    feeds = seeded_inputs(samples, meta.latent_dim, meta.num_classes, seed=gate_seed(cfg.seed))
    labels = feeds.get("label")
    ref, got = reference(feeds["z"], labels), candidate(feeds["z"], labels)
    pixels = pixel_errors(ref, got)
    passed = pixels.mean_pixel_error <= cfg.max_pixel_error and pixels.peak_pixel_error <= cfg.max_peak_pixel_error
    fid = None
    if evaluator is not None:
        n_pr = min(samples, 1000)
        fid = FidChange(
            evaluator.score(to_uint8(ref), labels, pr_samples=n_pr).fid,
            evaluator.score(to_uint8(got), labels, pr_samples=n_pr).fid,
            cfg.max_fid_change,
        )
        if fid.gate_fid_change is not None:
            passed = passed and fid.fid_change <= fid.gate_fid_change
    assert candidate.path is not None  # opened from a file
    return GateCheck(
        kind_name,
        candidate.path.name,
        backend,
        samples,
        bool(passed),
        pixels,
        cfg.max_pixel_error,
        cfg.max_peak_pixel_error,
        fid,
    )


PEAK_QUANTILE = 0.9999  # the peak gate reads this quantile of single-pixel errors: one pixel in 10,000 may be off
# more (a uint8 activation that rounds the other way in a small model moves a pixel or two, not an image;
# measured on the nano dcgan: 57 of 3.9 million pixels over 0.5 with FID unchanged), a broken region may not


def pixel_errors(reference: np.ndarray, candidate: np.ndarray) -> PixelErrors:
    """Mean, peak (PEAK_QUANTILE) and max |difference| of images in [0, 1] (and the mean in 8-bit
    levels); NaN counts as the worst."""
    diff = np.abs(candidate.astype(np.float64) - reference.astype(np.float64))
    diff = np.where(np.isfinite(diff), diff, 1.0)
    return PixelErrors(
        mean_pixel_error=float(diff.mean()),
        max_pixel_error=float(diff.max()),
        peak_pixel_error=float(np.quantile(diff, PEAK_QUANTILE)),
        mean_pixel_error_levels=float(diff.mean() * 255),
    )
