"""The int8 file's forms for onnxruntime, side by side: how gantool.export.makers.int8_phase and
int8_narrow came to write what they write.

    python benchmarks/int8_forms.py [--models nano,small,dcgan] [--out benchmarks/results/int8_forms.md]

For each size (a short training: weights do not change speed), three int8 exports of the same
checkpoint, timed interleaved on this CPU (batch 1 latency, batch 256 throughput, onnxruntime's
default threads) after checking their pixels are identical:
  * four 2x2 phase convolutions per up-sampling layer, every convolution under 16 outputs widened to
    16 with zero filters and Sliced back (the image's 1-output convolution among them): the form
    before this benchmark;
  * + the image's convolution as a 6x6 stride-4 block convolution of 16 real pixels and a
    DepthToSpace (int8_narrow._block_conv);
  * + layers of at most 16 channels as two row-phase 2x3 convolutions (int8_phase._row_phase_nodes):
    today's form.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

from gantool.assess.timing import median_seconds

sys.path.insert(0, str(Path(__file__).parent))
from precision_quality import cpu_model  # noqa: E402
from runtime_speed import MODELS  # noqa: E402

BLOCKS = 6
FORMS = ("four phases, widened", "+ block image conv", "+ row phases (today)")


def trained_run(workdir: Path, name: str) -> Path:
    """A briefly trained run of model `name` (runtime_speed.MODELS): weights do not change speed."""
    from gantool.toolkit import TrainConfig, train
    from gantool.toolkit.config import model_config

    arch, size = MODELS[name]
    run = workdir / name
    cfg = TrainConfig(
        model=model_config(size, arch=arch, num_classes=10),
        dataset="mnist-sample",
        epochs=1,
        minutes=0.05,
        device="cpu",
        run_dir=str(run),
    )
    train(cfg, progress=False)
    return run


def export_run(workdir: Path, name: str) -> Path:
    """model.onnx and model.int8.onnx of a briefly trained `name`, today's form: the export folder."""
    from gantool.export import ExportConfig, export

    run = trained_run(workdir, name)
    cfg = ExportConfig(out_dir=str(run / "export"), formats=("onnx",), variants=("int8",), fid=False)
    export(run, cfg, progress=False)
    return run / "export"


def export_forms(workdir: Path, name: str) -> dict[str, Path]:
    import gantool.export.makers.int8_narrow as narrow
    import gantool.export.makers.int8_phase as phase
    from gantool.export import ExportConfig, export

    run = trained_run(workdir, name)
    keep = (phase.ROW_PHASE_MAX, narrow._block_conv)
    out = {}
    for i, form in enumerate(FORMS):
        phase.ROW_PHASE_MAX = keep[0] if i >= 2 else 0
        narrow._block_conv = keep[1] if i >= 1 else (lambda *args: [])  # type: ignore[assignment]
        try:
            d = run / f"export{i}"
            export(run, ExportConfig(out_dir=str(d), formats=("onnx",), variants=("int8",), fid=False), progress=False)
        finally:
            phase.ROW_PHASE_MAX, narrow._block_conv = keep
        out[form] = d / "model.int8.onnx"
    return out


def measure(files: dict[str, Path]) -> dict[str, tuple[float, float]]:
    from gantool.runtime.onnx import OnnxGenerator

    gens = {form: OnnxGenerator(path) for form, path in files.items()}
    rng = np.random.default_rng(0)
    latent = next(iter(gens.values())).latent_dim
    z = {n: rng.standard_normal((n, latent), dtype=np.float32) for n in (1, 256)}
    lab = {n: np.arange(n) % 10 for n in (1, 256)}
    first = None
    for form, g in gens.items():
        px = g.images(z[256], lab[256])
        if first is not None and not np.array_equal(px, first):
            raise SystemExit(f"{form}: pixels differ from the first form's")
        first = px
    times: dict[str, tuple[list, list]] = {form: ([], []) for form in gens}
    for _ in range(BLOCKS):
        for form, g in gens.items():
            times[form][0].append(median_seconds(lambda g=g: g.images(z[1], lab[1]), 100, warmup=10))
            times[form][1].append(median_seconds(lambda g=g: g.images(z[256], lab[256]), 8, warmup=3))
    return {form: (statistics.median(a), statistics.median(b)) for form, (a, b) in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="nano,small,dcgan")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    lines = [
        f"int8 forms, {cpu_model()}, {os.cpu_count()} cores, onnxruntime's default threads; {BLOCKS} "
        "interleaved blocks; pixels checked identical across the forms first.",
        "",
        "| model | form | batch-1 (ms) | batch-256 (img/s) | vs first form (b256) |",
        "|---|---|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            m = measure(export_forms(Path(tmp), name))
            base = m[FORMS[0]][1]
            for form, (b1, b256) in m.items():
                lines.append(f"| {name} | {form} | {b1 * 1e3:.3f} | {256 / b256:,.0f} | {base / b256:.2f}x |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
