"""Quality and speed of the default recipe in fp32 and in bf16 autocast, on the same wall-clock budget.

    python benchmarks/precision_quality.py [--minutes 10] [--data-dir ../shared/data/mnist]

Trains `gantool train --dataset mnist-sample --minutes M --precision P` for P in fp32 and bf16,
one after the other on this CPU alone (nothing else may run: a busy core changes images/s), then
scores each with `gantool eval` on 10,000 samples against the MNIST test split. Decides whether
`--precision auto` may pick bf16 on CPUs with bf16 units: same quality, more steps.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    """lscpu's model name with its family and model numbers: "AMD EPYC" alone names several CPU kinds
    (Zen 4 is family 25, Zen 5 family 26), and the kind changes between machines."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        fields = {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}
        name = fields["Model name"]
    except (OSError, KeyError):
        return platform.processor() or "unknown CPU"
    ids = ", ".join(f"{k.lower()} {fields[k]}" for k in ("CPU family", "Model") if fields.get(k))
    return f"{name} ({ids})" if ids else name


def run(precision: str, minutes: float, data_dir: str, work: Path) -> dict:
    run_dir = work / precision
    gantool = [sys.executable, "-m", "gantool"]
    subprocess.run(
        gantool
        + [
            "train",
            "--dataset",
            "mnist-sample",
            "--minutes",
            str(minutes),
            "--precision",
            precision,
            "--seed",
            "0",
            "--run-dir",
            str(run_dir),
            "--quiet",
        ],
        check=True,
    )
    history = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    out = work / f"eval-{precision}.json"
    subprocess.run(
        gantool + ["eval", str(run_dir), "--n", "10000", "--data-dir", data_dir, "--json", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    score = json.loads(out.read_text())
    return {
        **score,
        "precision": precision,
        "steps": history[-1]["step"],
        "epochs": history[-1]["epoch"],
        "images_per_s": sum(h["images_per_s"] for h in history) / len(history),
    }  # "precision" of P/R dropped


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "precision_quality.md"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run(p, args.minutes, args.data_dir, Path(tmp)) for p in ("fp32", "bf16")]
    lines = [
        f"CPU: {cpu_model()} ({platform.machine()}), alone; default recipe, `--minutes {args.minutes:g}`, "
        "mnist-sample, seed 0; `gantool eval` on 10,000 samples against the 10,000 MNIST test digits.",
        "",
        "| precision | steps | epochs | images/s | FID | FID floor | × floor | coverage | class accuracy |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        acc = r.get("class_accuracy", {}).get("overall", float("nan"))
        lines.append(
            f"| {r['precision']} | {r['steps']} | {r['epochs']} | {r['images_per_s']:.0f} | {r['fid']:.2f} | "
            f"{r['fid_floor']:.2f} | {r['fid'] / r['fid_floor']:.2f} | {r['coverage']:.3f} | {acc:.3f} |"
        )
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
