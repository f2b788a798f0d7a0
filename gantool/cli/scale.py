"""`gantool generate` and `gantool serve`: thin commands over gantool.scale (torch-free)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from gantool.cli.app import app, default, user_errors
from gantool.core.errors import GantoolError
from gantool.scale.configs import GenerateConfig, ServeConfig

MODEL_HELP = "An exported generator (.onnx, .ort, .tflite) or export dir. [default: the bundled model]"
SIZE_HELP = "With no model file: the bundled model of this size, base or nano. [default: base]"


@app.command()
def generate(
    model: Annotated[Optional[Path], typer.Argument(help=MODEL_HELP)] = None,
    n: Annotated[int, typer.Option("--n", help="Number of images (balanced over the classes unless --mix).")] = 60_000,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output folder (new, empty, or an unfinished run of the same command).")
    ] = Path("synthetic"),
    seed: Annotated[int, typer.Option(help="Image i is drawn from seed SEED+i: the same bytes on any engine.")] = 0,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            help="idx: MNIST's own file format (gantool train --dataset idx reads it); npz: one numpy .npz per "
            "shard (images, labels).",
        ),
    ] = default(GenerateConfig, "format"),
    gzip: Annotated[
        bool, typer.Option("--gzip", help="idx: write .gz files as MNIST ships them; npz: deflate the shards.")
    ] = False,
    mix: Annotated[
        Optional[str],
        typer.Option(help="Class weights, e.g. 0:1,3:2 (classes not named get none). [default: balanced]"),
    ] = None,
    shard_size: Annotated[
        int, typer.Option(help="Images per shard: the unit of work, hashing and resume (a multiple of 256).")
    ] = default(GenerateConfig, "shard_size"),
    prefix: Annotated[str, typer.Option(help="File name prefix: PREFIX-images-idx3-ubyte, …")] = default(
        GenerateConfig, "prefix"
    ),
    engine: Annotated[
        str, typer.Option(help="local: this process; ray: Ray Data actors (pip install 'gantool[ray]').")
    ] = "local",
    workers: Annotated[int, typer.Option(help="--engine ray: Samplers working at once.")] = 1,
    address: Annotated[
        Optional[str],
        typer.Option(help="--engine ray: HOST:PORT of an existing cluster. [default: a local one on 127.0.0.1]"),
    ] = None,
    threads: Annotated[
        Optional[int],
        typer.Option(min=1, help="onnxruntime threads per Sampler. [default: one per physical core, or cores/workers]"),
    ] = None,
    size: Annotated[Optional[str], typer.Option(help=SIZE_HELP)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress line, only the summary.")] = False,
) -> None:
    """A labelled synthetic data set, streamed in shards, resumable, the same bytes on every engine."""
    with user_errors():
        from gantool.scale.generate import GenerateInterrupted
        from gantool.scale.generate import generate as run
        from gantool.scale.plan import parse_mix

        mix_weights = None
        if mix is not None:
            classes = _classes(model, size)
            if not classes:
                raise GantoolError("--mix needs a conditional model; this one draws no classes")
            mix_weights = parse_mix(mix, classes)
        config = GenerateConfig(
            n=n, seed=seed, format=format, gzip=gzip, shard_size=shard_size, mix=mix_weights, prefix=prefix
        )
        try:
            result = run(config, out, _model_file(model), size, engine, workers, threads, address, progress=not quiet)
        except GenerateInterrupted as e:
            typer.echo(str(e), err=True)
            raise typer.Exit(130) from None
        typer.echo(result.summary())


@app.command()
def serve(
    model: Annotated[Optional[Path], typer.Argument(help=MODEL_HELP)] = None,
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")] = default(
        ServeConfig, "host"
    ),
    port: Annotated[int, typer.Option(help="Port (0: any free one, printed).")] = default(ServeConfig, "port"),
    max_n: Annotated[int, typer.Option(help="Most images one request may ask for.")] = default(ServeConfig, "max_n"),
    queue: Annotated[int, typer.Option(help="Requests that may wait for the model; the next gets 503.")] = default(
        ServeConfig, "queue"
    ),
    max_batch: Annotated[int, typer.Option(help="Images per model call, summed over batched requests.")] = default(
        ServeConfig, "max_batch"
    ),
    batch_wait_ms: Annotated[
        float, typer.Option(help="How long a batch waits for more requests after its first.")
    ] = default(ServeConfig, "batch_wait_ms"),
    threads: Annotated[
        Optional[int], typer.Option(min=1, help="onnxruntime threads. [default: one per physical core]")
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            help="Batches in flight at once (2: one computes while another is encoded and sent; the same here, "
            "where the model is the bound)."
        ),
    ] = default(ServeConfig, "workers"),
    size: Annotated[Optional[str], typer.Option(help=SIZE_HELP)] = None,
    ray: Annotated[
        bool, typer.Option("--ray", help="Serve with Ray Serve (pip install 'gantool[ray]'): replicas, autoscaling.")
    ] = False,
    replicas: Annotated[int, typer.Option(help="--ray: replicas (each a Sampler).")] = 2,
    max_replicas: Annotated[
        Optional[int], typer.Option(help="--ray: autoscale from --replicas up to this many.")
    ] = None,
    address: Annotated[
        Optional[str], typer.Option(help="--ray: HOST:PORT of an existing cluster. [default: a local one on 127.0.0.1]")
    ] = None,
) -> None:
    """Serve digits over HTTP: GET /digits?n=16&digit=3&seed=1 (PNG, or &format=npy), /health, /metadata, /metrics."""
    with user_errors():
        config = ServeConfig(
            host=host,
            port=port,
            max_n=max_n,
            queue=queue,
            max_batch=max_batch,
            batch_wait_ms=batch_wait_ms,
            threads=threads,
            workers=workers,
        )
        model_file = _model_file(model)

        def announce(line: str) -> None:
            typer.echo(line)

        if ray:
            from gantool.scale.ray_serve import RayServeConfig, serve_on_ray

            ray_config = RayServeConfig(replicas=replicas, max_replicas=max_replicas, address=address)
            _classes(model_file, size)  # a bad model fails here, in one line, not inside a replica
            serve_on_ray(str(model_file.resolve()) if model_file else None, size, config, ray_config, announce)
            return
        if address is not None or max_replicas is not None:
            raise GantoolError("--address and --max-replicas need --ray")
        from gantool.scale.dataset import open_sampler
        from gantool.scale.service import serve as run

        run(open_sampler(model_file, size, threads, max_n=max(config.max_n, config.max_batch)), config, announce)


def _model_file(model: Optional[Path]) -> Optional[Path]:
    from gantool.cli.sample import _model_file as resolve

    return resolve(model)


def _classes(model: Optional[Path], size: Optional[str]) -> int:
    from gantool.scale.dataset import open_sampler

    sampler = open_sampler(_model_file(model), size)
    return sampler.num_classes if sampler.conditional else 0
