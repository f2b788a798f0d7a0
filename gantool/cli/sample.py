"""`gantool sample`, `eval` and `bench`: thin commands over gantool.runtime and gantool.assess."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from gantool.assess.configs import BenchConfig, EvalConfig
from gantool.cli.app import app, default, user_errors
from gantool.core.errors import GantoolError

_ModelOpt = Annotated[
    Optional[Path],
    typer.Argument(
        help="An exported ONNX / .ort generator (or an export dir). [default: the pretrained model bundled "
        "with gantool]"
    ),
]
_NOpt = Annotated[Optional[int], typer.Option("--n", help="Number of images. [default: 64, or one per --labels entry]")]
_SeedOpt = Annotated[
    Optional[int],
    typer.Option(
        help="Seed (0..2^63-1); same seed, same images. Seeded models: image k uses seed+k. [default: a random "
        "seed, printed]"
    ),
]
_SeedsOpt = Annotated[
    Optional[str], typer.Option(help="One image per seed, e.g. 0-15 or 1,5,7-9 (instead of --seed and --n).")
]
_DigitOpt = Annotated[Optional[int], typer.Option(help="Class for every image (conditional models).")]
_LabelsOpt = Annotated[
    Optional[str],
    typer.Option(help="Comma-separated classes, e.g. 0,1,2; each gets n/len images, one row per label."),
]
_TruncationOpt = Annotated[
    Optional[float],
    typer.Option(help="Truncation trick: latents drawn from the normal truncated to ±T (e.g. 0.8)."),
]
_OutOpt = Annotated[
    str, typer.Option("--out", "-o", help="grid.png (a grid), DIR/ (one PNG per image) or x.npy (uint8 array).")
]
_NrowOpt = Annotated[Optional[int], typer.Option(min=1, help="Images per grid row. [default: square]")]
_ScaleOpt = Annotated[int, typer.Option(min=1, help="Draw each pixel as a scale x scale block, 1-16 (PNGs only).")]
_ThreadsOpt = Annotated[
    Optional[int], typer.Option(min=1, help="onnxruntime intra-op threads. [default: one per physical core]")
]
_SizeOpt = Annotated[
    Optional[str],
    typer.Option(
        help="With no model file: the bundled model of this size, base or nano (the microcontroller model). "
        "[default: base]"
    ),
]


@app.command()
def sample(
    model: _ModelOpt = None,
    n: _NOpt = None,
    seed: _SeedOpt = None,
    seeds: _SeedsOpt = None,
    digit: _DigitOpt = None,
    labels: _LabelsOpt = None,
    truncation: _TruncationOpt = None,
    out: _OutOpt = "samples.png",
    nrow: _NrowOpt = None,
    scale: _ScaleOpt = 1,
    threads: _ThreadsOpt = None,
    size: _SizeOpt = None,
) -> None:
    """Generate digits from an exported ONNX file with onnxruntime (no torch)."""
    with user_errors():
        from gantool.runtime.grid import check_grid
        from gantool.runtime.latents import parse_seed_ranges
        from gantool.runtime.output import check_images_out, save_images
        from gantool.runtime.sampler import Sampler, rows_per_label

        if digit is not None and labels is not None:
            raise GantoolError("use --digit or --labels, not both")
        if seeds is not None and (seed is not None or n is not None):
            raise GantoolError("use --seeds, or --seed with --n, not both")
        seed_list = parse_seed_ranges(seeds) if seeds is not None else None
        count = len(seed_list) if seed_list is not None else (64 if n is None else n)
        label_arg: Any = digit  # one label, a list, or None
        if labels is not None:
            count, label_arg, per_row = rows_per_label(
                count if (n is not None or seed_list) else None, _parse_labels(labels)
            )
            nrow = nrow or per_row
        target, as_dir = check_images_out(out)
        if size is not None and model is not None:
            raise GantoolError("--size picks a bundled model: give it or a model file, not both")
        sampler = (
            Sampler.bundled(size, threads=threads) if size is not None else Sampler(_model_file(model), threads=threads)
        )
        if not as_dir and target.suffix.lower() == ".png":  # the grid's size, before any image is made
            h, w = sampler.image_shape[1:]
            check_grid(sampler.check_n(count), h, w, nrow, scale)
        if digit is not None:
            label_arg = sampler.labels_for(count, digit, what="--digit")
        if seed_list is not None:
            images = sampler.sample_seeds(seed_list, label_arg, truncation)
        else:
            if seed is None:  # a random seed, printed, so a good grid can be made again
                seed = secrets.randbelow(2**31)
                typer.echo(f"seed {seed} (pass --seed {seed} to make these images again)")
            images = sampler.sample(count, seed=seed, labels=label_arg, truncation=truncation)
        typer.echo(save_images(images, target, as_dir, nrow, scale))


def _model_file(model: Optional[Path]) -> Optional[Path]:
    """An export dir stands for its main runtime file; None for the bundled model."""
    if model is not None and model.is_dir():
        from gantool.artifacts.exportdir import read_export_dir

        return read_export_dir(model).primary()
    return model


def _parse_labels(text: str) -> list[int]:
    try:
        values = [int(t) for t in text.split(",") if t.strip() != ""]
    except ValueError:
        raise GantoolError(f"--labels must be comma-separated integers like 0,1,2; got {text[:40]!r}") from None
    if not values:
        raise GantoolError("--labels is empty")
    if len(values) > 100_000:
        raise GantoolError("--labels lists more than 100000 classes")
    return values


@app.command("eval")
def eval_(
    source: Annotated[Path, typer.Argument(help="A run dir / checkpoint (.pt), an exported file or an export dir.")],
    n: Annotated[int, typer.Option("--n", help="Generated samples to score (2-50000).")] = default(EvalConfig, "n"),
    seed: Annotated[int, typer.Option(help="Latent seed; same seed, same samples for every format.")] = default(
        EvalConfig, "seed"
    ),
    dataset: Annotated[
        Optional[str], typer.Option(help="Reference dataset. [default: the model's; mnist-sample -> mnist]")
    ] = None,
    data_dir: Annotated[
        Optional[Path], typer.Option(help="Folder with the reference test split (t10k-*-ubyte[.gz]).")
    ] = None,
    json_out: Annotated[
        Optional[Path], typer.Option("--json", help="Write the results here. [default: eval.json beside the model]")
    ] = None,
) -> None:
    """Score a generator: FID, Inception-Score analogue, class coverage, precision/recall
    (and per-digit accuracy for conditional models), with gantool's own MNIST feature network."""
    with user_errors():
        from gantool.assess.quality import default_json, evaluate, format_table, to_json
        from gantool.core.fileio import check_output_file, write_text_atomic

        cfg = EvalConfig(n=n, seed=seed, dataset=dataset, data_dir=None if data_dir is None else str(data_dir))
        target = check_output_file(json_out or default_json(source), "--json")
        result = evaluate(source, cfg.validate())
        typer.echo(format_table(result))
        write_text_atomic(target, to_json(result) + "\n")
        typer.echo(f"wrote {target}")


@app.command()
def bench(
    source: Annotated[
        Path,
        typer.Argument(help="A run dir / checkpoint (exported to a temp dir with every variant) or an export dir."),
    ],
    calls: Annotated[int, typer.Option(help="Batch-1 calls timed per format (>= 200).")] = default(
        BenchConfig, "calls"
    ),
    fid: Annotated[
        bool, typer.Option("--fid/--no-fid", help="Also score FID per format (needs the test split).")
    ] = default(BenchConfig, "fid"),
    fid_n: Annotated[int, typer.Option(help="Samples per FID.")] = default(BenchConfig, "fid_n"),
    data_dir: Annotated[Optional[Path], typer.Option(help="Folder with the reference test split.")] = None,
    threads: Annotated[
        Optional[int], typer.Option(min=1, help="onnxruntime intra-op threads. [default: one per physical core]")
    ] = None,
    markdown_out: Annotated[Optional[Path], typer.Option("--markdown", help="Also write the table here.")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the results here.")] = None,
) -> None:
    """Compare every format of a model (PyTorch eager and each exported file): size, batch-1 latency,
    batch-256 throughput, cold start, peak RSS, FID and its change against eager."""
    with user_errors():
        import json

        from gantool.assess.speed import bench as run_bench
        from gantool.assess.speed import markdown
        from gantool.core.fileio import check_output_file, write_text_atomic

        outputs = [
            (check_output_file(p, opt), render)
            for p, opt, render in (
                (markdown_out, "--markdown", markdown),
                (json_out, "--json", lambda r: json.dumps(r, indent=2)),
            )
            if p is not None
        ]
        cfg = BenchConfig(
            calls=calls, fid=fid, fid_n=fid_n, threads=threads, data_dir=None if data_dir is None else str(data_dir)
        )
        result = run_bench(source, cfg)
        typer.echo(markdown(result))
        for target, render in outputs:
            write_text_atomic(target, render(result) + "\n")
