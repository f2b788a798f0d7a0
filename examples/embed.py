"""Embed gantool's sampler: load an exported generator, sample digits, save a grid (no torch)."""

import sys

from gantool.runtime import Sampler

model = sys.argv[1] if len(sys.argv) > 1 else None  # None: the pretrained model inside gantool
out = sys.argv[2] if len(sys.argv) > 2 else "embed.png"
try:
    sampler = Sampler(model, threads=1)  # reads latent size, classes, shapes from the file
    labels = [d for d in range(sampler.num_classes) for _ in range(8)] or None  # a row per digit
    images = sampler.sample(len(labels) if labels else 64, seed=0, labels=labels)  # (N, 28, 28) uint8
    sampler.grid(images, nrow=8).save(out)
except (ValueError, OSError) as e:  # gantool's errors are ValueErrors with a one-line message
    sys.exit(f"error: {e}")
print(f"wrote {out}: {len(images)} digits from {sampler.path}")
