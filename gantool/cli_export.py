"""`gantool export`, `verify`, `info` and `formats`: thin commands over gantool.export and gantool.artifacts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from gantool.cli import _d, app, user_errors
from gantool.export.config import ExportConfig

FORMAT_HELP = "Also write this artifact format (see `gantool formats`); repeatable."


@app.command()
def export(
    source: Annotated[Path, typer.Argument(help="A run directory or a checkpoint (.pt).")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output directory. [default: RUN_DIR/export]")] = None,
    onnx: Annotated[bool, typer.Option("--onnx", help="Write model.onnx. (No format option at all: ONNX and TorchScript.)")] = False,
    torchscript: Annotated[bool, typer.Option("--torchscript", help="Write model.ts.pt (torch.jit.trace).")] = False,
    pt2: Annotated[bool, typer.Option("--pt2", help="Write model.pt2 (torch.export; loads with torch.export.load).")] = False,
    executorch: Annotated[bool, typer.Option("--executorch", help="Write model.pte (ExecuTorch, XNNPACK); with --int8 also model.int8.pte. Needs gantool[executorch].")] = False,
    ort: Annotated[bool, typer.Option("--ort", help="Write model.ort (onnxruntime's mobile format) and its required-operators config.")] = False,
    openvino: Annotated[bool, typer.Option("--openvino", help="Write model.xml + model.bin (OpenVINO IR). Needs gantool[openvino].")] = False,
    seeded: Annotated[bool, typer.Option("--seeded", help="Write model.seeded.onnx: takes int64 seeds and draws each latent in the graph, the same in every runtime (with --int8/--fp16: those too).")] = False,
    format_: Annotated[Optional[list[str]], typer.Option("--format", help=FORMAT_HELP)] = None,
    opset: Annotated[int, typer.Option(help="ONNX opset; 17-23 work (onnxruntime CPU and onnxruntime-web WASM).")] = _d("opset", ExportConfig),
    fp16: Annotated[bool, typer.Option("--fp16", help="Also write the fp16 variant of each format that has one.")] = False,
    int8: Annotated[bool, typer.Option("--int8", help="Also write the int8 variant of each format that has one.")] = False,
    verify_: Annotated[bool, typer.Option("--verify/--no-verify", help="Compare every file with PyTorch eager.")] = True,
    atol: Annotated[float, typer.Option(help="Verification tolerance: max absolute error on [0, 1] pixels.")] = _d("atol", ExportConfig),
    max_pixel_error: Annotated[float, typer.Option(help="Variant gate: mean absolute pixel error vs fp32 (pixels in [0, 1]).")] = _d("max_pixel_error", ExportConfig),
    max_peak_pixel_error: Annotated[float, typer.Option(help="Variant gate: largest single-pixel error vs fp32.")] = _d("max_peak_pixel_error", ExportConfig),
    fid: Annotated[Optional[bool], typer.Option("--fid/--no-fid", help="Variants: also report the FID change vs fp32. [default: when the test split is found]")] = None,
    fid_data_dir: Annotated[Optional[Path], typer.Option(help="Folder with the reference test split for --fid.")] = None,
    max_fid_change: Annotated[Optional[float], typer.Option(help="Variant gate: largest FID increase vs fp32. [default: report only]")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an output directory that holds another model's export.")] = False,
) -> None:
    """Export the EMA generator and prove every file computes what PyTorch computes.

    Inputs: z float32 [N, latent_dim] (+ label int64 [N] for conditional models);
    output: image float32 [N, 1, 28, 28] in [0, 1]; the batch axis is dynamic.
    Writes verification.json and manifest.json beside the files; exit 1 if verification fails.
    """
    with user_errors():
        from gantool.export.config import default_export_dir
        from gantool.export.exporter import export as run_export

        named = (("onnx", onnx), ("torchscript", torchscript), ("pt2", pt2), ("executorch", executorch),
                 ("ort", ort), ("openvino", openvino), ("seeded", seeded))
        formats = [f for f, on in named if on] + list(format_ or [])
        cfg = ExportConfig(out_dir=str(out if out is not None else default_export_dir(source)),
                           formats=tuple(dict.fromkeys(formats)) or ExportConfig.formats,
                           variants=tuple(v for v, on in (("fp16", fp16), ("int8", int8)) if on), opset=opset,
                           verify=verify_, atol=atol, max_pixel_error=max_pixel_error,
                           max_peak_pixel_error=max_peak_pixel_error, force=force, fid=fid,
                           fid_data_dir=None if fid_data_dir is None else str(fid_data_dir),
                           max_fid_change=max_fid_change)
        result = run_export(source, cfg)
        _print_report(result.report)
        typer.echo(f"exported to {result.out_dir}: {', '.join(sorted(p.name for p in result.files.values()))}")


@app.command()
def verify(
    export_dir: Annotated[Path, typer.Argument(help="A directory written by gantool export.")],
    checkpoint: Annotated[Optional[Path], typer.Option(help="The source checkpoint. [default: the manifest's]")] = None,
    atol: Annotated[Optional[float], typer.Option(help="Tolerance. [default: the one used at export]")] = None,
) -> None:
    """Re-check an export directory: every file's SHA-256 against manifest.json, then its numbers
    against the checkpoint; exit 1 (and files marked .failed) if anything changed or disagrees."""
    with user_errors():
        from gantool.export.exporter import verify as run_verify

        report = run_verify(export_dir, checkpoint, atol)
        _print_report(report)
        typer.echo(f"verified: {export_dir} (every file matches manifest.json)")


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
        if "mean_pixel_error" not in v:
            typer.echo(f"{v['file']:<18}{v.get('error', 'not judged')}  NO")
            continue
        fid = f", FID {v['fid']:.2f} ({v['fid_change']:+.2f} vs fp32)" if "fid_change" in v else ""
        typer.echo(f"{v['file']:<18}{v.get('backend', ''):<16}{v['samples']} samples: mean pixel error "
                   f"{v['mean_pixel_error']:.5f}, max {v['max_pixel_error']:.4f}{fid}  {'yes' if v['passed'] else 'NO'}")
    for name, notes in report.get("notes", {}).items():
        if notes.get("say"):
            typer.echo(f"{name}: {notes['say']}")
    if report.get("fid_note"):
        typer.echo(report["fid_note"])


@app.command()
def info(
    path: Annotated[Path, typer.Argument(help="An exported file (.onnx, .ts.pt, …) or an export directory.")],
) -> None:
    """Print the gantool metadata stored inside an exported model, or list an export directory's
    files (no torch needed)."""
    with user_errors():
        import json

        if path.is_dir():
            from gantool.export_dir import describe, read_export_dir

            typer.echo(describe(read_export_dir(path)))
            return
        from gantool.runtime.metadata import read_metadata

        typer.echo(json.dumps(read_metadata(path), indent=2, sort_keys=True))


@app.command()
def formats() -> None:
    """List every artifact kind gantool exports: file, option, how it is made and verified, and
    whether the torch-free runtime opens it."""
    from gantool.artifacts import ARTIFACTS

    typer.echo(f"{'kind':<12}{'file':<20}{'option':<22}{'made from':<12}{'checked by':<44}{'runtime':<8}extra")
    for k in ARTIFACTS.values():
        option = f"--{k.format}" + (f" --{k.variant}" if k.variant != "fp32" else "")
        check = f"gates vs {k.source} on {k.backends[0]}" if k.gated else "atol vs eager: " + ", ".join(k.backends)
        typer.echo(f"{k.name:<12}{k.file:<20}{option:<22}{k.source or 'PyTorch':<12}{check:<44}"
                   f"{'yes' if k.runtime else 'no':<8}{k.extra or '-'}")
