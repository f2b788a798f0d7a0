"""`gantool bench`: one table per model, a row per artifact (Ultralytics' `benchmark`, plus quality).

For PyTorch eager and every file of an export (each run by the first backend of its row in
gantool.artifacts): file size, batch-1 latency (median of >= 200 calls after warm-up),
batch-256 throughput, cold start (a fresh process: import + load + first image), that
process's peak RSS, FID and its change against eager on the same seeded latents.
"""

from __future__ import annotations

import os
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from gantool.artifacts import ARTIFACTS, BACKENDS, groups, open_backend
from gantool.assess.configs import BenchConfig
from gantool.assess.timing import PEAK_RSS, fresh_process, median_seconds
from gantool.core.console import say
from gantool.core.errors import GantoolFileNotFoundError
from gantool.runtime.generator import to_uint8
from gantool.runtime.latents import cycle_labels, latents

# torch's OpenMP workers spin ~0.2 s after a parallel region; measured: the row after a torch row
# lost up to 30% of its throughput without this pause.
TORCH_SPIN_S = 0.5


@dataclass
class Row:
    name: str  # "pytorch eager", "onnx int8", …
    backend: str
    path: Path
    size_bytes: int


def resolve_source(source: str | os.PathLike, workdir: Path) -> tuple[Path, dict[str, Path]]:
    """(checkpoint, {kind: file}) for an export dir, or for a run dir exported here with every variant."""
    from gantool.artifacts.exportdir import read_export_dir
    from gantool.toolkit.checkpoint import resolve_checkpoint

    src = Path(source)
    exported = read_export_dir(src, required=False) if src.is_dir() else None
    if exported is not None:
        ckpt = Path(exported.checkpoint_path)
        if not ckpt.is_file():
            raise GantoolFileNotFoundError(f"checkpoint {str(ckpt)!r} (the export's source) is missing")
        return ckpt, exported.files
    from gantool.export.config import ExportConfig
    from gantool.export.exporter import export
    from gantool.toolkit.checkpoint import load_checkpoint

    ckpt = resolve_checkpoint(src)
    arch = load_checkpoint(ckpt).model.arch
    cfg = ExportConfig(out_dir=str(workdir / "export"), formats=available_formats(arch), variants=("fp16", "int8"))
    return ckpt, export(ckpt, cfg, progress=False).files


def available_formats(arch: str | None = None) -> tuple[str, ...]:
    """Every format in the table whose extra is installed here (and whose maker handles `arch`)."""
    from importlib.util import find_spec

    return tuple(
        g
        for g in groups()
        if all(
            (k.needs is None or find_spec(k.needs) is not None) and (not arch or not k.archs or arch in k.archs)
            for k in ARTIFACTS.values()
            if k.group == g
        )
    )


def rows_for(ckpt: Path, files: dict[str, Path]) -> list[Row]:
    """Eager first, then each file in table order, named by format (and variant where a format has several)."""
    rows = [Row("pytorch eager", "pytorch", ckpt, 0)]
    for kind in (k for k in ARTIFACTS.values() if k.name in files):
        several = any(k.group == kind.group and k.variant != kind.variant for k in ARTIFACTS.values())
        name = f"{kind.group} {kind.variant}" if several else kind.group
        path = files[kind.name]
        size = sum(
            (path.parent / n).stat().st_size for n in (path.name, *kind.all_companions) if (path.parent / n).is_file()
        )
        benched = [b for b in kind.backends if BACKENDS[b].bench]
        for backend in benched:  # a row per backend that runs it (OpenVINO: f32 and bf16)
            label = name if backend == benched[0] else f"{name} ({backend.split('.')[-1]})"
            rows.append(Row(label, backend, path, size))
    return rows


def cold_code(row: Row, options: dict[str, Any], latent_dim: int, conditional: bool) -> str:
    labels = "np.zeros(n, np.int64)" if conditional else "None"
    return (
        textwrap.dedent(f"""
        import numpy as np
        from gantool.artifacts import open_backend
        g = open_backend({row.backend!r}, {str(row.path)!r}, **{options!r})
        for n in (1, 256):
            if g.seeded:
                g.run_seeds(np.arange(n), {labels})
            else:
                g(np.random.default_rng(0).standard_normal((n, {latent_dim}), dtype=np.float32), {labels})
    """)
        + PEAK_RSS
    )


def _caller(g, z: np.ndarray, labels):
    """A call that makes len(z) images: from these latents, or, for a seeded file, from seeds 0..n-1."""
    if g.seeded:
        seeds = np.arange(len(z), dtype=np.int64)
        return lambda: to_uint8(g.run_seeds(seeds, labels))
    return lambda: g.images(z, labels)


def bench(source: str | os.PathLike, cfg: BenchConfig, progress: bool = True) -> dict[str, Any]:
    from gantool.toolkit.metrics.evaluator import Evaluator, generated_images

    cfg.validate()
    with tempfile.TemporaryDirectory() as tmp:
        ckpt_path, files = resolve_source(source, Path(tmp))
        rows = rows_for(ckpt_path, files)
        eager = open_backend("pytorch", ckpt_path)
        rows[0].size_bytes = sum(t.numel() * t.element_size() for t in eager.module.state_dict().values())
        meta = eager.metadata
        k, latent = eager.num_classes, eager.latent_dim
        evaluator = (
            Evaluator.for_model(meta.train_config, data_dir=cfg.data_dir, progress=progress) if cfg.fid else None
        )
        z1, z256 = latents(1, latent, 0), latents(256, latent, 1)
        l1, l256 = (cycle_labels(1, k), cycle_labels(256, k)) if k else (None, None)
        results: list[dict[str, Any]] = []
        for row in rows:
            say(progress, row.name)
            opts = {"threads": cfg.threads} if cfg.threads and "threads" in BACKENDS[row.backend].options else {}
            g = eager if row.backend == "pytorch" else open_backend(row.backend, row.path, **opts)
            latency = median_seconds(_caller(g, z1, l1), cfg.calls)
            batch = median_seconds(_caller(g, z256, l256), cfg.repeats, warmup=4)
            if not BACKENDS[row.backend].torch_free:
                time.sleep(TORCH_SPIN_S)  # let torch's OpenMP workers stop spinning before the next row
            cold, rss = fresh_process(cold_code(row, opts, latent, k > 0), cfg.cold_runs)
            result: dict[str, Any] = {
                "format": row.name,
                "file": row.path.name,
                "size_mb": row.size_bytes / 1e6,
                "latency_ms": latency * 1e3,
                "throughput_ips": 256 / batch,
                "cold_start_s": cold,
                "peak_rss_mb": rss,
            }
            if row.backend == "onnxruntime" and g.variant == "int8":
                from gantool.assess.int8 import integer_mac_share

                result["integer_mac_share"] = integer_mac_share(row.path)["share"]
            result["seeded"] = g.seeded
            if evaluator is not None:
                images, labels = generated_images(g, cfg.fid_n, seed=0)
                result["fid"] = evaluator.score(images, labels, pr_samples=min(cfg.fid_n, 2000)).fid
            results.append(result)
        if evaluator is not None:
            seeded_ref: Optional[float] = None
            for result in results:
                if result.get("seeded"):  # like with like: eager fed the latents the seeded file draws itself
                    if seeded_ref is None:
                        seeded_ref = _eager_fid_on_seeded_latents(eager, evaluator, cfg.fid_n)
                    result["fid_change"] = result["fid"] - seeded_ref
                    result["fid_vs"] = "eager on the same seeds"
                else:
                    result["fid_change"], result["fid_vs"] = result["fid"] - results[0]["fid"], "eager"
    return {
        "model": meta.model,
        "conditional": k > 0,
        "checkpoint": str(ckpt_path),
        "rows": results,
        "config": asdict(cfg),
    }


def _eager_fid_on_seeded_latents(eager, evaluator, n: int) -> float:
    """FID of PyTorch eager on the latents a seeded file computes in its graph for seeds 0..n-1
    (gantool.runtime.seeded, the numpy reference), with the same labels: what a seeded row is verified against."""
    from gantool.runtime.seeded import seeded_latents

    labels = cycle_labels(n, eager.num_classes) if eager.conditional else None
    z = seeded_latents(np.arange(n, dtype=np.int64), eager.latent_dim)
    images = np.concatenate(
        [eager.images(z[i : i + 500], None if labels is None else labels[i : i + 500]) for i in range(0, n, 500)]
    )
    return evaluator.score(images, labels, pr_samples=min(n, 2000)).fid


def markdown(result: dict[str, Any]) -> str:
    has_fid = "fid" in result["rows"][0]
    head = [
        "format",
        "file",
        "size (MB)",
        "batch-1 latency (ms)",
        "batch-256 (img/s)",
        "cold start (s)",
        "peak RSS (MB)",
        "int8 MACs",
    ] + ([f"FID ({result['config']['fid_n']:,} samples)", "ΔFID vs eager*"] if has_fid else [])
    lines = [
        f"**{result['model']}** ({'conditional' if result['conditional'] else 'unconditional'}) "
        f"— {result['checkpoint']}",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * 2 + "---:|" * (len(head) - 2),
    ]
    for r in result["rows"]:
        cells = [
            r["format"],
            r["file"],
            f"{r['size_mb']:.2f}",
            f"{r['latency_ms']:.3f}",
            f"{r['throughput_ips']:.0f}",
            f"{r['cold_start_s']:.2f}",
            f"{r['peak_rss_mb']:.0f}",
            f"{r['integer_mac_share']:.0%}" if "integer_mac_share" in r else "-",
        ]
        if has_fid:
            cells += [f"{r['fid']:.2f}", f"{r['fid_change']:+.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    if has_fid:
        lines += [
            "",
            "\\* seeded files are compared with PyTorch eager fed the same latents (the ones their graph "
            "draws for seeds 0..n-1); every other file with eager on PCG64 latents. FID falls as the sample "
            "count grows: compare it only with FIDs of as many samples (gantool eval --n).",
        ]
    return "\n".join(lines)
