"""The `gantool` command line. It only builds configs and calls the Python API.

Heavy imports (torch, onnx) happen inside the commands that need them, so
`gantool --help`, `gantool sample` and `gantool info` on an ONNX file never
load torch.
"""

from __future__ import annotations

import contextlib
import sys
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
    arch: Annotated[Optional[str], typer.Option(help="Architecture: mlp or dcgan. [default: dcgan]")] = None,
    dataset: Annotated[Optional[str], typer.Option(
        help="mnist (IDX files in --data-dir or the cache, else download, else the offline sample), "
             "fashion-mnist, mnist-sample (5,000 real digits, offline) or idx. [default: mnist]")] = None,
    data_dir: Annotated[Optional[Path], typer.Option(help="Folder with IDX files (train-images-idx3-ubyte[.gz] …).")] = None,
    run_dir: Annotated[Optional[Path], typer.Option(help="Where the run is written. [default: runs/ARCH-TIMESTAMP]")] = None,
    epochs: Annotated[Optional[int], typer.Option(min=1, help="Epochs to train (the maximum when --minutes is set). [default: 20]")] = None,
    minutes: Annotated[Optional[float], typer.Option(min=0.001, help="Wall-clock budget; stops at the first step past it.")] = None,
    batch_size: Annotated[Optional[int], typer.Option(min=1, help="Batch size per process. [default: 128]")] = None,
    latent_dim: Annotated[Optional[int], typer.Option(min=1, help="Size of the noise vector z. [default: 64]")] = None,
    width: Annotated[Optional[int], typer.Option(min=1, help="Base width (dcgan channels; mlp hidden = 8x). [default: 32]")] = None,
    conditional: Annotated[Optional[bool], typer.Option("--conditional/--unconditional",
        help="Feed the class label to G and D, so you can ask for a given digit. [default: unconditional]")] = None,
    loss: Annotated[Optional[str], typer.Option(help="bce (non-saturating) or hinge. [default: bce]")] = None,
    label_smoothing: Annotated[Optional[float], typer.Option(help="One-sided label smoothing for bce. [default: 0]")] = None,
    lr_g: Annotated[Optional[float], typer.Option(help="Generator learning rate. [default: 2e-4]")] = None,
    lr_d: Annotated[Optional[float], typer.Option(help="Discriminator learning rate. [default: 2e-4]")] = None,
    ema: Annotated[Optional[bool], typer.Option("--ema/--no-ema", help="Keep an EMA generator for samples and export. [default: on]")] = None,
    ema_decay: Annotated[Optional[float], typer.Option(help="EMA decay. [default: 0.999]")] = None,
    rotate: Annotated[Optional[float], typer.Option(help="Random rotation of real digits, ± degrees. [default: 0]")] = None,
    seed: Annotated[Optional[int], typer.Option(help="Random seed; runs are reproducible on CPU. [default: 0]")] = None,
    device: Annotated[Optional[str], typer.Option(help="auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps. [default: auto]")] = None,
    amp: Annotated[Optional[bool], typer.Option("--amp/--no-amp", help="bf16 autocast on CUDA. [default: on]")] = None,
    compile: Annotated[Optional[bool], typer.Option("--compile/--no-compile", help="torch.compile the models. [default: off]")] = None,
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

        model_opts = {"arch": arch, "latent_dim": latent_dim, "width": width,
                      "num_classes": None if conditional is None else (10 if conditional else 0)}
        train_opts = {"dataset": dataset, "data_dir": None if data_dir is None else str(data_dir),
                      "epochs": epochs, "minutes": minutes, "batch_size": batch_size, "loss": loss,
                      "label_smoothing": label_smoothing, "lr_g": lr_g, "lr_d": lr_d, "ema": ema,
                      "ema_decay": ema_decay, "rotate": rotate, "seed": seed, "device": device,
                      "amp": amp, "compile": compile}
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
