"""How gantool's int8 ONNX file is built, chosen by measurement: the generator's form (as exported,
with ConvTranspose, or rewritten as sub-pixel Conv + DepthToSpace) and onnxruntime's quantization
options (QDQ / QOperator, u8 / s8 activations, per-channel / per-tensor weights, MinMax / entropy /
percentile calibration, DepthToSpace quantized or not).

    python benchmarks/int8_search.py [--out benchmarks/results/int8_search.md]

Default conditional DCGAN (a short training: weights do not change speed); interleaved blocks on
this CPU; quality = mean / max |pixel - fp32 pixel| over 256 seeded images.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
from pathlib import Path

import numpy as np

from gantool.assess.int8 import integer_mac_share
from gantool.assess.timing import median_seconds

BLOCKS = 5
OPTIONS = {  # name -> quantize_static keywords (on top of the export's own)
    "QDQ, u8 act, per-tensor weights, MinMax (gantool)": {},
    "per-channel weights": {"per_channel": True},
    "QDQ, s8 act": {"activation_type": "QInt8"},
    "QOperator": {"quant_format": "QOperator"},
    "entropy calibration": {"calibrate_method": "Entropy"},
    "percentile calibration": {"calibrate_method": "Percentile"},
    "DepthToSpace not quantized": {"op_types_to_quantize": ["Conv", "ConvTranspose", "Gemm", "MatMul"]},
}


def build(workdir: Path) -> dict[str, Path]:
    """fp32 files of both forms, then int8 files for each form and each option."""
    from onnxruntime import quantization as q

    from gantool.export import ExportConfig, export
    from gantool.toolkit import ModelConfig, TrainConfig, train

    run = workdir / "run"
    train(
        TrainConfig(
            model=ModelConfig(arch="dcgan", num_classes=10),
            dataset="mnist-sample",
            epochs=1,
            minutes=0.05,
            device="cpu",
            run_dir=str(run),
        ),
        progress=False,
    )
    files = {}
    real_quantize = q.quantize_static
    for name, kw in OPTIONS.items():  # the exporter imports quantize_static when it runs: patch it there

        def quantize(*args, _kw=kw, **kwargs):
            enums = {
                "QInt8": q.QuantType.QInt8,
                "QOperator": q.QuantFormat.QOperator,
                "Entropy": q.CalibrationMethod.Entropy,
                "Percentile": q.CalibrationMethod.Percentile,
            }
            return real_quantize(
                *args, **{**kwargs, **{k: enums.get(v, v) if isinstance(v, str) else v for k, v in _kw.items()}}
            )

        q.quantize_static = quantize
        try:
            out = workdir / f"opt{len(files)}"
            res = export(
                run, ExportConfig(out_dir=str(out), formats=("onnx",), variants=("int8",), fid=False), progress=False
            )
        finally:
            q.quantize_static = real_quantize
        files[f"sub-pixel int8: {name}"] = res.files["int8"]
        files.setdefault("fp32 (ConvTranspose, as exported)", res.files["onnx"])
    files["ConvTranspose int8 (as before)"] = _export_without_rewrite(run, workdir / "convtranspose")
    return files


def _export_without_rewrite(run: Path, out: Path) -> Path:
    from gantool.export import ExportConfig, export
    from gantool.toolkit.models.dcgan import DCGANGenerator

    saved = DCGANGenerator.for_quantization
    del DCGANGenerator.for_quantization
    try:
        return export(
            run, ExportConfig(out_dir=str(out), formats=("onnx",), variants=("int8",), fid=False), progress=False
        ).files["int8"]
    finally:
        DCGANGenerator.for_quantization = saved


def main() -> None:
    from gantool.runtime.onnx import OnnxGenerator

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        files = build(Path(tmp))
        gens = {name: OnnxGenerator(path) for name, path in files.items()}
        rng = np.random.default_rng(0)
        z = {n: rng.standard_normal((n, 64), dtype=np.float32) for n in (1, 256)}
        lab = {n: (np.arange(n) % 10).astype(np.int64) for n in (1, 256)}
        res = {name: ([], []) for name in gens}
        for _ in range(BLOCKS):
            for name, g in gens.items():
                res[name][0].append(median_seconds(lambda g=g: g(z[1], lab[1]), 100))
                res[name][1].append(median_seconds(lambda g=g: g(z[256], lab[256]), 8, warmup=4))
        ref = gens["fp32 (ConvTranspose, as exported)"](z[256], lab[256])
        fp32_runs = res["fp32 (ConvTranspose, as exported)"]
        fp32 = {k: statistics.median(v) for k, v in zip(("b1", "b256"), fp32_runs, strict=True)}
        lines = [
            f"int8 search, {platform.processor() or platform.machine()}, {os.cpu_count()} cores; default conditional "
            f"DCGAN; {BLOCKS} interleaved blocks; ratios against the fp32 file.",
            "",
            "| file | batch-1 (ms) | vs fp32 | batch-256 (img/s) | vs fp32 | int8 MACs | mean / max pixel error |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, (b1, b256) in res.items():
            b1, b256 = statistics.median(b1), statistics.median(b256)
            err = np.abs(gens[name](z[256], lab[256]) - ref)
            lines.append(
                f"| {name} | {b1 * 1e3:.3f} | {b1 / fp32['b1']:.2f}x | {256 / b256:.0f} | {fp32['b256'] / b256:.2f}x | "
                f"{integer_mac_share(files[name])['share']:.0%} | {err.mean():.5f} / {err.max():.3f} |"
            )
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
