"""What a short run shows: the sample grids of epochs 1, 2, 5 and 15 side by side, with the time each took.

    python benchmarks/short_run.py [--run-dir RUN] [--out benchmarks/results/short_run.png]

Without --run-dir it trains `gantool train --dataset mnist-sample --epochs 15 --seed 0` (the default
recipe, conditional: a row per digit) into a temporary folder. The grids are the ones training
itself writes (RUN/samples/epoch_NNN.png: the EMA generator on fixed latents), so the strip is what
a user sees in their run dir. Prints the elapsed training time at each shown epoch (metrics.jsonl).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw

EPOCHS = (1, 2, 5, 15)
ROOT = Path(__file__).resolve().parents[1]


def strip(run: Path, out: Path) -> list[str]:
    history = {h["epoch"]: h for h in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())}
    grids = [Image.open(run / "samples" / f"epoch_{e:03d}.png").convert("L") for e in EPOCHS]
    w, h = grids[0].size
    canvas = Image.new("L", (len(grids) * (w + 8) - 8, h + 22), 255)
    draw = ImageDraw.Draw(canvas)
    lines = []
    for i, (epoch, grid) in enumerate(zip(EPOCHS, grids, strict=True)):
        canvas.paste(grid, (i * (w + 8), 22))
        t = history[epoch]["elapsed_s"]
        draw.text((i * (w + 8) + 4, 4), f"epoch {epoch} ({history[epoch]['step']} steps, {t:.0f} s)", fill=0)
        lines.append(f"epoch {epoch}: step {history[epoch]['step']}, {t:.0f} s")
    canvas.save(out)
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "short_run.png")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = args.run_dir
        if run is None:
            run = Path(tmp) / "run"
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "gantool",
                    "train",
                    "--dataset",
                    "mnist-sample",
                    "--epochs",
                    str(max(EPOCHS)),
                    "--seed",
                    "0",
                    "--run-dir",
                    str(run),
                    "--quiet",
                ],
                check=True,
            )
        for line in strip(run, args.out):
            print(line)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
