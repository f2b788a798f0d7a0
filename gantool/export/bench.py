"""`gantool bench`: one table per model, a row per format (Ultralytics' `benchmark`, plus quality).

For PyTorch eager, TorchScript, ONNX fp32, fp16 and int8: file size, batch-1 latency
(median of >= 200 calls after warm-up), batch-256 throughput, cold start (a fresh
process: import + load + first image), that process's peak RSS, FID and its change
against eager on the same seeded latents.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from gantool.errors import GantoolError

# Peak RSS of the current process (VmHWM); resource.ru_maxrss would include the parent's
# memory at fork time on Linux.
PEAK_RSS = "print('RSS', next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')))"


@dataclass
class BenchConfig:
    calls: int = 300  # batch-1 calls timed (>= 200)
    repeats: int = 5  # batch-256 calls timed
    cold_runs: int = 3  # fresh processes per format
    fid: bool = True
    fid_n: int = 2000
    data_dir: Optional[str] = None
    threads: Optional[int] = None  # onnxruntime intra-op threads (None: all cores)

    def validate(self) -> "BenchConfig":
        if self.calls < 200:
            raise GantoolError(f"calls must be >= 200 for a stable median, got {self.calls}")
        if self.repeats < 1 or self.cold_runs < 1 or self.fid_n < 2:
            raise GantoolError("repeats and cold runs must be >= 1, fid n >= 2")
        return self


# ----- measuring helpers (also used by benchmarks/runtime_speed.py) -------------------------
def median_seconds(fn: Callable[[], Any], calls: int, warmup: int = 20) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def fresh_process(code: str, runs: int = 3) -> tuple[float, float]:
    """Median wall time of `python -c code` (interpreter start included) and its median peak RSS (MB).
    `code` must end by printing PEAK_RSS."""
    times, rss = [], []
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        times.append(time.perf_counter() - t)
        if proc.returncode != 0:
            raise GantoolError(f"cold-start process failed: {proc.stderr.strip().splitlines()[-1][:200]}")
        rss.append(int(proc.stdout.split("RSS")[-1].split()[0]) / 1024)
    return statistics.median(times), statistics.median(rss)


# ----- one runner per format ---------------------------------------------------------------
@dataclass
class Format:
    name: str
    path: Path
    size_bytes: int
    run: Callable[[np.ndarray, Optional[np.ndarray]], np.ndarray]  # (z, labels) -> uint8 images
    cold_code: str


def _cold(body: str) -> str:
    return textwrap.dedent(body) + "\n" + PEAK_RSS


def eager_format(ckpt_path: Path, conditional: bool) -> Format:
    import torch

    from gantool.toolkit.checkpoint import generator_from_checkpoint, load_checkpoint
    from gantool.toolkit.metrics.evaluate import torch_sampler

    ckpt = load_checkpoint(ckpt_path)
    G = generator_from_checkpoint(ckpt)
    size = sum(t.numel() * t.element_size() for t in G.state_dict().values())
    latent = ckpt["model_config"]["latent_dim"]
    label = "torch.zeros(n, dtype=torch.long)" if conditional else "None"
    code = _cold(f"""
        import torch
        from gantool.toolkit.checkpoint import generator_from_checkpoint, load_checkpoint
        G = generator_from_checkpoint(load_checkpoint({str(ckpt_path)!r}))
        with torch.inference_mode():
            for n in (1, 256):
                G(torch.randn(n, {latent}), {label})
    """)
    sampler = torch_sampler(G)

    def run(z, labels):
        with torch.inference_mode():
            return sampler(z, labels)

    return Format("pytorch eager", ckpt_path, size, run, code)


def torchscript_format(path: Path, latent: int, conditional: bool) -> Format:
    import torch

    from gantool.runtime.sampler import to_uint8

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        module = torch.jit.load(str(path)).eval()

    def run(z, labels):
        args = [torch.from_numpy(z)] + ([torch.from_numpy(labels)] if labels is not None else [])
        with torch.inference_mode():
            return to_uint8(module(*args).numpy())  # [0, 1] pixels, as the runtime rounds them

    label = ", torch.zeros(n, dtype=torch.long)" if conditional else ""
    code = _cold(f"""
        import warnings, torch
        warnings.filterwarnings("ignore")
        m = torch.jit.load({str(path)!r})
        with torch.inference_mode():
            for n in (1, 256):
                m(torch.randn(n, {latent}){label})
    """)
    return Format("torchscript", path, path.stat().st_size, run, code)


def onnx_format(path: Path, threads: Optional[int]) -> Format:
    from gantool.runtime import Sampler

    sampler = Sampler(path, threads=threads)
    variant = sampler.metadata.get("variant", "fp32")
    code = _cold(f"""
        from gantool.runtime import Sampler
        s = Sampler({str(path)!r}, threads={threads!r})
        s.sample(1, seed=0)
        s.sample(256, seed=0)
    """)
    return Format(f"onnx {variant}", path, path.stat().st_size, sampler.generate, code)


# ----- the benchmark -------------------------------------------------------------------------
def resolve_source(source: str | os.PathLike, workdir: Path) -> tuple[Path, dict[str, Path]]:
    """(checkpoint, {kind: file}) for a run dir (exported here, all variants) or an export dir."""
    from gantool.export.config import ExportConfig
    from gantool.export.exporter import MANIFEST, export
    from gantool.toolkit.checkpoint import resolve_checkpoint

    src = Path(source)
    manifest_path = src / MANIFEST
    if src.is_dir() and manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
        files = {e["kind"]: src / name for name, e in manifest["files"].items() if not e.get("failed")}
        return Path(manifest["checkpoint"]["path"]), files
    ckpt = resolve_checkpoint(src)
    result = export(ckpt, ExportConfig(out_dir=str(workdir / "export"), fp16=True, int8=True))
    return ckpt, result.files


def bench(source: str | os.PathLike, cfg: BenchConfig, progress: bool = True) -> dict[str, Any]:
    from gantool.runtime.latents import cycle_labels, latents
    from gantool.toolkit.checkpoint import load_checkpoint
    from gantool.toolkit.metrics.evaluate import Evaluator, generated_images

    cfg.validate()
    with tempfile.TemporaryDirectory() as tmp:
        ckpt_path, files = resolve_source(source, Path(tmp))
        ckpt = load_checkpoint(ckpt_path)
        model = ckpt["model_config"]
        k, latent = model["num_classes"], model["latent_dim"]
        evaluator = None
        if cfg.fid:
            train_cfg = ckpt["train_config"]
            evaluator = Evaluator(train_cfg["dataset"], cfg.data_dir or train_cfg.get("data_dir"), progress=progress)
        formats = [eager_format(ckpt_path, k > 0)]
        if "torchscript" in files:
            formats.append(torchscript_format(files["torchscript"], latent, k > 0))
        formats += [onnx_format(files[kind], cfg.threads) for kind in ("onnx", "fp16", "int8") if kind in files]
        z1, z256 = latents(1, latent, 0), latents(256, latent, 1)
        l1, l256 = (cycle_labels(1, k), cycle_labels(256, k)) if k else (None, None)
        rows = []
        for f in formats:
            if progress:
                print(f"… {f.name}", file=sys.stderr)
            latency = median_seconds(lambda: f.run(z1, l1), cfg.calls)
            batch = median_seconds(lambda: f.run(z256, l256), cfg.repeats, warmup=2)
            cold, rss = fresh_process(f.cold_code, cfg.cold_runs)
            row = {"format": f.name, "file": f.path.name, "size_mb": f.size_bytes / 1e6,
                   "latency_ms": latency * 1e3, "throughput_ips": 256 / batch, "cold_start_s": cold,
                   "peak_rss_mb": rss}
            if evaluator is not None:
                images, labels = generated_images(f.run, cfg.fid_n, latent, k, seed=0)
                row["fid"] = evaluator.score(images, labels, pr_samples=min(cfg.fid_n, 2000))["fid"]
            rows.append(row)
        if evaluator is not None:
            for row in rows:
                row["fid_change"] = row["fid"] - rows[0]["fid"]
    return {"model": model["arch"], "conditional": k > 0, "checkpoint": str(ckpt_path), "rows": rows,
            "config": asdict(cfg)}


def markdown(result: dict[str, Any]) -> str:
    has_fid = "fid" in result["rows"][0]
    head = ["format", "file", "size (MB)", "batch-1 latency (ms)", "batch-256 (img/s)", "cold start (s)",
            "peak RSS (MB)"] + (["FID", "ΔFID vs eager"] if has_fid else [])
    lines = [f"**{result['model']}** ({'conditional' if result['conditional'] else 'unconditional'}) "
             f"— {result['checkpoint']}", "", "| " + " | ".join(head) + " |",
             "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    for r in result["rows"]:
        cells = [r["format"], r["file"], f"{r['size_mb']:.2f}", f"{r['latency_ms']:.3f}",
                 f"{r['throughput_ips']:.0f}", f"{r['cold_start_s']:.2f}", f"{r['peak_rss_mb']:.0f}"]
        if has_fid:
            cells += [f"{r['fid']:.2f}", f"{r['fid_change']:+.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
