"""onnxruntime's other execution providers as providers of the same Sampler, against its CPU provider.

    python benchmarks/ort_providers.py EXPORT_DIR [--out benchmarks/results/ort_providers.md]

EXPORT_DIR holds model.onnx and model.int8.onnx (`gantool export RUN --onnx --int8`). Run it with the
Python of an environment whose onnxruntime build ships the provider, e.g. onnxruntime-openvino
(it replaces the `onnxruntime` package, so it gets a venv of its own):

    python -m venv /tmp/ov && /tmp/ov/bin/pip install onnxruntime-openvino numpy typer-slim
    /tmp/ov/bin/pip install --no-deps . && /tmp/ov/bin/python benchmarks/ort_providers.py EXPORT_DIR

Every provider this build has beyond the CPU one is timed, interleaved with the CPU provider, in one
process: batch-1 latency (median of 60 calls per block) and batch-256 throughput (median of 6), the
median over 6 blocks, plus the largest pixel difference from the CPU provider's images.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

from gantool.assess.timing import median_seconds

sys.path.insert(0, str(Path(__file__).parent))
from precision_quality import cpu_model  # noqa: E402

BLOCKS = 6
SKIP = {"CPUExecutionProvider", "AzureExecutionProvider"}  # the reference, and a remote-call provider


def main() -> None:
    import onnxruntime as ort

    from gantool.runtime.onnx import OnnxGenerator

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("export", type=Path)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    extra = [p for p in ort.get_available_providers() if p not in SKIP]
    gens = {}
    for file in ("model.onnx", "model.int8.onnx"):
        gens[(file, "CPUExecutionProvider")] = OnnxGenerator(args.export / file)
        for p in extra:
            gens[(file, p)] = OnnxGenerator(args.export / file, providers=[p, "CPUExecutionProvider"])
    g0 = next(iter(gens.values()))
    rng = np.random.default_rng(0)
    z = {n: rng.standard_normal((n, g0.latent_dim), dtype=np.float32) for n in (1, 256)}
    lab = {n: (np.arange(n) % max(g0.num_classes, 1)).astype(np.int64) if g0.conditional else None for n in (1, 256)}
    ref = {file: gens[(file, "CPUExecutionProvider")](z[256], lab[256]) for file in ("model.onnx", "model.int8.onnx")}
    res = {k: {"b1": [], "b256": []} for k in gens}
    for _ in range(BLOCKS):
        for k, g in gens.items():
            res[k]["b1"].append(median_seconds(lambda g=g: g.images(z[1], lab[1]), 60, warmup=10))
            res[k]["b256"].append(median_seconds(lambda g=g: g.images(z[256], lab[256]), 6, warmup=3))
    lines = [
        f"CPU: {cpu_model()}; onnxruntime {ort.__version__} ({', '.join(ort.get_available_providers())}); "
        f"{BLOCKS} interleaved blocks in one process; files of `{args.export}`.",
        "",
        "| file | provider (running) | batch-1 (ms) | batch-256 (img/s) | vs CPU provider b256 | max pixel diff vs "
        "CPU provider |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for (file, p), r in res.items():
        cpu = statistics.median(res[(file, "CPUExecutionProvider")]["b256"])
        b256 = statistics.median(r["b256"])
        diff = float(np.abs(gens[(file, p)](z[256], lab[256]) - ref[file]).max())
        lines.append(
            f"| {file} | {gens[(file, p)].providers[0]} | {statistics.median(r['b1']) * 1e3:.3f} | "
            f"{256 / b256:.0f} | {cpu / b256:.2f}x | {diff:.3g} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
