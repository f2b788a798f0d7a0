"""The `gantool` command line. It only builds configs and calls the Python API.

Heavy imports (torch, onnx) happen inside the commands that need them, so
`gantool --help`, `gantool sample` and `gantool info` on an ONNX file never
load torch.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Annotated, Iterator, Optional

import typer

from gantool import __version__
from gantool.errors import GantoolError

app = typer.Typer(
    name="gantool",
    help="Train GAN generators on MNIST-style digits, export them verified, sample them without PyTorch.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def main() -> None:
    app()


def _default(name: str) -> str:
    """A TrainConfig / ModelConfig default as --help shows it, so help never drifts from the code."""
    import dataclasses

    from gantool.toolkit.config import ModelConfig, TrainConfig

    for cls in (TrainConfig, ModelConfig):
        for f in dataclasses.fields(cls):
            if f.name == name and f.default is not dataclasses.MISSING:
                value = f.default
                if isinstance(value, bool):
                    return "on" if value else "off"
                return "none" if value in ("", None) else f"{value:g}" if isinstance(value, float) else str(value)
    raise KeyError(name)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn user mistakes into one-line errors with a non-zero exit, no traceback."""
    try:
        yield
    except GantoolError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(e.exit_code) from None
    except PermissionError as e:
        typer.echo(f"error: permission denied: {e.filename or e}; choose a writable location", err=True)
        raise typer.Exit(2) from None
    except ModuleNotFoundError as e:
        if e.name and e.name.split(".")[0] in ("torch", "torchvision", "onnx", "onnxscript", "matplotlib", "tqdm"):
            typer.echo(f"error: this command needs {e.name}; pip install 'gantool[all]'", err=True)
            raise typer.Exit(2) from None
        raise


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gantool {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = None,
) -> None:
    """gantool: train -> export (verified) -> sample, eval, bench."""


# ----------------------------------------------------------------------------------- train
@app.command()
def train(
    arch: Annotated[Optional[str], typer.Option(help=f"Architecture: mlp or dcgan. [default: {_default('arch')}]")] = None,
    dataset: Annotated[Optional[str], typer.Option(
        help="mnist (IDX files in --data-dir or the cache, else download, else the offline sample), "
             f"fashion-mnist, mnist-sample (5,000 real digits, offline) or idx. [default: {_default('dataset')}]")] = None,
    data_dir: Annotated[Optional[Path], typer.Option(help="Folder with IDX files (train-images-idx3-ubyte[.gz] …).")] = None,
    run_dir: Annotated[Optional[Path], typer.Option(help="Where the run is written. [default: runs/ARCH-TIMESTAMP]")] = None,
    epochs: Annotated[Optional[int], typer.Option(min=1, help=f"Epochs to train (the maximum when --minutes is set). [default: {_default('epochs')}]")] = None,
    minutes: Annotated[Optional[float], typer.Option(min=0.001, help="Wall-clock budget; stops at the first step past it.")] = None,
    batch_size: Annotated[Optional[int], typer.Option(min=1, help=f"Batch size per process. [default: {_default('batch_size')}]")] = None,
    latent_dim: Annotated[Optional[int], typer.Option(min=1, help=f"Size of the noise vector z. [default: {_default('latent_dim')}]")] = None,
    width: Annotated[Optional[int], typer.Option(min=1, help=f"Base width (dcgan channels; mlp hidden = 8x). [default: {_default('width')}]")] = None,
    conditional: Annotated[Optional[bool], typer.Option("--conditional/--unconditional",
        help="Feed the class label to G and D, so you can ask for a given digit. [default: "
             + ("unconditional" if _default('num_classes') == '0' else "conditional") + "]")] = None,
    loss: Annotated[Optional[str], typer.Option(help=f"bce (non-saturating) or hinge. [default: {_default('loss')}]")] = None,
    label_smoothing: Annotated[Optional[float], typer.Option(help=f"One-sided label smoothing for bce. [default: {_default('label_smoothing')}]")] = None,
    lr_g: Annotated[Optional[float], typer.Option(help=f"Generator learning rate. [default: {_default('lr_g')}]")] = None,
    lr_d: Annotated[Optional[float], typer.Option(help=f"Discriminator learning rate. [default: {_default('lr_d')}]")] = None,
    ema: Annotated[Optional[bool], typer.Option("--ema/--no-ema", help=f"Keep an EMA generator for samples and export. [default: {_default('ema')}]")] = None,
    ema_decay: Annotated[Optional[float], typer.Option(help=f"EMA decay. [default: {_default('ema_decay')}]")] = None,
    rotate: Annotated[Optional[float], typer.Option(help=f"Random rotation of real digits, ± degrees. [default: {_default('rotate')}]")] = None,
    seed: Annotated[Optional[int], typer.Option(help=f"Random seed; runs are reproducible on CPU. [default: {_default('seed')}]")] = None,
    device: Annotated[Optional[str], typer.Option(help=f"auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps. [default: {_default('device')}]")] = None,
    amp: Annotated[Optional[bool], typer.Option("--amp/--no-amp", help=f"bf16 autocast on CUDA. [default: {_default('amp')}]")] = None,
    compile: Annotated[Optional[bool], typer.Option("--compile/--no-compile", help=f"torch.compile the models. [default: {_default('compile')}]")] = None,
    d_norm: Annotated[Optional[str], typer.Option(help=f"Discriminator normalisation: batch or spectral. [default: {_default('d_norm')}]")] = None,
    cond_warmup: Annotated[Optional[int], typer.Option(min=0, help=f"Conditional models: steps over which the label's weight ramps from 0 to 1 (avoids per-class collapse on small data). [default: {_default('cond_warmup')}]")] = None,
    diffaug: Annotated[Optional[str], typer.Option(help=f"DiffAugment policy for D's inputs, e.g. translation,cutout. [default: {_default('diffaug')}]")] = None,
    r1_gamma: Annotated[Optional[float], typer.Option(help=f"R1 gradient penalty weight on real images (0 = off). [default: {_default('r1_gamma')}]")] = None,
    eval_every: Annotated[Optional[int], typer.Option(min=0, help=f"Log FID every N epochs and keep checkpoints/best.pt (0 = off). [default: {_default('eval_every')}]")] = None,
    eval_n: Annotated[Optional[int], typer.Option(min=2, help=f"Samples per FID during training. [default: {_default('eval_n')}]")] = None,
    download: Annotated[bool, typer.Option("--download/--no-download", help="Allow downloading MNIST when files are missing.")] = True,
    resume: Annotated[Optional[Path], typer.Option(help="Continue the run in this directory (or checkpoint file).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace a run already in --run-dir.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Train a GAN; writes checkpoints, per-epoch sample grids, losses.png and metrics.jsonl.

    Ctrl-C writes a checkpoint; continue with --resume RUN_DIR [--epochs N].
    For several processes: torchrun --nproc_per_node=N -m gantool train …
    """
    with user_errors():
        from gantool.toolkit.config import ModelConfig, TrainConfig

        model_opts = {"arch": arch, "latent_dim": latent_dim, "width": width, "d_norm": d_norm,
                      "num_classes": None if conditional is None else (10 if conditional else 0)}
        train_opts = {"dataset": dataset, "data_dir": None if data_dir is None else str(data_dir),
                      "epochs": epochs, "minutes": minutes, "batch_size": batch_size, "loss": loss,
                      "label_smoothing": label_smoothing, "lr_g": lr_g, "lr_d": lr_d, "ema": ema,
                      "ema_decay": ema_decay, "rotate": rotate, "seed": seed, "device": device,
                      "amp": amp, "compile": compile, "diffaug": diffaug, "r1_gamma": r1_gamma, "cond_warmup": cond_warmup,
                      "eval_every": eval_every, "eval_n": eval_n}
        if resume is not None:
            _train_resume(resume, model_opts, train_opts, quiet)
            return
        model_cfg = ModelConfig(**{k: v for k, v in model_opts.items() if v is not None})
        cfg = TrainConfig(model=model_cfg, **{k: v for k, v in train_opts.items() if v is not None})
        if minutes is not None and epochs is None:
            cfg.epochs = 1_000_000  # the time budget decides
        cfg.download = download
        cfg.run_dir = str(run_dir) if run_dir is not None else _default_run_dir(cfg.model.arch)
        from gantool.toolkit.trainer import train as run_training

        _report(_call_train(lambda: run_training(cfg, progress=not quiet, overwrite=overwrite)))


def _train_resume(path: Path, model_opts: dict, train_opts: dict, quiet: bool) -> None:
    from gantool.toolkit.checkpoint import load_checkpoint
    from gantool.toolkit.trainer import resume

    ckpt = load_checkpoint(path)
    saved_model, saved_train = ckpt["model_config"], ckpt["train_config"]
    for key, value in model_opts.items():
        if value is not None and saved_model.get(key) != value:
            raise GantoolError(
                f"--resume: the checkpoint's {key} is {saved_model.get(key)!r}, not {value!r}; "
                "drop that option or start a new run"
            )
    allowed = {"epochs", "minutes", "device"}
    for key, value in train_opts.items():
        if value is not None and key not in allowed and saved_train.get(key) != value:
            raise GantoolError(f"--resume keeps the run's settings; only --epochs, --minutes and --device may change "
                               f"(got --{key.replace('_', '-')})")
    _report(_call_train(lambda: resume(path, epochs=train_opts["epochs"], minutes=train_opts["minutes"],
                                       device=train_opts["device"], progress=not quiet)))


def _call_train(fn):
    from gantool.toolkit.trainer import TrainingInterrupted

    try:
        return fn()
    except TrainingInterrupted as e:
        typer.echo(f"interrupted: checkpoint saved to {e.checkpoint}; continue with "
                   f"gantool train --resume {e.checkpoint.parent.parent}", err=True)
        raise typer.Exit(130) from None


def _report(result) -> None:
    import os

    if int(os.environ.get("RANK", "0")) != 0:
        return
    last = result.history[-1] if result.history else {}
    msg = f"trained {result.epochs_done} epoch(s), {result.steps} steps"
    if last:
        msg += f"; D loss {last['d_loss']:.3f}, G loss {last['g_loss']:.3f}, {last['images_per_s']:.0f} images/s"
    if result.stopped_by == "time":
        msg += " (stopped by the time budget)"
    typer.echo(msg)
    typer.echo(f"run dir: {result.run_dir}  (samples/, losses.png, checkpoints/last.pt)")


def _default_run_dir(arch: str) -> str:
    import time

    return str(Path("runs") / f"{arch}-{time.strftime('%Y%m%d-%H%M%S')}")


# ---------------------------------------------------------------------------------- export
@app.command()
def export(
    source: Annotated[Path, typer.Argument(help="A run directory or a checkpoint (.pt).")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output directory. [default: RUN_DIR/export]")] = None,
    onnx: Annotated[bool, typer.Option("--onnx", help="Write model.onnx. (Neither --onnx nor --torchscript: both.)")] = False,
    torchscript: Annotated[bool, typer.Option("--torchscript", help="Write model.ts.pt (torch.jit.trace).")] = False,
    opset: Annotated[int, typer.Option(help="ONNX opset; 17-23 work (onnxruntime CPU and onnxruntime-web WASM).")] = 18,
    fp16: Annotated[bool, typer.Option("--fp16", help="Also write model.fp16.onnx (float16 weights and compute).")] = False,
    int8: Annotated[bool, typer.Option("--int8", help="Also write model.int8.onnx (static QDQ, per-channel weights).")] = False,
    verify_: Annotated[bool, typer.Option("--verify/--no-verify", help="Compare every file with PyTorch eager.")] = True,
    atol: Annotated[float, typer.Option(help="Verification tolerance: max absolute error on [0, 1] pixels.")] = 1e-4,
    max_pixel_error: Annotated[float, typer.Option(help="fp16/int8 gate: mean absolute pixel error vs fp32 (pixels in [0, 1]).")] = 0.02,
    max_peak_pixel_error: Annotated[float, typer.Option(help="fp16/int8 gate: largest single-pixel error vs fp32.")] = 0.5,
    fid: Annotated[Optional[bool], typer.Option("--fid/--no-fid", help="fp16/int8: also report the FID change vs fp32. [default: when the test split is found]")] = None,
    fid_data_dir: Annotated[Optional[Path], typer.Option(help="Folder with the reference test split for --fid.")] = None,
    max_fid_change: Annotated[Optional[float], typer.Option(help="fp16/int8 gate: largest FID increase vs fp32. [default: report only]")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an output directory that holds another model.")] = False,
) -> None:
    """Export the EMA generator to ONNX / TorchScript and prove it computes what PyTorch computes.

    Inputs: z float32 [N, latent_dim] (+ label int64 [N] for conditional models);
    output: image float32 [N, 1, 28, 28] in [0, 1]; the batch axis is dynamic.
    Writes verification.json and manifest.json beside the files; exit 1 if verification fails.
    """
    with user_errors():
        from gantool.export.config import ExportConfig
        from gantool.export.exporter import export as run_export

        both = not (onnx or torchscript)
        out_dir = out if out is not None else (source / "export" if source.is_dir() else source.parent / "export")
        cfg = ExportConfig(out_dir=str(out_dir), onnx=onnx or both, torchscript=torchscript or both, opset=opset,
                           fp16=fp16, int8=int8, verify=verify_, atol=atol, max_pixel_error=max_pixel_error,
                           max_peak_pixel_error=max_peak_pixel_error, force=force, fid=fid,
                           fid_data_dir=None if fid_data_dir is None else str(fid_data_dir),
                           max_fid_change=max_fid_change)
        result = run_export(source, cfg, progress=True)
        _print_report(result.report)
        typer.echo(f"exported to {result.out_dir}: {', '.join(sorted(p.name for p in result.files.values()))}")


@app.command()
def verify(
    export_dir: Annotated[Path, typer.Argument(help="A directory written by gantool export.")],
    checkpoint: Annotated[Optional[Path], typer.Option(help="The source checkpoint. [default: the manifest's]")] = None,
    atol: Annotated[Optional[float], typer.Option(help="Tolerance. [default: the one used at export]")] = None,
) -> None:
    """Re-check an export directory against its checkpoint; exit 1 (and files marked .failed) if it disagrees."""
    with user_errors():
        from gantool.export.exporter import verify as run_verify

        report = run_verify(export_dir, checkpoint, atol)
        _print_report(report)
        typer.echo(f"verified: {export_dir}")


def _print_report(report: dict) -> None:
    if report.get("results"):
        typer.echo(f"{'file':<18}{'backend':<16}{'batch':>6}{'max abs err':>14}{'mean abs err':>14}  ok")
        for r in report["results"]:
            if r.get("batch") is None:
                typer.echo(f"{r['file']:<18}{r['backend']:<16}{'-':>6}{'load failed':>14}{'':>14}  no")
                continue
            typer.echo(f"{r['file']:<18}{r['backend']:<16}{r['batch']:>6}{r['max_abs_error']:>14.3g}"
                       f"{r['mean_abs_error']:>14.3g}  {'yes' if r['passed'] else 'NO'}")
    for v in report.get("variants", []):
        fid = f", FID {v['fid']:.2f} ({v['fid_change']:+.2f} vs fp32)" if "fid_change" in v else ""
        typer.echo(f"{v['file']:<18}{v['samples']} samples: mean pixel error {v['mean_pixel_error']:.5f}, "
                   f"max {v['max_pixel_error']:.4f}{fid}  {'yes' if v['passed'] else 'NO'}")
    if report.get("fid_note"):
        typer.echo(report["fid_note"])


# ------------------------------------------------------------------------------------ info
@app.command()
def info(
    file: Annotated[Path, typer.Argument(help="An exported .onnx or TorchScript (.ts.pt) file.")],
) -> None:
    """Print the gantool metadata stored inside an exported model (no torch needed)."""
    with user_errors():
        import json

        from gantool.runtime.metadata import read_metadata

        typer.echo(json.dumps(read_metadata(file), indent=2, sort_keys=True))


# ---------------------------------------------------------------------------------- sample
@app.command()
def sample(
    model: Annotated[Path, typer.Argument(help="An exported ONNX generator (model.onnx).")],
    n: Annotated[Optional[int], typer.Option("--n", help="Number of images. [default: 64, or one per --labels entry]")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Seed for the latents (numpy PCG64); same seed, same images.")] = None,
    digit: Annotated[Optional[int], typer.Option(help="Class for every image (conditional models).")] = None,
    labels: Annotated[Optional[str], typer.Option(help="Comma-separated classes, e.g. 0,1,2; each gets n/len images, one row per label.")] = None,
    truncation: Annotated[Optional[float], typer.Option(help="Truncation trick: redraw latent values beyond ±T (e.g. 0.8).")] = None,
    out: Annotated[str, typer.Option("--out", "-o", help="grid.png (a grid), DIR/ (one PNG per image) or x.npy (uint8 array).")] = "samples.png",
    nrow: Annotated[Optional[int], typer.Option(min=1, help="Images per grid row. [default: square]")] = None,
    threads: Annotated[Optional[int], typer.Option(min=1, help="onnxruntime intra-op threads. [default: one per physical core]")] = None,
) -> None:
    """Generate digits from an exported ONNX file with onnxruntime (no torch)."""
    with user_errors():
        from gantool.runtime.sampler import Sampler

        if digit is not None and labels is not None:
            raise GantoolError("use --digit or --labels, not both")
        label_list = _parse_labels(labels) if labels is not None else None
        count = n if n is not None else (len(label_list) if label_list else 64)
        if label_list is not None:
            if count % len(label_list):
                raise GantoolError(f"--n {count} is not a multiple of the {len(label_list)} --labels")
            per = count // len(label_list)
            label_arg = [lab for lab in label_list for _ in range(per)]  # one row per label
            nrow = nrow or (per if per > 1 else None)
        else:
            label_arg = digit
        target, as_dir = _check_out(out)
        sampler = Sampler(model, threads=threads)
        images = sampler.sample(count, seed=seed, labels=label_arg, truncation=truncation)
        _write_images(images, target, as_dir, nrow, sampler)


def _parse_labels(text: str) -> list[int]:
    try:
        values = [int(t) for t in text.split(",") if t.strip() != ""]
    except ValueError:
        raise GantoolError(f"--labels must be comma-separated integers like 0,1,2; got {text!r}") from None
    if not values:
        raise GantoolError("--labels is empty")
    return values


def _check_out(text: str) -> tuple[Path, bool]:
    """Validate --out before any work; a trailing slash (or an existing dir) means one PNG per image."""
    out = Path(text)
    as_dir = text.endswith(("/", os.sep)) or out.is_dir()
    parent = out.parent
    if not (parent.is_dir() or (as_dir and out.is_dir())):
        raise GantoolError(f"output directory {str(parent)!r} does not exist; create it first")
    if not as_dir and out.suffix.lower() not in (".png", ".npy"):
        raise GantoolError(f"--out {text!r}: use a .png file, a .npy file or a directory ending in /")
    return out, as_dir


def _write_images(images, out: Path, as_dir: bool, nrow: Optional[int], sampler) -> None:
    import numpy as np

    from gantool.fileio import atomic_path
    from gantool.runtime.grid import save_png

    if as_dir:
        from PIL import Image

        out.mkdir(exist_ok=True)
        for i, img in enumerate(images):
            save_png(Image.fromarray(img, mode="L"), out / f"{i:05d}.png")
        typer.echo(f"wrote {len(images)} PNGs to {out}")
    elif out.suffix.lower() == ".npy":
        with atomic_path(out) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, images)
        typer.echo(f"wrote {out}: uint8 array of shape {images.shape}")
    else:
        save_png(sampler.grid(images, nrow), out)
        typer.echo(f"wrote {out}: grid of {len(images)} images")


# ------------------------------------------------------------------------------------ eval
@app.command("eval")
def eval_(
    source: Annotated[Path, typer.Argument(help="A run dir / checkpoint (.pt), an exported .onnx file or export dir.")],
    n: Annotated[int, typer.Option("--n", help="Generated samples to score (2-50000).")] = 10_000,
    seed: Annotated[int, typer.Option(help="Latent seed; same seed, same samples for every format.")] = 0,
    dataset: Annotated[Optional[str], typer.Option(help="Reference dataset. [default: the model's; mnist-sample -> mnist]")] = None,
    data_dir: Annotated[Optional[Path], typer.Option(help="Folder with the reference test split (t10k-*-ubyte[.gz]).")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the results here. [default: eval.json beside the model]")] = None,
) -> None:
    """Score a generator: FID, Inception-Score analogue, class coverage, precision/recall
    (and per-digit accuracy for conditional models), with gantool's own MNIST feature network."""
    with user_errors():
        from gantool.fileio import write_text_atomic
        from gantool.toolkit.metrics.evaluate import EvalConfig, evaluate, format_table, to_json

        cfg = EvalConfig(n=n, seed=seed, dataset=dataset, data_dir=None if data_dir is None else str(data_dir))
        cfg.validate()
        result = evaluate(source, cfg)
        typer.echo(format_table(result))
        target = json_out or ((source if source.is_dir() else source.parent) / "eval.json")
        if not target.parent.is_dir():
            raise GantoolError(f"output directory {str(target.parent)!r} does not exist; create it first")
        write_text_atomic(target, to_json(result) + "\n")
        typer.echo(f"wrote {target}")


# ----------------------------------------------------------------------------------- bench
@app.command()
def bench(
    source: Annotated[Path, typer.Argument(help="A run dir / checkpoint (exported to a temp dir with every variant) or an export dir.")],
    calls: Annotated[int, typer.Option(help="Batch-1 calls timed per format (>= 200).")] = 300,
    fid: Annotated[bool, typer.Option("--fid/--no-fid", help="Also score FID per format (needs the test split).")] = True,
    fid_n: Annotated[int, typer.Option(help="Samples per FID.")] = 2000,
    data_dir: Annotated[Optional[Path], typer.Option(help="Folder with the reference test split.")] = None,
    threads: Annotated[Optional[int], typer.Option(min=1, help="onnxruntime intra-op threads. [default: one per physical core]")] = None,
    markdown_out: Annotated[Optional[Path], typer.Option("--markdown", help="Also write the table here.")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the results here.")] = None,
) -> None:
    """Compare formats (PyTorch eager, TorchScript, ONNX fp32 / fp16 / int8): size, batch-1 latency,
    batch-256 throughput, cold start, peak RSS, FID and its change against eager."""
    with user_errors():
        import json

        from gantool.export.bench import BenchConfig, markdown
        from gantool.export.bench import bench as run_bench
        from gantool.fileio import write_text_atomic

        for target in (markdown_out, json_out):
            if target is not None and not target.parent.is_dir():
                raise GantoolError(f"output directory {str(target.parent)!r} does not exist; create it first")
        cfg = BenchConfig(calls=calls, fid=fid, fid_n=fid_n, threads=threads,
                          data_dir=None if data_dir is None else str(data_dir))
        result = run_bench(source, cfg)
        table = markdown(result)
        typer.echo(table)
        if markdown_out is not None:
            write_text_atomic(markdown_out, table + "\n")
        if json_out is not None:
            write_text_atomic(json_out, json.dumps(result, indent=2) + "\n")
