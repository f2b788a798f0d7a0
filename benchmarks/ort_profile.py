"""Where onnxruntime spends a call of the default files: its own profiler, per operator type.

    python benchmarks/ort_profile.py [--models dcgan,nano,small] [--out benchmarks/results/ort_profile.md]

Trains the conditional DCGAN of each size briefly (weights do not change speed), exports model.onnx and
model.int8.onnx, and runs each in a profiling session of the runtime's own options
(gantool.runtime.session) at batch 1 and batch 256. For each operator type of the optimized graph
(the kernels onnxruntime actually runs: NCHWc convolutions, ReorderInput/Output layout changes,
QLinear* integer kernels, Transposes, DepthToSpace, ...) it reports the kernels per call, the time
per call and the share of the whole run. Nothing else may run meanwhile.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from precision_quality import cpu_model  # noqa: E402
from runtime_speed import MODELS  # noqa: E402

FILES = ("model.onnx", "model.int8.onnx")
CALLS = {1: 300, 256: 30}
WARMUP = 10


def make_export(workdir: Path, name: str) -> Path:
    from gantool.export import ExportConfig, export
    from gantool.toolkit import TrainConfig, train
    from gantool.toolkit.config import model_config

    arch, size = MODELS[name]
    run = workdir / name
    train(
        TrainConfig(
            model=model_config(size, arch=arch, num_classes=10),
            dataset="mnist-sample",
            epochs=1,
            minutes=0.05,
            device="cpu",
            run_dir=str(run),
        ),
        progress=False,
    )
    export(
        run, ExportConfig(out_dir=str(run / "export"), formats=("onnx",), variants=("int8",), fid=False), progress=False
    )
    return run / "export"


def profile(path: Path, batch: int, workdir: Path) -> tuple[dict[str, dict[str, float]], float]:
    """op type -> {kernels, ms} per call, and the mean model run (ms), from onnxruntime's profile."""
    from gantool.runtime.session import open_session

    session = open_session(path, profile_prefix=workdir / f"{path.stem}.b{batch}")
    rng = np.random.default_rng(0)
    feeds = {
        "z": rng.standard_normal((batch, session.get_inputs()[0].shape[1]), dtype=np.float32),
        "label": (np.arange(batch) % 10).astype(np.int64),
    }
    for _ in range(WARMUP + CALLS[batch]):
        session.run(None, feeds)
    events = json.loads(Path(session.end_profiling()).read_text())
    runs = [e["dur"] for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"][WARMUP:]
    per_op: dict[str, dict[str, float]] = defaultdict(lambda: {"kernels": 0.0, "ms": 0.0})
    nodes = [e for e in events if e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time")]
    skip = WARMUP * (len(nodes) // (WARMUP + CALLS[batch]))  # the warm-up calls' kernels come first
    for e in nodes[skip:]:
        op = e["args"].get("op_name", "?")
        per_op[op]["kernels"] += 1 / CALLS[batch]
        per_op[op]["ms"] += e["dur"] / 1e3 / CALLS[batch]
    return dict(per_op), float(np.mean(runs)) / 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="dcgan,nano,small", help=f"comma-separated: {', '.join(MODELS)}")
    parser.add_argument("--out", type=Path, help="write the tables here (markdown)")
    args = parser.parse_args()
    lines = [
        f"CPU: {cpu_model()}; conditional DCGANs (default width 32, nano, small), onnxruntime's profiler, the "
        f"runtime's session options; calls per batch: {CALLS}, after {WARMUP} warm-up calls\n"
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            export_dir = make_export(Path(tmp), name)
            for file in FILES:
                for batch in CALLS:
                    lines += table(name, file, batch, *profile(export_dir / file, batch, Path(tmp)))
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text("# onnxruntime per-operator profile (`benchmarks/ort_profile.py`)\n\n" + text)


def table(name: str, file: str, batch: int, ops: dict[str, dict[str, float]], run_ms: float) -> list[str]:
    kernel_ms = sum(o["ms"] for o in ops.values())
    lines = [
        f"## {name}: {file}, batch {batch}: {run_ms:.3f} ms per run ({batch / run_ms * 1e3:,.0f} img/s); "
        f"kernels {kernel_ms:.3f} ms, the rest ({run_ms - kernel_ms:.3f} ms) is the session's own",
        "",
        "| operator | kernels per run | ms per run | share of run |",
        "|---|---|---|---|",
    ]
    for op, o in sorted(ops.items(), key=lambda kv: -kv[1]["ms"]):
        lines.append(f"| {op} | {o['kernels']:.0f} | {o['ms']:.3f} | {o['ms'] / run_ms:.1%} |")
    return lines + [""]


if __name__ == "__main__":
    main()
