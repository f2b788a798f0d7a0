"""Numerical verification: every exported file against PyTorch eager fp32.

For batches 1, 3 and 64 with seeded latents (and, for conditional models,
enough batches that every label is seen), each backend's output is compared
with the eager module's: max and mean absolute error on [0, 1] pixels, failing
above `atol`. onnx.reference (the spec's reference interpreter) runs batch 1.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from gantool.export.config import VERIFY_BATCHES
from gantool.runtime.latents import seeded_inputs

Runner = Callable[[dict[str, np.ndarray]], np.ndarray]


def verification_feeds(meta: dict[str, Any], batch: int, seed: int) -> list[dict[str, np.ndarray]]:
    """Seeded inputs of `batch` rows; for conditional models, as many runs as it takes to cover every label."""
    k = meta["num_classes"]
    runs = math.ceil(k / batch) if k else 1
    return [seeded_inputs(batch, meta["latent_dim"], k, seed=seed + 1000 * batch + r, offset=r * batch)
            for r in range(runs)]


def eager_runner(module: torch.nn.Module) -> Runner:
    def run(feeds):
        with torch.no_grad():
            return module(*(torch.from_numpy(feeds[n]) for n in feeds)).numpy()
    return run


def torchscript_runner(path: Path) -> Runner:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)  # jit.load's deprecation notice
        loaded = torch.jit.load(str(path), map_location="cpu").eval()

    def run(feeds):
        with torch.no_grad():
            return loaded(*(torch.from_numpy(feeds[n]) for n in feeds)).numpy()
    return run


def onnxruntime_runner(path: Path) -> Runner:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return lambda feeds: session.run(["image"], feeds)[0]


def reference_runner(path: Path) -> Runner:
    import onnx
    from onnx.reference import ReferenceEvaluator

    evaluator = ReferenceEvaluator(onnx.load(str(path)))
    return lambda feeds: np.asarray(evaluator.run(None, feeds)[0])


def backends_for(files: dict[str, Path]) -> list[tuple[str, str, Callable[[Path], Runner], tuple[int, ...]]]:
    """(file name, backend name, runner factory, batches) for each fp32 artifact."""
    rows = []
    if "torchscript" in files:
        rows.append((files["torchscript"].name, "torchscript", torchscript_runner, VERIFY_BATCHES))
    if "onnx" in files:
        rows.append((files["onnx"].name, "onnxruntime", onnxruntime_runner, VERIFY_BATCHES))
        rows.append((files["onnx"].name, "onnx.reference", reference_runner, (1,)))
    return rows


def verify_files(module: torch.nn.Module, files: dict[str, Path], meta: dict[str, Any], atol: float,
                 seed: int = 0) -> list[dict[str, Any]]:
    """Compare each artifact in `files` ({"onnx": path, "torchscript": path}) with `module`."""
    eager = eager_runner(module)
    results = []
    for file_name, backend, factory, batches in backends_for(files):
        try:
            runner = factory(files[_format_of(backend)])
        except Exception as e:  # a file that does not even load fails verification
            results.append({"file": file_name, "backend": backend, "batch": None, "passed": False,
                            "error": str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__})
            continue
        for batch in batches:
            errs = []
            for feeds in verification_feeds(meta, batch, seed):
                want, got = eager(feeds), runner(feeds)
                if got.shape != want.shape:
                    errs.append(np.full(want.shape, np.inf))
                    continue
                errs.append(np.abs(got.astype(np.float64) - want.astype(np.float64)))
            err = np.concatenate([e.ravel() for e in errs])
            max_err = float(err.max())
            results.append({
                "file": file_name, "backend": backend, "batch": batch,
                "max_abs_error": max_err, "mean_abs_error": float(err.mean()),
                "passed": bool(max_err <= atol),
            })
    return results


def _format_of(backend: str) -> str:
    return "torchscript" if backend == "torchscript" else "onnx"


def run_onnx_images(path: Path, feeds: dict[str, np.ndarray], chunk: int = 250) -> np.ndarray:
    """All images for `feeds` from an ONNX file, in chunks: (N, 1, 28, 28) float32."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    n = len(feeds["z"])
    return np.concatenate([session.run(["image"], {k: v[i : i + chunk] for k, v in feeds.items()})[0]
                           for i in range(0, n, chunk)])


def judge_variant(fp32: Path, variant: Path, meta: dict[str, Any], samples: int, seed: int,
                  max_mean: float, max_peak: float, evaluator=None,
                  max_fid_change: float | None = None) -> dict[str, Any]:
    """A variant is judged by its images: pixel errors against the fp32 file on seeded samples
    and, given an Evaluator, the change in FID (same latents, same reference)."""
    from gantool.export.variants import pixel_errors
    from gantool.runtime.sampler import to_uint8

    feeds = seeded_inputs(samples, meta["latent_dim"], meta["num_classes"], seed=seed + 7)
    ref, got = run_onnx_images(fp32, feeds), run_onnx_images(variant, feeds)
    errors = pixel_errors(ref, got)
    passed = errors["mean_pixel_error"] <= max_mean and errors["max_pixel_error"] <= max_peak
    out = {"file": variant.name, "samples": samples, **errors, "gate_mean": max_mean, "gate_max": max_peak}
    if evaluator is not None:
        labels = feeds.get("label")
        fid_ref = evaluator.score(to_uint8(ref), labels, pr_samples=min(samples, 1000))["fid"]
        fid_got = evaluator.score(to_uint8(got), labels, pr_samples=min(samples, 1000))["fid"]
        out.update({"fid_fp32": fid_ref, "fid": fid_got, "fid_change": fid_got - fid_ref,
                    "gate_fid_change": max_fid_change})
        if max_fid_change is not None:
            passed = passed and fid_got - fid_ref <= max_fid_change
    return {**out, "passed": bool(passed)}
