"""Training throughput: gantool's loop vs a plain PyTorch loop of the same architecture.

    python benchmarks/loop_overhead.py [--epochs 2] [--rounds 3] [--out benchmarks/results/loop_overhead.md]

Both train on the offline 5k MNIST sample at batch 128 on this machine's CPU, one
after the other in interleaved rounds; images/s is images seen / wall time of whole
epochs. gantool's time is Trainer.fit: everything its loop does (EMA update every step,
per epoch a sample grid, metrics and an atomic checkpoint, the loss plot), with the
one-time set-up (data load, model build) left out as it is for the plain loop, which
does only the optimisation steps. Target: gantool within 10% of the plain loop.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from gantool.toolkit import ModelConfig, TrainConfig, create_models
from gantool.toolkit.data import load_dataset
from gantool.toolkit.distributed import DistInfo
from gantool.toolkit.trainer import Trainer


def plain_loop(arch: str, images: torch.Tensor, epochs: int, batch: int, seed: int) -> float:
    """The loop a person writes by hand: Adam, non-saturating BCE, separate real/fake D batches."""
    torch.manual_seed(seed)
    G, D = create_models(ModelConfig(arch=arch, num_classes=0))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    n = len(images)
    start = time.perf_counter()
    seen = 0
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(n // batch):
            real = images[perm[i * batch : (i + 1) * batch]].unsqueeze(1).float() / 127.5 - 1
            z = torch.randn(batch, 64)
            fake = G(z)
            opt_d.zero_grad()
            lr, lf = D(real), D(fake.detach())
            loss_d = F.binary_cross_entropy_with_logits(lr, torch.ones_like(lr)) + F.binary_cross_entropy_with_logits(
                lf, torch.zeros_like(lf)
            )
            loss_d.backward()
            opt_d.step()
            opt_g.zero_grad()
            lg = D(fake)
            F.binary_cross_entropy_with_logits(lg, torch.ones_like(lg)).backward()
            opt_g.step()
            seen += batch
    return seen / (time.perf_counter() - start)


def gantool_loop(arch: str, data, epochs: int, batch: int, seed: int, workdir: Path) -> float:
    """gantool's Trainer.fit: every step and every per-epoch output, setup (model build) excluded."""
    cfg = TrainConfig(
        model=ModelConfig(arch=arch, num_classes=0),
        dataset="mnist-sample",
        epochs=epochs,
        batch_size=batch,
        seed=seed,
        device="cpu",
        run_dir=str(workdir / f"{arch}-{seed}-{time.time_ns()}"),
    )
    trainer = Trainer(cfg.validate(), data, DistInfo())
    start = time.perf_counter()
    result = trainer.fit(progress=False)
    wall = time.perf_counter() - start
    return result.steps * batch / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--out", type=Path, default=None, help="also write the table (Markdown) here")
    args = parser.parse_args()
    data = load_dataset("mnist-sample")
    images = torch.from_numpy(data.images)
    import matplotlib.pyplot  # noqa: F401  (a one-time import, not a cost of the loop)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for arch in ("mlp", "dcgan"):
            plain, ours = [], []
            for r in range(args.rounds):  # interleaved, so drift hits both alike
                plain.append(plain_loop(arch, images, args.epochs, args.batch, seed=r))
                ours.append(gantool_loop(arch, data, args.epochs, args.batch, r, Path(tmp)))
            p, o = statistics.median(plain), statistics.median(ours)
            rows.append((arch, p, o, (o - p) / p * 100))
            print(f"{arch}: plain {p:.0f} img/s, gantool {o:.0f} img/s", flush=True)
    lines = [
        f"Training throughput, batch {args.batch}, {args.epochs} epochs x {args.rounds} interleaved rounds (median), "
        f"mnist-sample, CPU: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}",
        "",
        "| model | plain PyTorch loop (img/s) | gantool train (img/s) | difference |",
        "|---|---:|---:|---:|",
    ]
    lines += [f"| {a} | {p:.0f} | {o:.0f} | {d:+.1f}% |" for a, p, o, d in rows]
    table = "\n".join(lines)
    print("\n" + table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
