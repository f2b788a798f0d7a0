"""Which graph form of the float generator onnxruntime runs fastest: ConvTranspose (as trained), the
sub-pixel 3x3 conv + DepthToSpace, one shared 2x2 conv + windows + DepthToSpace (DCR), four split 2x2
convs; fp32 and fp16, beside ExecuTorch fp32 (XNNPACK), interleaved, on this CPU.

    python benchmarks/fp32_forms.py [--models dcgan,small,nano] [--out benchmarks/results/fp32_forms.md]

Every form is checked equal to PyTorch eager (max abs error <= 1e-4 on [0, 1] pixels) before it is timed.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from precision_quality import cpu_model  # noqa: E402
from runtime_speed import MODELS  # noqa: E402

from gantool.assess.timing import median_seconds  # noqa: E402

FORMS = ("convtranspose", "subpixel", "shared", "split", "nhwc")
BLOCKS = 6


def form_module(generator, form: str):
    """The inference module of `generator` with its stride-2 ConvTransposes in `form`."""
    import torch.nn as nn
    from float_forms import rewrite_phases

    inference = generator.for_export()
    if form == "convtranspose":
        return inference
    if form == "subpixel":
        return generator.for_quantization()
    if form == "nhwc":
        from float_forms import DCGANMatMul

        return DCGANMatMul(inference)
    inference.net = nn.Sequential(*rewrite_phases(list(inference.net), form))
    return inference


def export_forms(run: Path, out: Path) -> dict[str, Path]:
    """model.<form>.onnx and model.<form>.fp16.onnx for each form, each checked against eager."""
    from gantool.artifacts import ARTIFACTS
    from gantool.export.config import ExportConfig
    from gantool.export.job import ExportJob, Target
    from gantool.export.makers.onnx import export_onnx
    from gantool.export.makers.variants import make_fp16
    from gantool.export.metadata import build_metadata
    from gantool.export.verification.checks import verification_feeds
    from gantool.export.wrapper import example_inputs, wrap
    from gantool.runtime.onnx import OnnxGenerator
    from gantool.toolkit.inference import open_checkpoint

    eager = open_checkpoint(run)
    ckpt = eager.checkpoint
    meta = build_metadata(ckpt, artifact_format="onnx", variant="fp32", opset=18)
    files = {}
    out.mkdir(parents=True, exist_ok=True)
    for form in FORMS:
        job = ExportJob(
            module=wrap(form_module(ckpt.generator(), form), ckpt.conditional),
            inputs=example_inputs(ckpt.model.latent_dim, ckpt.model.num_classes),
            input_names=list(eager.metadata.inputs),
            cfg=ExportConfig(out_dir=str(out)),
            metadata=meta,
        )
        path = out / f"model.{form}.onnx"
        export_onnx(job, Target(ARTIFACTS["onnx"], path, None, meta))
        g = OnnxGenerator(path)
        for feeds in verification_feeds(eager.metadata, 64, 0):
            err = np.abs(g(feeds["z"], feeds.get("label")) - eager(feeds["z"], feeds.get("label"))).max()
            assert err <= 1e-4, f"{form}: {err}"
        half = out / f"model.{form}.fp16.onnx"
        make_fp16(job, Target(ARTIFACTS["fp16"], half, path, {**meta, "variant": "fp16"}))
        files[form], files[form + " fp16"] = path, half
    return files


def measure(files: dict[str, Path], pte: Path | None, latent: int) -> dict[str, dict[str, float]]:
    from gantool.artifacts import open_backend
    from gantool.runtime.onnx import OnnxGenerator

    rng = np.random.default_rng(0)
    z = {n: rng.standard_normal((n, latent), dtype=np.float32) for n in (1, 256)}
    lab = {n: (np.arange(n) % 10).astype(np.int64) for n in (1, 256)}
    gens = {name: OnnxGenerator(p) for name, p in files.items()}
    if pte is not None:
        gens["peer: executorch fp32"] = open_backend("executorch", pte)
    res = {name: {"b1": [], "b256": []} for name in gens}
    for _ in range(BLOCKS):
        for name, g in gens.items():
            res[name]["b1"].append(median_seconds(lambda g=g: g.images(z[1], lab[1]), 60))
            res[name]["b256"].append(median_seconds(lambda g=g: g.images(z[256], lab[256]), 6, warmup=3))
    return {name: {k: statistics.median(v) for k, v in r.items()} for name, r in res.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="dcgan,small,nano")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "fp32_forms.md"))
    args = ap.parse_args()
    from importlib.util import find_spec

    from gantool.export import ExportConfig, export
    from gantool.toolkit import TrainConfig, train
    from gantool.toolkit.config import model_config

    lines = [
        "# Float graph forms in onnxruntime (benchmarks/fp32_forms.py)",
        "",
        f"CPU: {cpu_model()}; onnxruntime's default threads (one per physical core); {BLOCKS} interleaved "
        "blocks, medians; every form checked equal to PyTorch eager (<= 1e-4) first.",
        "",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            arch, size = MODELS[name]
            run = Path(tmp) / name
            cfg = TrainConfig(
                model=model_config(size, arch=arch, num_classes=10),
                dataset="mnist-sample",
                epochs=1,
                minutes=0.05,
                device="cpu",
                run_dir=str(run),
            )
            train(cfg, progress=False)
            pte = None
            if find_spec("executorch") is not None:
                export(run, ExportConfig(out_dir=str(run / "et"), formats=("executorch",), fid=False), progress=False)
                pte = run / "et" / "model.pte"
            files = export_forms(run, run / "forms")
            res = measure(files, pte, dataclasses.asdict(cfg.model)["latent_dim"])
            base = res["convtranspose"]
            lines += [
                f"## {name}",
                "",
                "| form | batch-1 ms | batch-256 img/s | vs ConvTranspose (img/s) | vs ExecuTorch fp32 (img/s) |",
                "|---|---:|---:|---:|---:|",
            ]
            peer = res.get("peer: executorch fp32")
            for form, r in res.items():
                vs_peer = f"{peer['b256'] / r['b256']:.2f}x" if peer else "-"
                lines.append(
                    f"| {form} | {r['b1'] * 1e3:.3f} | {256 / r['b256']:,.0f} | {base['b256'] / r['b256']:.2f}x "
                    f"| {vs_peer} |"
                )
                print(lines[-1], flush=True)
            lines.append("")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
