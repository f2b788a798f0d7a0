"""Training throughput by precision and CPU load: fp32 vs bf16 autocast, alone vs beside one busy
core, all cores vs the free cores (`--threads` unset), as ratios measured interleaved in one run.

    python benchmarks/train_speed.py [--rounds 3] [--flags "..."] [--out benchmarks/results/train_speed.md]

Each measurement is a fresh `gantool train` process (the default recipe plus `--flags`, mnist-sample,
2 epochs); its second epoch's images/s is taken (the first warms up). The busy core
is a plain `while True: pass` process started before and stopped after. Targets (issue: training
that uses the hardware it runs on): bf16 >= 1.5x fp32 where the CPU has bf16 units; with one core
busy, >= 40% of the throughput alone (the fair share of 2 cores is 50%).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from precision_quality import cpu_model  # noqa: E402
from report import write_section  # noqa: E402

CONFIGS = [  # (name, precision, threads or None for the free cores, busy neighbour)
    ("fp32, all cores, alone", "fp32", os.cpu_count(), False),
    ("bf16, all cores, alone", "bf16", os.cpu_count(), False),
    ("fp32, all cores, one core busy", "fp32", os.cpu_count(), True),
    ("fp32, free cores, one core busy", "fp32", None, True),
    ("bf16, all cores, one core busy", "bf16", os.cpu_count(), True),
    ("bf16, free cores, one core busy", "bf16", None, True),
]


def measure(precision: str, threads, busy: bool, flags: list[str], work: Path) -> float:
    run_dir = work / f"{precision}-{threads}-{busy}-{len(list(work.iterdir()))}"
    neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        args = [
            sys.executable,
            "-m",
            "gantool",
            "train",
            "--dataset",
            "mnist-sample",
            "--epochs",
            "2",
            "--precision",
            precision,
            "--run-dir",
            str(run_dir),
            "--quiet",
            *flags,
        ]
        subprocess.run(args + (["--threads", str(threads)] if threads else []), check=True, stdout=subprocess.DEVNULL)
    finally:
        if neighbour is not None:
            neighbour.kill()
            neighbour.wait()
    history = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return history[-1]["images_per_s"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--flags", default="", help="gantool train flags added to the defaults")
    ap.add_argument(
        "--out",
        help="write the table as this script's section of FILE",
        default=str(ROOT / "benchmarks" / "results" / "train_speed.md"),
    )
    args = ap.parse_args()
    runs: dict[str, list[float]] = {name: [] for name, *_ in CONFIGS}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):  # interleaved: drift hits every configuration alike
            for name, precision, threads, busy in CONFIGS:
                runs[name].append(measure(precision, threads, busy, shlex.split(args.flags), Path(tmp)))
                print(f"{name}: {runs[name][-1]:.0f} img/s", flush=True)
    med = {k: statistics.median(v) for k, v in runs.items()}
    alone32, alone16 = med["fp32, all cores, alone"], med["bf16, all cores, alone"]
    flags_note = f" plus `{args.flags}`" if args.flags else ""
    lines = [
        f"CPU: {cpu_model()}, {os.cpu_count()} cores; `gantool train` defaults{flags_note}, "
        f"images/s of the 2nd epoch, median of {args.rounds} interleaved rounds.",
        "",
        "| configuration | images/s | vs alone (same precision) |",
        "|---|---:|---:|",
    ]
    for name, *_ in CONFIGS:
        ref = alone16 if name.startswith("bf16") else alone32
        lines.append(f"| {name} | {med[name]:.0f} | {med[name] / ref:.0%} |")
    per_round = [b / a for a, b in zip(runs["fp32, all cores, alone"], runs["bf16, all cores, alone"], strict=True)]
    lines += [
        "",
        f"- bf16 / fp32, alone: **{alone16 / alone32:.2f}x** (target >= 1.5x where the CPU has bf16 units); "
        f"round by round {', '.join(f'{r:.2f}x' for r in per_round)}",
        f"- one core busy, free cores: fp32 **{med['fp32, free cores, one core busy'] / alone32:.0%}**, bf16 "
        f"**{med['bf16, free cores, one core busy'] / alone16:.0%}** of alone (target >= 40%); all cores: "
        f"fp32 {med['fp32, all cores, one core busy'] / alone32:.0%}, bf16 "
        f"{med['bf16, all cores, one core busy'] / alone16:.0%}",
    ]
    text = "\n".join(lines) + "\n"
    write_section(Path(args.out), "train_speed.py", text)  # the earlier runs below it stay
    print(text)


if __name__ == "__main__":
    main()
