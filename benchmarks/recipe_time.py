"""Time to quality: the current default recipe against a candidate, side by side on this CPU.

    python benchmarks/recipe_time.py [--minutes 10] [--short 4 3]
                                     [--baseline FLAGS [--baseline FLAGS ...]] [--candidate ""]
                                     [--data-dir ../shared/data/mnist]
                                     [--out benchmarks/results/quality.md]

Trains, one after the other on this CPU alone (a busy core changes images/s and so the steps a
budget buys), `gantool train --dataset mnist-sample --seed 0`:
  A: the defaults plus each baseline's flags (by default the recipe issue #21 was filed against:
     fp32, constant learning rates of 2e-4, NCHW) for `--minutes`;
  B: the defaults plus the candidate's flags for `--minutes`, and again for each `--short` budget.
Each is scored by `gantool eval` (10,000 samples against the MNIST test split, gantool's features).
The time-to-FID ratio: if B with a budget of S minutes reaches A's FID at `--minutes`, B gets
there at least minutes/S times faster (issue #21's goal: >= 2.5x, so S <= 4 for 10 minutes).
Memorization: each sample's pixel distance to its nearest training digit, against the same for
real test digits (which are not copies by construction): the share of samples closer to a training
digit than 99% of test digits are (a copy share; ~1% for a generator that copies nothing, target
<= 5%), and the share closer to the training set than to an equally large test set (~50% when
nothing is memorized).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from precision_quality import cpu_model  # noqa: E402
from report import write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MEMO_SAMPLES = 2000


def train_and_score(name: str, flags: list[str], minutes: float, data_dir: str, work: Path) -> dict:
    run_dir = work / name
    gantool = [sys.executable, "-m", "gantool"]
    subprocess.run(
        gantool
        + [
            "train",
            "--dataset",
            "mnist-sample",
            "--minutes",
            str(minutes),
            "--seed",
            "0",
            "--run-dir",
            str(run_dir),
            "--quiet",
            *flags,
        ],
        check=True,
    )
    history = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    out = work / f"eval-{name}.json"
    subprocess.run(
        gantool + ["eval", str(run_dir), "--n", "10000", "--data-dir", data_dir, "--json", str(out)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    score = json.loads(out.read_text())
    return {
        **score,
        "name": name,
        "flags": " ".join(flags) or "(defaults)",
        "minutes": minutes,
        "steps": history[-1]["step"],
        "epochs": history[-1]["epoch"],
        "images_per_s": float(np.median([h["images_per_s"] for h in history])),
        **memorization(run_dir, data_dir),
    }


def memorization(run_dir: Path, data_dir: str) -> dict:
    """Nearest-neighbour pixel distances of samples and of real test digits to the training digits."""
    from gantool.artifacts import open_generator
    from gantool.toolkit.data import load_dataset

    train = load_dataset("mnist-sample").images.reshape(-1, 784).astype(np.float32) / 255  # (5000, 784)
    test_all = load_dataset("mnist", "test", data_dir, download=False).images.reshape(-1, 784).astype(np.float32) / 255
    test = test_all[: len(train)]  # as many test digits as training digits
    probe = test_all[len(train) : len(train) + MEMO_SAMPLES]  # real digits not in `test`
    g = open_generator(run_dir)
    rng = np.random.default_rng(123)
    z = rng.standard_normal((MEMO_SAMPLES, g.latent_dim)).astype(np.float32)
    labels = np.arange(MEMO_SAMPLES) % g.num_classes if g.conditional else None
    samples = g(z, labels).reshape(MEMO_SAMPLES, -1)  # (n, 784) in [0, 1]
    d_train, d_test = nearest(samples, train), nearest(samples, test)
    threshold = np.quantile(nearest(probe, train), 0.01)  # 99% of real unseen digits are farther from train
    return {"copy_share": float((d_train < threshold).mean()), "closer_to_train": float((d_train < d_test).mean())}


def nearest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distance from each row of a to its nearest row of b."""
    sq = (a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None]  # (len(a), len(b))
    return np.sqrt(np.maximum(sq.min(1), 0))


FILED = (
    "--precision fp32 --lr-decay-start 1 --lr-g 2e-4 --lr-d 2e-4 --no-channels-last"  # the defaults when #21 was filed
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--short", type=float, nargs="+", default=[4.0, 3.0], help="B's shorter budgets, in minutes")
    ap.add_argument(
        "--baseline",
        action="append",
        default=None,
        help=f"flags added to the defaults for a baseline run; repeat for several [default: {FILED!r}]",
    )
    ap.add_argument("--candidate", default="", help="B: flags added to the defaults")
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    ap.add_argument("--out", type=Path, default=None, help="write the table as this script's section of FILE")
    args = ap.parse_args()
    baselines = args.baseline or [FILED]
    cand = shlex.split(args.candidate)
    shorts = sorted(args.short, reverse=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bases = [
            train_and_score(
                f"A{i + 1}" if len(baselines) > 1 else "A", shlex.split(f), args.minutes, args.data_dir, work
            )
            for i, f in enumerate(baselines)
        ]
        b = train_and_score("B", cand, args.minutes, args.data_dir, work)
        short = [train_and_score(f"B-{m:g}", cand, m, args.data_dir, work) for m in shorts]
    text = report(bases, b, short, args.minutes)
    print(text)
    if args.out:
        write_section(args.out, "recipe_time.py", text)


def report(bases: list[dict], b: dict, short: list[dict], minutes: float) -> str:
    floor = bases[0]["fid_floor"]
    lines = [
        "## Time to quality: the recipe issue #21 was filed against (A) and the defaults (B), one run "
        "(`benchmarks/recipe_time.py --out benchmarks/results/quality.md`)",
        "",
        f"CPU: {cpu_model()}, alone; `gantool train --dataset mnist-sample --seed 0 --minutes M [flags]`, "
        "scored by `gantool eval` (10,000 samples vs the MNIST test split); memorization on "
        f"{MEMO_SAMPLES:,} samples against the 5,000 training digits.",
        "",
        "| run | flags | minutes | steps | images/s | FID | × floor | coverage | class accuracy | copy share | "
        "closer to train than test |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows = [*bases, b, *short]
    for r in rows:
        acc = r.get("class_accuracy", {}).get("overall", float("nan"))
        lines.append(
            f"| {r['name']} | `{r['flags']}` | {r['minutes']:g} | {r['steps']} | {r['images_per_s']:.0f} | "
            f"{r['fid']:.2f} | {r['fid'] / floor:.2f} | {r['coverage']:.3f} | {acc:.3f} | "
            f"{r['copy_share']:.1%} | {r['closer_to_train']:.1%} |"
        )
    mark = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    acc_b = b.get("class_accuracy", {}).get("overall", float("nan"))
    lines += [
        "",
        f"FID floor {floor:.2f}. B at {minutes:g} min: {b['fid'] / floor:.2f}x the floor (<= 1.2x) "
        f"{mark(b['fid'] / floor <= 1.2)}, coverage {b['coverage']:.3f} (>= 0.98) {mark(b['coverage'] >= 0.98)}, "
        f"class accuracy {acc_b:.3f} (>= 0.97) {mark(acc_b >= 0.97)}; copy share <= 5% "
        f"{mark(max(r['copy_share'] for r in rows) <= 0.05)}.",
    ]
    for a in bases:
        lines.append("")
        lines.append(time_ratio(a, short, minutes))
    return "\n".join(lines) + "\n"


def time_ratio(a: dict, short: list[dict], minutes: float) -> str:
    """Time to A's quality: the shortest budget of B that reaches A's FID at `minutes` gives a ratio
    of at least minutes / budget (B may get there sooner still; a longer budget is not tried)."""
    reached = [r for r in short if r["fid"] <= a["fid"]]
    mark = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    if not reached:
        best = min(short, key=lambda r: r["fid"])
        return (
            f"Time to {a['name']}'s FID {a['fid']:.2f} at {minutes:g} min: no shorter budget of B reached it "
            f"(best {best['fid']:.2f} at {best['minutes']:g} min), so B is less than "
            f"{minutes / max(r['minutes'] for r in short):.1f}x faster (>= 2.5x) NOT met."
        )
    fastest = min(reached, key=lambda r: r["minutes"])
    ratio = minutes / fastest["minutes"]
    return (
        f"Time to {a['name']}'s FID {a['fid']:.2f} at {minutes:g} min: B reaches it within {fastest['minutes']:g} "
        f"min (FID {fastest['fid']:.2f}), so B is at least {ratio:.1f}x faster (>= 2.5x) {mark(ratio >= 2.5)}."
    )


if __name__ == "__main__":
    main()
