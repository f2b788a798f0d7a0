"""`gantool export`, `verify`, `info` and `formats`: thin commands over gantool.export and gantool.artifacts."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from gantool.artifacts.registry import GROUP_HELP, VARIANT_HELP
from gantool.cli.app import app, default, user_errors
from gantool.core.console import columns
from gantool.export.config import ExportConfig

if TYPE_CHECKING:
    from gantool.export.verification.results import GateCheck, VerificationReport

FORMAT_HELP = "Also write this artifact format (see `gantool formats`); repeatable."


def _table_options(command):
    """Give `command` a --GROUP flag for each option group of the artifact table and a --VARIANT flag
    for each reduced-precision variant, with the rows' help texts (typer reads `__signature__`), so
    a new row's option appears here without an edit. They are placed after --out and --opset."""
    sig = inspect.signature(command, eval_str=True)
    fixed = [p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]
    taken = {p.name for p in fixed}

    def flag(name: str, help: str) -> inspect.Parameter:
        if name in taken or not name.isidentifier():
            raise ValueError(f"artifact option --{name} clashes with an export option or is not a name")
        return inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=False,
            annotation=Annotated[bool, typer.Option(f"--{name}", help=help)],
        )

    flags = [flag(g, h) for g, h in GROUP_HELP.items()] + [flag(v, h) for v, h in VARIANT_HELP.items()]
    rest = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in fixed[1:]]
    command.__signature__ = sig.replace(parameters=[fixed[0], *rest[:2], *flags, *rest[2:]])
    return command


_SourceOpt = Annotated[Path, typer.Argument(help="A run directory or a checkpoint (.pt).")]
_OutOpt = Annotated[Optional[Path], typer.Option("--out", "-o", help="Output directory. [default: RUN_DIR/export]")]
_OpsetOpt = Annotated[int, typer.Option(help="ONNX opset; 17-23 work (onnxruntime CPU and onnxruntime-web WASM).")]
_FormatOpt = Annotated[Optional[list[str]], typer.Option("--format", help=FORMAT_HELP)]
_VerifyOpt = Annotated[bool, typer.Option("--verify/--no-verify", help="Compare every file with PyTorch eager.")]
_AtolOpt = Annotated[float, typer.Option(help="Verification tolerance: max absolute error on [0, 1] pixels.")]
_MaxPixelErrorOpt = Annotated[
    float, typer.Option(help="Variant gate: mean absolute pixel error vs fp32 (pixels in [0, 1]).")
]
_MaxPeakPixelErrorOpt = Annotated[
    float,
    typer.Option(
        help="Variant gate: single-pixel error vs fp32 that 99.99% of pixels stay within (the largest is reported)."
    ),
]
_FidOpt = Annotated[
    Optional[bool],
    typer.Option(
        "--fid/--no-fid",
        help="Variants: also report the FID change vs fp32. [default: when the test split is found]",
    ),
]
_FidDataDirOpt = Annotated[Optional[Path], typer.Option(help="Folder with the reference test split for --fid.")]
_MaxFidChangeOpt = Annotated[
    Optional[float], typer.Option(help="Variant gate: largest FID increase vs fp32. [default: report only]")
]
_MaxFlashOpt = Annotated[
    Optional[str],
    typer.Option(help="--c: refuse a generator whose weights and tables need more flash, in bytes (or 96K, 1M)."),
]
_MaxSramOpt = Annotated[
    Optional[str],
    typer.Option(help="--c: refuse a generator whose activation buffers need more SRAM, in bytes (or 32K)."),
]
_ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Replace the files of an earlier export of another model, and remove an earlier export's files "
        "this one does not make again (never files gantool did not write).",
    ),
]


@app.command()
@_table_options
def export(
    source: _SourceOpt,
    out: _OutOpt = None,
    opset: _OpsetOpt = default(ExportConfig, "opset"),
    format_: _FormatOpt = None,
    verify_: _VerifyOpt = True,
    atol: _AtolOpt = default(ExportConfig, "atol"),
    max_pixel_error: _MaxPixelErrorOpt = default(ExportConfig, "max_pixel_error"),
    max_peak_pixel_error: _MaxPeakPixelErrorOpt = default(ExportConfig, "max_peak_pixel_error"),
    fid: _FidOpt = None,
    fid_data_dir: _FidDataDirOpt = None,
    max_fid_change: _MaxFidChangeOpt = None,
    max_flash: _MaxFlashOpt = None,
    max_sram: _MaxSramOpt = None,
    force: _ForceOpt = False,
    **flags: bool,
) -> None:
    """Export the EMA generator and prove every file computes what PyTorch computes.

    Inputs: z float32 [N, latent_dim] (+ label int64 [N] for conditional models);
    output: image float32 [N, 1, 28, 28] in [0, 1]; the batch axis is dynamic.
    Writes verification.json and manifest.json beside the files; exit 1 if verification fails.
    Only files gantool's manifest lists are ever replaced; anything else in the folder stays.
    """
    with user_errors():
        from gantool.export.config import CBudget, default_export_dir, parse_bytes
        from gantool.export.exporter import export as run_export

        formats = [g for g in GROUP_HELP if flags.get(g)] + list(format_ or [])
        cfg = ExportConfig(
            out_dir=str(out if out is not None else default_export_dir(source)),
            formats=tuple(dict.fromkeys(formats)) or ExportConfig.formats,
            variants=tuple(v for v in VARIANT_HELP if flags.get(v)),
            opset=opset,
            verify=verify_,
            atol=atol,
            max_pixel_error=max_pixel_error,
            max_peak_pixel_error=max_peak_pixel_error,
            force=force,
            fid=fid,
            fid_data_dir=None if fid_data_dir is None else str(fid_data_dir),
            max_fid_change=max_fid_change,
            c=CBudget(parse_bytes(max_flash, "--max-flash"), parse_bytes(max_sram, "--max-sram")),
        )
        result = run_export(source, cfg)
        _print_report(result.report)
        if result.removed:
            typer.echo(f"removed {', '.join(result.removed)}: the previous export's files not asked for this time")
        typer.echo(f"exported to {result.out_dir}: {', '.join(sorted(p.name for p in result.files.values()))}")


@app.command()
def verify(
    export_dir: Annotated[Path, typer.Argument(help="A directory written by gantool export.")],
    checkpoint: Annotated[Optional[Path], typer.Option(help="The source checkpoint. [default: the manifest's]")] = None,
    atol: Annotated[Optional[float], typer.Option(help="Tolerance. [default: the one used at export]")] = None,
    numbers: Annotated[
        Optional[bool],
        typer.Option(
            "--numbers/--hashes-only",
            help="Also re-run every file against the checkpoint (needs gantool[export]). [default: when torch is "
            "installed]",
        ),
    ] = None,
) -> None:
    """Re-check an export directory: every file's SHA-256 against manifest.json first (no torch
    needed; a changed file is never loaded), then its numbers against the checkpoint; exit 1 (and
    files marked .failed) if anything changed or disagrees."""
    with user_errors():
        from gantool.export.verification.recheck import verify as run_verify

        report = run_verify(export_dir, checkpoint, atol, numbers=numbers)
        _print_report(report)
        also = (
            ""
            if report.numbers_checked
            else "; numbers not re-checked: pip install 'gantool[export]' for that"
            if numbers is None
            else "; hashes only"
        )
        typer.echo(f"verified: {export_dir} (every file matches manifest.json{also})")


def _print_report(report: VerificationReport) -> None:
    """The atol checks as a table, then a line per gate check, maker note and FID note."""
    if report.results:
        rows = [("file", "backend", "batch", "truncation", "max abs err", "mean abs err", "ok")]
        for r in report.results:
            if r.batch is None or r.max_abs_error is None or r.mean_abs_error is None:
                rows.append((r.file, r.backend, "-", "-", "load failed", "", "no"))
                continue
            trunc = "-" if r.truncation is None else f"{r.truncation:g}"
            ok = "yes" if r.passed else "NO"
            rows.append(
                (r.file, r.backend, str(r.batch), trunc, f"{r.max_abs_error:.3g}", f"{r.mean_abs_error:.3g}", ok)
            )
        typer.echo(columns(rows))
    for v in report.variants:
        typer.echo(_gate_line(v))
    for name, note in report.notes.items():
        if note.say:
            typer.echo(f"{name}: {note.say}")
    if report.fid_note:
        typer.echo(report.fid_note)


def _gate_line(v: GateCheck) -> str:
    ok = "yes" if v.passed else "NO"
    if v.note:
        return f"{v.file}  {v.note}"
    if v.pixels is None:
        return f"{v.file:<18}{v.error or 'not verified'}  NO"
    if v.identical is not None:
        return (
            f"{v.file}  {v.backend} (host build)  {v.samples} seeds: {v.identical.identical_images:.1%} of "
            f"images identical, at most {v.identical.max_level_difference} levels apart  {ok}"
        )
    fid = f", FID {v.fid.fid:.2f} ({v.fid.fid_change:+.2f} vs fp32)" if v.fid is not None else ""
    return (
        f"{v.file:<18}{v.backend:<16}{v.samples} samples: mean pixel error "
        f"{v.pixels.mean_pixel_error:.5f}, max {v.pixels.max_pixel_error:.4f}{fid}  {ok}"
    )


@app.command()
def info(
    path: Annotated[
        Optional[Path],
        typer.Argument(
            help="An exported file (.onnx, .ts.pt, …) or an export directory. [default: the model(s) bundled with "
            "gantool]"
        ),
    ] = None,
) -> None:
    """Print the gantool metadata stored inside an exported model, or list an export directory's
    files (no torch needed). With no path: the pretrained model(s) inside gantool."""
    with user_errors():
        import json

        from gantool.runtime.metadata import read_metadata

        if path is None:
            from gantool.runtime.bundled import bundled_models

            for model in bundled_models():
                typer.echo(f"bundled model: {model}")
                typer.echo(json.dumps(read_metadata(model).to_dict(), indent=2, sort_keys=True))
            return
        if path.is_dir():
            from gantool.artifacts.exportdir import describe, read_export_dir

            typer.echo(describe(read_export_dir(path)))
            return
        from gantool.runtime.metadata import checked_metadata

        typer.echo(json.dumps(checked_metadata(path).to_dict(), indent=2, sort_keys=True))


@app.command()
def formats() -> None:
    """List every artifact kind gantool exports: file, option, how it is made and verified, and
    whether the torch-free runtime opens it."""
    from gantool.artifacts import ARTIFACTS

    rows = [("kind", "file", "option", "made from", "checked by", "runtime", "extra")]
    for k in ARTIFACTS.values():
        if k.verifier is not None:
            check = f"image by image vs {k.source} on {k.backends[0]}"
        elif k.gated:
            check = f"gates vs {k.source} on {k.backends[0]}"
        elif k.seeded:
            check = f"atol vs {k.source} on numpy's latents: " + ", ".join(k.backends)
        else:
            check = "atol vs eager: " + ", ".join(k.backends)
        rows.append(
            (k.name, k.file, k.option, k.source or "PyTorch", check, "yes" if k.runtime else "no", k.extra or "export")
        )  # every row needs gantool[export] at least
    typer.echo(columns(rows))
