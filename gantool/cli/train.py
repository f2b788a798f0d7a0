"""`gantool train`: builds a TrainConfig from the options and calls gantool.toolkit."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from gantool.cli.app import app, default, typed, user_errors
from gantool.core.errors import GantoolError
from gantool.toolkit.config import ModelConfig, TrainConfig, model_config


def _d(name: str):
    return default(ModelConfig if name in {f.name for f in dataclasses.fields(ModelConfig)} else TrainConfig, name)


_ArchOpt = Annotated[str, typer.Option(help="Architecture: mlp or dcgan.")]
_DatasetOpt = Annotated[
    str,
    typer.Option(
        help="mnist (IDX files in --data-dir or the cache, else download, else the offline sample), "
        "fashion-mnist, mnist-sample (5,000 real digits, offline) or idx."
    ),
]
_DataDirOpt = Annotated[Optional[Path], typer.Option(help="Folder with IDX files (train-images-idx3-ubyte[.gz] …).")]
_RunDirOpt = Annotated[Optional[Path], typer.Option(help="Where the run is written. [default: runs/ARCH-TIMESTAMP]")]
_EpochsOpt = Annotated[
    Optional[int], typer.Option(min=1, help="Epochs to train. [default: 20; no limit with --minutes]")
]
_MinutesOpt = Annotated[
    Optional[float], typer.Option(min=0.001, help="Wall-clock budget; stops at the first step past it.")
]
_BatchSizeOpt = Annotated[int, typer.Option(min=1, max=1 << 16, help="Batch size per process.")]
_LatentDimOpt = Annotated[int, typer.Option(min=1, help="Size of the noise vector z.")]
_WidthOpt = Annotated[int, typer.Option(min=1, help="Base width (dcgan channels; mlp hidden = 8x).")]
_SizeOpt = Annotated[
    Optional[str],
    typer.Option(
        help="A preset of the dcgan's sizes: nano (fits a microcontroller: "
        "~80 KB int8, see export --c), small or base (the default widths); --width/--latent-dim/--d-width given "
        "as well win."
    ),
]
_DWidthOpt = Annotated[Optional[int], typer.Option(min=1, help="Discriminator width. [default: --width]")]
_ConditionalOpt = Annotated[
    bool,
    typer.Option(
        "--conditional/--unconditional", help="Feed the class label to G and D, so you can ask for a given digit."
    ),
]
_LossOpt = Annotated[str, typer.Option(help="bce (non-saturating) or hinge.")]
_LabelSmoothingOpt = Annotated[float, typer.Option(help="One-sided label smoothing for bce.")]
_LrGOpt = Annotated[float, typer.Option(help="Generator learning rate.")]
_LrDOpt = Annotated[float, typer.Option(help="Discriminator learning rate.")]
_EmaOpt = Annotated[bool, typer.Option("--ema/--no-ema", help="Keep an EMA generator for samples and export.")]
_RotateOpt = Annotated[float, typer.Option(help="Random rotation of real digits, ± degrees.")]
_SeedOpt = Annotated[int, typer.Option(min=0, max=2**63 - 1, help="Random seed; runs are reproducible on CPU.")]
_DeviceOpt = Annotated[str, typer.Option(help="auto (cuda > mps > cpu), cpu, cuda, cuda:N or mps.")]
_AmpOpt = Annotated[
    bool, typer.Option("--amp/--no-amp", help="Allow bf16 autocast (--no-amp: fp32, as --precision fp32).")
]
_PrecisionOpt = Annotated[
    str,
    typer.Option(
        help="auto (bf16 where the device has bf16 units: CUDA, CPUs with AVX512-BF16 or AMX; else fp32), fp32 or bf16."
    ),
]
_ThreadsOpt = Annotated[
    Optional[int],
    typer.Option(
        min=1, max=1024, help="CPU threads. [default: the cores other processes leave free, measured at start]"
    ),
]
_CompileOpt = Annotated[bool, typer.Option("--compile/--no-compile", help="torch.compile the models.")]
_ChannelsLastOpt = Annotated[
    Optional[bool],
    typer.Option(
        "--channels-last/--no-channels-last",
        help="Keep the convolutions' tensors channels_last (NHWC). [default: on for bf16 on a CPU at batch >= "
        "128, where it measured 9-12% faster]",
    ),
]
_DNormOpt = Annotated[str, typer.Option(help="Discriminator normalisation: batch or spectral.")]
_CondWarmupOpt = Annotated[
    int,
    typer.Option(
        min=0,
        help="Conditional models: steps over which the label's weight "
        "ramps from 0 to 1 (avoids per-class collapse on small data).",
    ),
]
_DiffaugOpt = Annotated[str, typer.Option(help="DiffAugment policy for D's inputs, e.g. translation,cutout.")]
_R1GammaOpt = Annotated[float, typer.Option(help="R1 gradient penalty weight on real images (0 = off).")]
_LrDecayStartOpt = Annotated[
    float,
    typer.Option(help="Fraction of training after which the learning rates fall linearly to 0 (1 = constant)."),
]
_EvalEveryOpt = Annotated[
    int, typer.Option(min=0, help="Log FID every N epochs and keep checkpoints/best.pt (0 = off).")
]
_EvalNOpt = Annotated[int, typer.Option(min=2, max=50_000, help="Samples per FID during training.")]
_DownloadOpt = Annotated[
    bool, typer.Option("--download/--no-download", help="Allow downloading MNIST when files are missing.")
]
_ResumeOpt = Annotated[Optional[Path], typer.Option(help="Continue the run in this directory (or checkpoint file).")]
_OverwriteOpt = Annotated[bool, typer.Option(help="Replace a run already in --run-dir.")]
_QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]
_NprocOpt = Annotated[
    int,
    typer.Option(
        min=1,
        max=256,
        help="Processes on this machine (DDP: gloo on CPU, nccl on "
        "CUDA); gantool starts them with torchrun's launcher. --batch-size is per process.",
    ),
]


@app.command()
def train(
    ctx: typer.Context,
    arch: _ArchOpt = _d("arch"),
    dataset: _DatasetOpt = _d("dataset"),
    data_dir: _DataDirOpt = None,
    run_dir: _RunDirOpt = None,
    epochs: _EpochsOpt = None,
    minutes: _MinutesOpt = None,
    batch_size: _BatchSizeOpt = _d("batch_size"),
    latent_dim: _LatentDimOpt = _d("latent_dim"),
    width: _WidthOpt = _d("width"),
    size: _SizeOpt = None,
    d_width: _DWidthOpt = None,
    conditional: _ConditionalOpt = _d("num_classes") > 0,
    loss: _LossOpt = _d("loss"),
    label_smoothing: _LabelSmoothingOpt = _d("label_smoothing"),
    lr_g: _LrGOpt = _d("lr_g"),
    lr_d: _LrDOpt = _d("lr_d"),
    ema: _EmaOpt = _d("ema"),
    ema_decay: Annotated[float, typer.Option(help="EMA decay.")] = _d("ema_decay"),
    rotate: _RotateOpt = _d("rotate"),
    seed: _SeedOpt = _d("seed"),
    device: _DeviceOpt = _d("device"),
    amp: _AmpOpt = _d("amp"),
    precision: _PrecisionOpt = _d("precision"),
    threads: _ThreadsOpt = None,
    compile: _CompileOpt = _d("compile"),
    channels_last: _ChannelsLastOpt = None,
    d_norm: _DNormOpt = _d("d_norm"),
    cond_warmup: _CondWarmupOpt = _d("cond_warmup"),
    diffaug: _DiffaugOpt = _d("diffaug"),
    r1_gamma: _R1GammaOpt = _d("r1_gamma"),
    lr_decay_start: _LrDecayStartOpt = _d("lr_decay_start"),
    eval_every: _EvalEveryOpt = _d("eval_every"),
    eval_n: _EvalNOpt = _d("eval_n"),
    download: _DownloadOpt = _d("download"),
    resume: _ResumeOpt = None,
    overwrite: _OverwriteOpt = False,
    quiet: _QuietOpt = False,
    nproc: _NprocOpt = 1,
) -> None:
    """Train a GAN; writes checkpoints, per-epoch sample grids, losses.png and metrics.jsonl.

    Ctrl-C (or SIGTERM) writes a checkpoint; continue with --resume RUN_DIR [--epochs N].
    For several processes: --nproc N (or torchrun --nproc_per_node=N -m gantool train …).
    """
    with user_errors():
        if nproc > 1:
            _launch(nproc)
        from gantool.toolkit import runs

        params = dict(ctx.params)
        params["num_classes"] = _d("num_classes") if params.pop("conditional") else 0
        params["data_dir"] = None if data_dir is None else str(data_dir)
        for key in ("resume", "overwrite", "quiet", "run_dir", "nproc"):
            params.pop(key)
        if resume is not None:  # the API decides what may change; it gets what the user typed
            given = {"num_classes" if k == "conditional" else k for k in typed(ctx)}
            overrides = {k: v for k, v in params.items() if k in given}
            _report(_call_train(lambda: runs.resume(resume, overrides, progress=not quiet)))
            return
        cfg = _new_config(params, typed(ctx), run_dir)
        _report(_call_train(lambda: runs.train(cfg, progress=not quiet, overwrite=overwrite)))


def _new_config(params: dict, given: dict[str, Any], run_dir: Optional[Path]) -> TrainConfig:
    """The TrainConfig of a new run: with --size, only the model options the user typed override the
    preset (the others keep the preset's values, not the option defaults)."""
    from gantool.toolkit.config import default_run_dir

    size = params.pop("size")
    model_fields = {f.name for f in dataclasses.fields(ModelConfig)} - {"size"}
    picked = {
        k: v
        for k, v in params.items()
        if k in model_fields and (size is None or k in given or (k == "num_classes" and "conditional" in given))
    }
    cfg = TrainConfig(model=model_config(size, **picked), **{k: v for k, v in params.items() if k not in model_fields})
    cfg.run_dir = str(run_dir) if run_dir is not None else default_run_dir(cfg.model.arch)
    return cfg


def _launch(nproc: int) -> None:
    """Run this same command in `nproc` ranks (without --nproc) and exit with their status."""
    import sys

    from gantool.toolkit.distributed import launch, launched_by_torchrun

    if launched_by_torchrun():
        raise GantoolError("--nproc starts the processes itself: give it or run under torchrun, not both")
    argv, skip = [], False
    for arg in sys.argv[sys.argv.index("train") + 1 :]:  # the options after `gantool train`
        if skip or arg == "--nproc":
            skip = not skip
            continue
        if not arg.startswith("--nproc="):
            argv.append(arg)
    raise typer.Exit(launch(nproc, argv))


def _call_train(fn):
    from gantool.toolkit.results import TrainingInterrupted

    try:
        return fn()
    except TrainingInterrupted as e:
        if e.is_main:  # under torchrun every rank stops; one says so
            typer.echo(
                f"interrupted: checkpoint saved to {e.checkpoint}; continue with "
                f"gantool train --resume {e.checkpoint.parent.parent}",
                err=True,
            )
        raise typer.Exit(128 + int(e.signum)) from None


def _report(result) -> None:
    if not result.is_main:
        return
    last = result.history[-1] if result.history else {}
    msg = f"trained {result.epochs_done} epoch(s), {result.steps} steps"
    if last:
        msg += f"; D loss {last['d_loss']:.3f}, G loss {last['g_loss']:.3f}, {last['images_per_s']:.0f} images/s"
    if result.stopped_by == "time":
        msg += " (stopped by the time budget)"
    typer.echo(msg)
    typer.echo(f"run dir: {result.run_dir}  (samples/, losses.png, checkpoints/last.pt)")
