"""What `make demo`'s digits are worth, and which 2-minute recipe makes them clean.

    python benchmarks/demo_quality.py [--recipes demo,minutes2,...] [--out benchmarks/results/demo_quality.md]

Each recipe trains the conditional DCGAN on mnist-sample (5,000 real digits) from seed 0, then scores
its EMA generator (PyTorch eager, the checkpoint that export verifies against) on 10,000 samples
against the real MNIST test split (../shared/data/mnist, evaluation only): FID, FID / the real-data
floor, and the share of digits a classifier trained on real digits puts in the class asked for.
Targets (issue #35): >= 98% in the right class and <= 2x the floor, in at most the demo's 2 minutes
of training on this machine. Run it alone on the CPU: the minute budgets count wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from precision_quality import cpu_model  # noqa: E402
from report import write_section  # noqa: E402

# name -> extra `gantool train` options (all: --dataset mnist-sample --seed 0)
RECIPES = {
    "demo-15-epochs": ["--epochs", "15"],
    "minutes-2": ["--minutes", "2"],
    "minutes-2-batch-64": ["--minutes", "2", "--batch-size", "64"],
    "minutes-2-ema-0.995": ["--minutes", "2", "--ema-decay", "0.995"],
    "minutes-2-lr-6e-4": ["--minutes", "2", "--lr-g", "6e-4", "--lr-d", "6e-4"],
}
TARGET_ACCURACY, TARGET_FLOOR = 0.98, 2.0


def score(name: str, options: list[str], work: Path, data_dir: str) -> dict:
    run = work / name
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "gantool",
            "train",
            "--dataset",
            "mnist-sample",
            "--seed",
            "0",
            "--run-dir",
            str(run),
            "--quiet",
            *options,
        ],
        check=True,
    )
    wall = time.perf_counter() - t0
    history = [json.loads(s) for s in (run / "metrics.jsonl").read_text().splitlines()]
    out = run / "eval.json"
    subprocess.run(
        [sys.executable, "-m", "gantool", "eval", str(run), "--n", "10000", "--data-dir", data_dir, "--json", str(out)],
        check=True,
        capture_output=True,
    )
    r = json.loads(out.read_text())
    return {
        "name": name,
        "options": " ".join(options),
        "train_s": history[-1]["elapsed_s"],
        "wall_s": wall,
        "steps": history[-1]["step"],
        "epochs": history[-1]["epoch"],
        "fid": r["fid"],
        "floor": r["fid_floor"],
        "accuracy": r["class_accuracy"]["overall"],
        "precision": history[-1]["precision"],
        "threads": history[-1]["threads"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipes", default=",".join(RECIPES), help="comma-separated names from RECIPES")
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.recipes.split(","):
            rows.append(score(name, RECIPES[name], Path(tmp), args.data_dir))
            print(json.dumps(rows[-1]), flush=True)
    lines = [
        f"`make demo`'s recipe and 2-minute alternatives, {cpu_model()}, {os.cpu_count()} cores, "
        f"{time.strftime('%Y-%m-%d')}, alone on the CPU; seed 0, mnist-sample, EMA generator (eager), 10,000 "
        f"samples vs the MNIST test split. Targets: >= {TARGET_ACCURACY:.0%} in the right class, <= "
        f"{TARGET_FLOOR:g}x the floor, <= 2 min of training.",
        "",
        "| recipe | options | training (s) | steps | arithmetic, threads | FID | × floor | right class | targets |",
        "|---|---|---:|---:|---|---:|---:|---:|---|",
    ]
    for r in rows:
        ok = r["accuracy"] >= TARGET_ACCURACY and r["fid"] / r["floor"] <= TARGET_FLOOR and r["train_s"] <= 125
        lines.append(
            f"| {r['name']} | `{r['options']}` | {r['train_s']:.0f} | {r['steps']} | {r['precision']}, "
            f"{r['threads']} | {r['fid']:.2f} | {r['fid'] / r['floor']:.2f}x | {r['accuracy']:.1%} | "
            f"{'met' if ok else 'not met'} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.out:
        write_section(args.out, "demo_quality.py", table)


if __name__ == "__main__":
    main()
