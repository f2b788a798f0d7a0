"""Numerical verification of exported files, driven by the artifact table; `judge()` is the one
entry point, shared by `export` and `verify`.

Exact rows (fp32 files): for each verifying backend's batch sizes (its row's `batches`) with
seeded latents (and, for conditional models, enough batches that every label is seen), the
backend's output is compared with PyTorch eager: max and mean absolute error on [0, 1] pixels,
failing above `atol`. Seeded rows: against the file they wrap, fed the latents gantool's numpy
sampler computes. Gated rows (fp16, int8, …) are judged by their images against the file they
were made from: mean and peak pixel error and, given an Evaluator, the change in FID.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import numpy as np

from gantool.artifacts import ARTIFACTS, BACKENDS, ArtifactKind, open_backend, resolve
from gantool.core.errors import GantoolError, first_line
from gantool.runtime.generator import Generator, to_uint8
from gantool.runtime.latents import seeded_inputs


def judge(
    kind: ArtifactKind,
    path: Path,
    files: dict[str, Path],
    reference: Optional[Generator],
    cfg,
    evaluator=None,
    exact: bool = True,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One file judged as its row says: (exact results, gated results). `files` maps kinds to the
    files beside it (its row's source among them); `exact=False` skips the atol checks (export
    --no-verify), never the gates, which are part of making a variant."""
    source = files.get(kind.source or "")
    if kind.judge is not None:
        return [], (resolve(kind.judge)(kind, path, source, cfg) if source else [])
    if kind.seeded:
        return (verify_seeded(kind, path, source, cfg.atol) if exact and source else []), []
    if not kind.gated:
        return (verify_exact(reference, kind, path, cfg.atol, cfg.seed) if exact else []), []
    if source is None:
        return [], []
    return [], judge_gated(kind, path, source, cfg, evaluator)


def judge_gated(kind: ArtifactKind, path: Path, source: Path, cfg, evaluator=None) -> list[dict[str, Any]]:
    """A gated file judged against the file it was made from, on each of its row's backends; a file
    that no longer loads fails with its one-line reason."""
    try:
        reference = open_backend(ARTIFACTS[kind.source].backends[0], source)
        return [
            {
                "variant": kind.name,
                "backend": backend,
                **judge_variant(
                    reference,
                    open_backend(backend, path),
                    cfg.variant_samples,
                    cfg.seed,
                    cfg.max_pixel_error,
                    cfg.max_peak_pixel_error,
                    evaluator,
                    cfg.max_fid_change,
                ),
            }
            for backend in kind.backends
        ]
    except GantoolError as e:
        return [
            {
                "variant": kind.name,
                "file": path.name,
                "backend": kind.backends[0],
                "samples": 0,
                "passed": False,
                "error": first_line(e, 200),
            }
        ]


def variant_evaluator(cfg, train_cfg, report: dict, progress: bool):
    """The Evaluator that scores variants' FID changes, or None (and why, in the report)."""
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


def verification_feeds(meta: dict[str, Any], batch: int, seed: int) -> list[dict[str, np.ndarray]]:
    """Seeded inputs of `batch` rows; for conditional models, as many runs as it takes to cover every label."""
    k = meta["num_classes"]
    runs = math.ceil(k / batch) if k else 1
    return [
        seeded_inputs(batch, meta["latent_dim"], k, seed=seed + 1000 * batch + r, offset=r * batch) for r in range(runs)
    ]


def verify_exact(
    reference: Generator, kind: ArtifactKind, path: Path, atol: float, seed: int = 0
) -> list[dict[str, Any]]:
    """Compare `path` on each of its row's backends with the eager `reference`; one result per batch."""
    results = []
    for backend in kind.backends:
        row = {"file": path.name, "backend": backend}
        try:
            generator = open_backend(backend, path)
            for batch in BACKENDS[backend].batches:
                err = _errors(reference, generator, verification_feeds(reference.metadata, batch, seed))
                max_err = float(err.max())
                results.append(
                    {
                        **row,
                        "batch": batch,
                        "max_abs_error": max_err,
                        "mean_abs_error": float(err.mean()),
                        "passed": bool(max_err <= atol),
                    }
                )
        except GantoolError as e:  # a file that does not load or run fails verification
            results.append({**row, "batch": None, "passed": False, "error": first_line(e, 200)})
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


def verify_seeded(kind: ArtifactKind, path: Path, source: Path, atol: float, truncation: float = 0.7) -> list[dict]:
    """A seeded file against the file it wraps fed the same latents, computed by gantool's numpy
    implementation of the in-graph sampler: at its backend's batch sizes (edge-case seeds included),
    and once more with truncation at the largest."""
    from gantool.runtime.latents import cycle_labels
    from gantool.runtime.seeded import seeded_latents

    row = {"file": path.name, "backend": kind.backends[0]}
    try:
        seeded, reference = (
            open_backend(kind.backends[0], path),
            open_backend(ARTIFACTS[kind.source].backends[0], source),
        )
        results = []
        batches = BACKENDS[kind.backends[0]].batches
        for batch, trunc in [(b, None) for b in batches] + [(max(batches), truncation)]:
            seeds = np.array((SEEDS * batch)[:batch], dtype=np.int64) ^ (np.arange(batch) << 20)  # stays >= 0
            labels = cycle_labels(batch, seeded.num_classes) if seeded.conditional else None
            want = reference(seeded_latents(seeds, seeded.latent_dim, trunc), labels)
            err = np.abs(seeded.run_seeds(seeds, labels, trunc).astype(np.float64) - want)
            err = np.where(np.isnan(err), np.inf, err)
            results.append(
                {
                    **row,
                    "batch": batch,
                    "truncation": trunc,
                    "max_abs_error": float(err.max()),
                    "mean_abs_error": float(err.mean()),
                    "passed": bool(err.max() <= atol),
                }
            )
        return results
    except GantoolError as e:
        return [{**row, "batch": None, "passed": False, "error": first_line(e, 200)}]


def judge_variant(
    reference: Generator,
    candidate: Generator,
    samples: int,
    seed: int,
    max_mean: float,
    max_peak: float,
    evaluator=None,
    max_fid_change: Optional[float] = None,
) -> dict[str, Any]:
    """A variant is judged by its images: pixel errors against the file it was made from on seeded
    samples and, given an Evaluator, the change in FID (same latents, same reference)."""
    meta = reference.metadata
    feeds = seeded_inputs(samples, meta["latent_dim"], meta["num_classes"], seed=seed + 7)
    labels = feeds.get("label")
    ref, got = reference(feeds["z"], labels), candidate(feeds["z"], labels)
    errors = pixel_errors(ref, got)
    passed = errors["mean_pixel_error"] <= max_mean and errors["peak_pixel_error"] <= max_peak
    out = {"file": candidate.path.name, "samples": samples, **errors, "gate_mean": max_mean, "gate_peak": max_peak}
    if evaluator is not None:
        fid_ref = evaluator.score(to_uint8(ref), labels, pr_samples=min(samples, 1000))["fid"]
        fid_got = evaluator.score(to_uint8(got), labels, pr_samples=min(samples, 1000))["fid"]
        out.update(
            {"fid_fp32": fid_ref, "fid": fid_got, "fid_change": fid_got - fid_ref, "gate_fid_change": max_fid_change}
        )
        if max_fid_change is not None:
            passed = passed and fid_got - fid_ref <= max_fid_change
    return {**out, "passed": bool(passed)}


PEAK_QUANTILE = 0.9999  # the peak gate reads this quantile of single-pixel errors: one pixel in 10,000 may be off
# more (a uint8 activation that rounds the other way in a small model moves a pixel or two, not an image;
# measured on the nano dcgan: 57 of 3.9 million pixels over 0.5 with FID unchanged), a broken region may not


def pixel_errors(reference: np.ndarray, candidate: np.ndarray) -> dict[str, float]:
    """Mean, peak (PEAK_QUANTILE) and max |difference| of images in [0, 1] (and the mean in 8-bit
    levels); NaN counts as the worst."""
    diff = np.abs(candidate.astype(np.float64) - reference.astype(np.float64))
    diff = np.where(np.isfinite(diff), diff, 1.0)
    return {
        "mean_pixel_error": float(diff.mean()),
        "max_pixel_error": float(diff.max()),
        "peak_pixel_error": float(np.quantile(diff, PEAK_QUANTILE)),
        "mean_pixel_error_levels": float(diff.mean() * 255),
    }
