"""The onnxruntime backend's batch split, measured: one call with onnxruntime's own threads against the
same batch split across the cores (one single-threaded session called from a thread per core on its
share, as gantool.runtime.onnx does from PARALLEL_MIN_ROWS images per core), per batch size.

    python benchmarks/batch_split.py [--models dcgan,nano] [--out benchmarks/results/batch_split.md]

For each size (a short training: weights do not change speed), the fp32 and int8 files, batch sizes
8 to 256, interleaved; the split's pixels are checked equal to the one call's first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from gantool.assess.timing import median_seconds

sys.path.insert(0, str(Path(__file__).parent))
from int8_forms import export_run  # noqa: E402
from precision_quality import cpu_model  # noqa: E402

BATCHES = (8, 16, 32, 64, 128, 256)
BLOCKS = 5


def measure(path: Path) -> list[tuple[int, float, float]]:
    from gantool.runtime.onnx import usable_cores
    from gantool.runtime.session import open_session

    whole_session, lane = open_session(path), open_session(path, threads=1)
    parts = usable_cores()
    pool = ThreadPoolExecutor(parts)
    latent = whole_session.get_inputs()[0].shape[1]
    rng = np.random.default_rng(0)
    rows = []
    for n in BATCHES:
        feeds = {"z": rng.standard_normal((n, latent), dtype=np.float32), "label": np.arange(n) % 10}
        bounds = np.linspace(0, n, parts + 1).astype(int)
        shares = [{k: v[a:b] for k, v in feeds.items()} for a, b in zip(bounds[:-1], bounds[1:], strict=True)]

        def whole(feeds=feeds):
            return whole_session.run(None, feeds)[0]

        def split(shares=shares):
            return np.concatenate([f.result()[0] for f in [pool.submit(lane.run, None, s) for s in shares]])

        if not np.array_equal(whole(), split()):
            raise SystemExit(f"{path.name}, batch {n}: the split's pixels differ from one call's")
        times: dict[str, list[float]] = {"whole": [], "split": []}
        for _ in range(BLOCKS):
            times["whole"].append(median_seconds(whole, 8, warmup=2))
            times["split"].append(median_seconds(split, 8, warmup=2))
        rows.append((n, statistics.median(times["whole"]), statistics.median(times["split"])))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="dcgan,nano")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    lines = [
        f"Batch split, {cpu_model()}, {os.cpu_count()} cores; {BLOCKS} interleaved blocks, medians; the "
        "split's pixels checked equal to one call's first.",
        "",
        "| model | file | batch | one call (img/s) | split across the cores (img/s) | split vs one call |",
        "|---|---|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            export_dir = export_run(Path(tmp), name)
            for file in ("model.onnx", "model.int8.onnx"):
                for n, whole, split in measure(export_dir / file):
                    speeds = f"{n / whole:,.0f} | {n / split:,.0f} | {whole / split:.2f}x"
                    lines.append(f"| {name} | {file} | {n} | {speeds} |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
