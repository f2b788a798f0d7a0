"""Sample quality on a wall-clock budget: gantool's default recipe vs two plain baselines.

    python benchmarks/quality.py --minutes 10 --data-dir ../shared/data/mnist \
        [--candidates] [--out benchmarks/results/quality.md]

Everything trains on the offline 5k MNIST sample (mnist-sample) on this CPU for the same
budget, then is scored with gantool's own feature network on N seeded samples against
the real MNIST test split: FID, class coverage, precision, recall. The FID floor is real
training digits against the test digits (same features, same sample size).

Baselines, written here as plain loops (the notebooks gantool replaces):
  fc-gan  G 100-256-512-1024-784 ReLU/Tanh, D 784-2048-1024-512-256-1 ReLU, dropout 0.3,
          BCE, Adam 1e-4, batch 32
  dcgan   64-d noise; G ConvT 64->256 k3 s2, 256->128 k4 s1, 128->64 k3 s2, 64->1 k4 s2,
          BN+ReLU, Tanh; D Conv 1->16 k3 s2, 16->32 k5 s2, 32->64 k5 s2, BN+LeakyReLU(0.2),
          linear logit; BCE-with-logits, Adam 2e-4 betas (0.5, 0.99), rotation ±20°, batch 128
Baselines are sampled in eval and train mode (BatchNorm) and the better FID is kept.
`--candidates` also trains one-change variants of the default recipe (CANDIDATES) on the
same budget: hinge+SN, DiffAugment, no R1, no EMA, mlp, unconditional.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from gantool.toolkit import ModelConfig, TrainConfig, train
from gantool.toolkit.augment import random_rotate
from gantool.toolkit.data import load_dataset
from gantool.toolkit.inference import TorchGenerator, model_metadata, open_checkpoint, to_pixels
from gantool.toolkit.metrics.evaluator import Evaluator, generated_images

sys.path.insert(0, str(Path(__file__).parent))
from report import write_section  # noqa: E402

# Variants of the default recipe (conditional DCGAN, BCE, BatchNorm critic, R1 gamma 1,
# EMA, no augmentation), each changing one thing, measured at the same budget (`--candidates`).
CANDIDATES: dict[str, dict] = {
    "hinge loss, spectral-norm critic": {"model": {"d_norm": "spectral"}, "loss": "hinge"},
    "+ DiffAugment (translation, cutout)": {"diffaug": "translation,cutout"},
    "no R1 penalty": {"r1_gamma": 0.0},
    "no EMA": {"ema": False},
    "mlp generator and critic": {"model": {"arch": "mlp"}},
    "unconditional": {"model": {"num_classes": 0}},
}


def recipe_config(minutes: float, run_dir: Path, overrides: dict | None = None) -> TrainConfig:
    """`gantool train --dataset mnist-sample --minutes M`: the defaults, plus overrides."""
    cfg = TrainConfig(dataset="mnist-sample", minutes=minutes, run_dir=str(run_dir), device="cpu")
    for key, value in (overrides or {}).items():
        if key == "model":
            cfg.model = dataclasses.replace(cfg.model, **value)
        else:
            setattr(cfg, key, value)
    return cfg


def run_recipe(name, minutes, workdir, evaluator, n, overrides=None) -> dict:
    cfg = recipe_config(minutes, workdir / name.replace(" ", "_").replace(",", ""), overrides)
    start = time.perf_counter()
    result = train(cfg, progress=False)
    wall = time.perf_counter() - start
    images, labels = generated_images(open_checkpoint(cfg.run_dir), n, seed=0)
    scores = evaluator.score(images, labels)
    return {
        "name": name,
        **scores.to_dict(),
        "steps": result.steps,
        "images_per_s": result.steps * cfg.batch_size / wall,
    }


# ----- baselines (plain PyTorch, as the notebooks write them) -----------------------------
class FCGenerator(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(100, 256),
            nn.ReLU(),
            nn.Linear(256, 512),
            nn.ReLU(),
            nn.Linear(512, 1024),
            nn.ReLU(),
            nn.Linear(1024, 784),
            nn.Tanh(),
        )
        self.latent_dim = 100

    def forward(self, z, label=None):
        return self.net(z).view(-1, 1, 28, 28)


class FCDiscriminator(nn.Module):
    def __init__(self):
        super().__init__()
        dims = [784, 2048, 1024, 512, 256]
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(dims, dims[1:], strict=False):
            layers += [nn.Linear(a, b), nn.ReLU(), nn.Dropout(0.3)]
        self.net = nn.Sequential(*layers, nn.Linear(256, 1))

    def forward(self, x):
        return self.net(x).squeeze(1)


class NotebookDCGANGenerator(nn.Module):
    def __init__(self):
        super().__init__()
        self.latent_dim = 64
        self.net = nn.Sequential(
            nn.ConvTranspose2d(64, 256, 3, 2),
            nn.BatchNorm2d(256),
            nn.ReLU(),  # 1 -> 3
            nn.ConvTranspose2d(256, 128, 4, 1),
            nn.BatchNorm2d(128),
            nn.ReLU(),  # -> 6
            nn.ConvTranspose2d(128, 64, 3, 2),
            nn.BatchNorm2d(64),
            nn.ReLU(),  # -> 13
            nn.ConvTranspose2d(64, 1, 4, 2),
            nn.Tanh(),
        )  # -> 28

    def forward(self, z, label=None):
        return self.net(z[:, :, None, None])


class NotebookDCGANDiscriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 16, 3, 2),
            nn.BatchNorm2d(16),
            nn.LeakyReLU(0.2),  # 28 -> 13
            nn.Conv2d(16, 32, 5, 2),
            nn.BatchNorm2d(32),
            nn.LeakyReLU(0.2),  # -> 5
            nn.Conv2d(32, 64, 5, 2),
            nn.BatchNorm2d(64),
            nn.LeakyReLU(0.2),  # -> 1
            nn.Flatten(),
            nn.Linear(64, 1),
        )

    def forward(self, x):
        return self.net(x).squeeze(1)


def run_baseline(name, minutes, images_u8, evaluator, n, seed=0) -> dict:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    if name == "fc-gan":
        G, D, lr, betas, batch, rotate = FCGenerator(), FCDiscriminator(), 1e-4, (0.9, 0.999), 32, 0.0
    else:
        G, D, lr, betas, batch, rotate = (
            NotebookDCGANGenerator(),
            NotebookDCGANDiscriminator(),
            2e-4,
            (0.5, 0.99),
            128,
            20.0,
        )
    opt_g, opt_d = torch.optim.Adam(G.parameters(), lr, betas=betas), torch.optim.Adam(D.parameters(), lr, betas=betas)
    data = torch.from_numpy(images_u8).unsqueeze(1).float() / 127.5 - 1
    bce = F.binary_cross_entropy_with_logits
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < minutes * 60:
        perm = torch.randperm(len(data), generator=gen)
        for i in range(len(data) // batch):
            real = data[perm[i * batch : (i + 1) * batch]]
            if rotate:
                real = random_rotate(real, rotate, gen)
            fake = G(torch.randn(batch, G.latent_dim, generator=gen))
            opt_d.zero_grad()
            lr_, lf = D(real), D(fake.detach())
            (bce(lr_, torch.ones_like(lr_)) + bce(lf, torch.zeros_like(lf))).backward()
            opt_d.step()
            opt_g.zero_grad()
            lg = D(fake)
            bce(lg, torch.ones_like(lg)).backward()
            opt_g.step()
            steps += 1
            if time.perf_counter() - start >= minutes * 60:
                break
    wall = time.perf_counter() - start
    best = None
    for mode in ("eval", "train"):
        G.train(mode == "train")
        meta = model_metadata(ModelConfig(latent_dim=G.latent_dim, num_classes=0))
        imgs, _ = generated_images(TorchGenerator(to_pixels(G, conditional=False), meta), n, seed=0)
        s = evaluator.score(imgs, None).to_dict()
        if best is None or s["fid"] < best["fid"]:
            best = {**s, "sampled_in": mode}
    return {"name": f"baseline: {name}", **best, "steps": steps, "images_per_s": steps * batch / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--n", type=int, default=5000, help="generated samples scored per model")
    parser.add_argument("--data-dir", default="../shared/data/mnist", help="folder with the MNIST test split")
    parser.add_argument("--candidates", action="store_true", help="also train the recipe variants")
    parser.add_argument("--skip-baselines", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(torch.get_num_threads())
    evaluator = Evaluator("mnist-sample", args.data_dir, progress=True)
    floor = evaluator.floor(args.n)
    train_images = load_dataset("mnist-sample").images
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        runs = [("gantool default recipe", None)]
        if args.candidates:
            runs += list(CANDIDATES.items())
        for name, overrides in runs:
            rows.append(run_recipe(name, args.minutes, work, evaluator, args.n, overrides))
            print(_row(rows[-1], floor), flush=True)
        if not args.skip_baselines:
            for name in ("fc-gan", "dcgan"):
                rows.append(run_baseline(name, args.minutes, train_images, evaluator, args.n))
                print(_row(rows[-1], floor), flush=True)
    lines = [
        f"Quality after {args.minutes:g} min of training on mnist-sample (5,000 real digits), CPU "
        f"{platform.machine()} x{torch.get_num_threads()} threads; {args.n} samples vs the MNIST test split, "
        f"gantool feature network (test accuracy {evaluator.extractor.test_accuracy:.4f}).",
        f"FID floor (5,000 real training digits vs test digits): **{floor:.2f}**; target: FID <= 3x floor "
        f"= {3 * floor:.2f}, coverage >= 0.98.",
        "",
        "| run | FID | FID / floor | coverage | precision | recall | steps | images/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ] + [_row(r, floor) for r in rows]
    base = [r["fid"] for r in rows if r["name"].startswith("baseline")]
    recipe = rows[0]["fid"]
    if base:
        lines += [
            "",
            f"Default recipe vs the better baseline: FID {recipe:.2f} vs {min(base):.2f} "
            f"= **{min(base) / recipe:.1f}x lower** (target >= 4x).",
        ]
    table = "\n".join(lines)
    print("\n" + table)
    if args.out:
        write_section(args.out, "quality.py", table)


def _row(r: dict, floor: float) -> str:
    return (
        f"| {r['name']} | {r['fid']:.2f} | {r['fid'] / floor:.2f} | {r['coverage']:.4f} | "
        f"{r['precision']:.3f} | {r['recall']:.3f} | {r['steps']} | {r['images_per_s']:.0f} |"
    )


if __name__ == "__main__":
    main()
