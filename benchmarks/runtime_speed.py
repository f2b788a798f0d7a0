"""The torch-free sampler (onnxruntime) beside the same generator in PyTorch eager.

    python benchmarks/runtime_speed.py [--calls 300] [--out benchmarks/results/runtime_speed.md]

For the default `mlp` and `dcgan` generators (conditional, as `make demo` trains them;
weights do not change speed, so a 1-step checkpoint is used), measured interleaved in
one run on this CPU:
  * batch-1 latency: median of >= 200 calls after warm-up (model call, pixels out);
  * batch-256 throughput: images/s, median of several calls;
  * cold start: a fresh process importing the library, loading the model and making
    its first image (wall time of the whole process, interpreter start included);
  * peak RSS of that fresh process after one batch of 256;
  * installed size of the base install (runtime + CLI) and of the `train` extra,
    summed from the installed files of each dependency closure.
Targets: latency >= 3x lower than eager, throughput >= 1.3x eager, cold start < 0.5 s,
base install < 100 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np

from gantool.assess.timing import PEAK_RSS, fresh_process, median_seconds

BLOCKS = 8  # interleaved eager/onnxruntime measurement blocks


def make_exports(workdir: Path) -> dict[str, Path]:
    """Default-size conditional generators, exported to ONNX (one training step each)."""
    from gantool.export import ExportConfig, export
    from gantool.toolkit import ModelConfig, TrainConfig, train

    out = {}
    for arch in ("mlp", "dcgan"):
        run = workdir / arch
        train(TrainConfig(model=ModelConfig(arch=arch, num_classes=10), dataset="mnist-sample", epochs=1,
                          minutes=1e-4, device="cpu", run_dir=str(run)), progress=False)
        res = export(run, ExportConfig(out_dir=str(run / "export"), formats=("onnx",)), progress=False)
        out[arch] = res.files["onnx"]
    return out


def bench_speed(onnx_path: Path, calls: int) -> dict[str, float]:
    import torch

    from gantool.runtime import Sampler
    from gantool.runtime.metadata import read_metadata
    from gantool.toolkit.inference import open_checkpoint

    meta = read_metadata(onnx_path)
    eager = open_checkpoint(onnx_path.parent.parent).module  # the run dir the export came from
    sampler = Sampler(onnx_path)

    def feeds(n):
        return sampler.latents(n, seed=0), (np.arange(n) % 10).astype(np.int64)

    z1, l1 = feeds(1)
    z256, l256 = feeds(256)
    tz1, tl1, tz256, tl256 = map(torch.from_numpy, (z1, l1, z256, l256))

    def eager_call(z, lab):
        with torch.inference_mode():
            return np.clip(np.rint(eager(z, lab).numpy() * 255), 0, 255).astype(np.uint8)

    res: dict[str, list[float]] = {"eager_b1": [], "ort_b1": [], "eager_b256": [], "ort_b256": []}
    # Interleave in blocks so both see the same machine state; the median of block medians,
    # and the range of the per-block speed-ups (this shared 2-core VM drifts by tens of %).
    for _ in range(BLOCKS):
        res["eager_b1"].append(median_seconds(lambda: eager_call(tz1, tl1), calls // BLOCKS))
        res["ort_b1"].append(median_seconds(lambda: sampler.generate(z1, l1), calls // BLOCKS))
        res["eager_b256"].append(median_seconds(lambda: eager_call(tz256, tl256), 5, warmup=2))
        res["ort_b256"].append(median_seconds(lambda: sampler.generate(z256, l256), 5, warmup=2))
    return {
        "eager_b1_ms": statistics.median(res["eager_b1"]) * 1e3,
        "ort_b1_ms": statistics.median(res["ort_b1"]) * 1e3,
        "eager_b256_ips": 256 / statistics.median(res["eager_b256"]),
        "ort_b256_ips": 256 / statistics.median(res["ort_b256"]),
        "b1_range": _ratio_range(res["eager_b1"], res["ort_b1"]),
        "b256_range": _ratio_range(res["eager_b256"], res["ort_b256"]),
        "latent_dim": meta["latent_dim"],
        "calls_b1": BLOCKS * (calls // BLOCKS),
    }


def _ratio_range(eager: list[float], ort: list[float]) -> tuple[float, float]:
    ratios = [e / o for e, o in zip(eager, ort)]
    return min(ratios), max(ratios)


COLD_ORT = """
from gantool.runtime import Sampler
s = Sampler({path!r})
s.sample(1, seed=0)
s.sample(256, seed=0)
""" + PEAK_RSS

COLD_TORCH = """
import torch
from gantool.toolkit.inference import open_checkpoint
g = open_checkpoint({run!r}).module
with torch.inference_mode():
    g(torch.randn(1, 64), torch.zeros(1, dtype=torch.long)).numpy()
    g(torch.randn(256, 64), torch.zeros(256, dtype=torch.long)).numpy()
""" + PEAK_RSS


def cold_first_image(path: Path, repeats: int = 5) -> float:
    """Fresh process: import + load + first image (interpreter start included)."""
    code = f"from gantool.runtime import Sampler\nSampler({str(path)!r}).sample(1, seed=0)\n" + PEAK_RSS
    return fresh_process(code, repeats)[0]


# ----- installed size -----------------------------------------------------------------------
def _closure(requirements: list[str]) -> set[str]:
    """Names of the installed distributions that `requirements` pull in."""
    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = [(r, frozenset()) for r in requirements]
    while todo:
        text, extras = todo.pop()
        req = Requirement(text)
        # Markers such as `extra == "train"` hold for the extras the parent was asked with.
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in (extras or {""})):
            continue
        name = req.name.lower().replace("_", "-")
        key = name + "[" + ",".join(sorted(req.extras)) + "]"
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for sub in dist.requires or []:
            todo.append((sub, frozenset(req.extras)))
    return {k.split("[")[0] for k in seen}


def _dist_size(name: str) -> int:
    dist = metadata.distribution(name)
    total = 0
    for f in dist.files or []:
        p = Path(dist.locate_file(f))
        if p.is_file():
            total += p.stat().st_size
    return total


def installed_sizes() -> dict[str, float]:
    base = _closure(["gantool"])
    train = _closure(["gantool[train]"])
    mb = lambda names: sum(_dist_size(n) for n in names) / 1e6  # noqa: E731
    return {"base_mb": mb(base), "train_mb": mb(train), "base_n": len(base), "train_n": len(train),
            "base_pkgs": sorted(base),
            "base_by_dist": sorted(((n, _dist_size(n) / 1e6) for n in base), key=lambda t: -t[1])}


def targets(rows, sizes) -> list[str]:
    """Each target with its measured figure and whether it is met."""
    mark = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    out = []
    for arch, s, cold, *_ in rows:
        lat, thr = s["eager_b1_ms"] / s["ort_b1_ms"], s["ort_b256_ips"] / s["eager_b256_ips"]
        out.append(f"{arch}: batch-1 {lat:.1f}x >= 3x {mark(lat >= 3)}, batch-256 {thr:.2f}x >= 1.3x {mark(thr >= 1.3)}, "
                   f"cold start {cold:.2f} s < 0.5 s {mark(cold < 0.5)}")
    out.append(f"base install {sizes['base_mb']:.0f} MB < 100 MB {mark(sizes['base_mb'] < 100)}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400, help="batch-1 calls per side (>= 200)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths = make_exports(Path(tmp))
        rows = []
        for arch, path in paths.items():
            speed = bench_speed(path, max(args.calls, 200))
            cold_ort = cold_first_image(path)
            cold_ort_full, rss_ort = fresh_process(COLD_ORT.format(path=str(path)), 5)
            cold_torch_full, rss_torch = fresh_process(COLD_TORCH.format(run=str(path.parent.parent)), 5)
            rows.append((arch, speed, cold_ort, cold_ort_full, rss_ort, cold_torch_full, rss_torch))
            print(arch, json.dumps(speed), f"cold {cold_ort:.3f}s", flush=True)
    sizes = installed_sizes()
    lines = [
        f"Runtime vs PyTorch eager, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; batch-1 = median of {rows[0][1]['calls_b1']} calls after warm-up",
        "",
        "| model | batch-1 eager (ms) | batch-1 onnxruntime (ms) | speed-up | per-block range | batch-256 eager (img/s) "
        "| batch-256 onnxruntime (img/s) | speed-up | per-block range |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for arch, s, *_ in rows:
        lines.append(f"| {arch} | {s['eager_b1_ms']:.3f} | {s['ort_b1_ms']:.3f} | {s['eager_b1_ms'] / s['ort_b1_ms']:.1f}x "
                     f"| {s['b1_range'][0]:.1f}-{s['b1_range'][1]:.1f}x "
                     f"| {s['eager_b256_ips']:.0f} | {s['ort_b256_ips']:.0f} | {s['ort_b256_ips'] / s['eager_b256_ips']:.2f}x "
                     f"| {s['b256_range'][0]:.2f}-{s['b256_range'][1]:.2f}x |")
    lines += [
        "",
        "| model | cold start, runtime: import + load + first image (s) | fresh process to 256 images: runtime (s) "
        "| same with torch eager (s) | peak RSS runtime (MB) | peak RSS torch (MB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for arch, _, cold, full, rss, tfull, trss in rows:
        lines.append(f"| {arch} | {cold:.3f} | {full:.3f} | {tfull:.3f} | {rss:.0f} | {trss:.0f} |")
    lines += [
        "",
        f"Installed size: base install (runtime + CLI, {sizes['base_n']} distributions) "
        f"**{sizes['base_mb']:.0f} MB**; with the `train` extra ({sizes['train_n']} distributions) "
        f"**{sizes['train_mb']:.0f} MB**.",
        "Base install by distribution (MB): "
        + ", ".join(f"{n} {size:.1f}" for n, size in sizes["base_by_dist"]) + ".",
        "",
        "Targets (issue #4): " + "; ".join(targets(rows, sizes)) + ".",
    ]
    table = "\n".join(lines)
    print("\n" + table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
