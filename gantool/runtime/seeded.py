"""Seeded latents: one int64 seed per image -> a standard-normal latent, the same in every runtime.

A seeded model (`gantool export --seeded`) computes these inside its ONNX graph with standard
integer and float ops, so onnxruntime in Python, Node.js and the browser, onnx.reference and this
numpy reference all give the same latents for a seed. The algorithm, complete:

    M = 2**31 - 1                                   # every integer below stays in [0, 2**31)
    mix(x):  x ^= x >> 16;  x = (x * 0x045D9F3B) & M
             x ^= x >> 15;  x = (x * 0x2C1B3C6D) & M
             x ^= x >> 16;  return x
    key(s):  s = s & (2**63 - 1)                                          # s: the image's int64 seed (>= 0)
             mix((s & M) ^ mix(((s >> 31) & M) ^ mix(s >> 62)))
    for i in 0 .. 2*D-1:   x_i = mix(key(s) ^ ((i + 1) * 0x9E3779B1 & M))
                           u_i = (x_i + 0.5) / 2**31                      # float64, in (0, 1)
    z_j = float32( sqrt(-2 ln u_j) * cos(2 pi u_{D+j}) )   for j in 0 .. D-1   (Box-Muller, float64)

Products of two 31-bit numbers fit in int64, so no runtime needs unsigned or 64-bit-overflowing
arithmetic; right shifts of non-negative numbers are floor divisions by 2**k. The maths is float64
up to the final cast, where runtimes' log/cos differ by an ulp at most, which the cast to float32
absorbs. With truncation T > 0, each value with |z| > T is replaced by the first of up to
TRUNCATION_ROUNDS - 1 more candidates (counter i + r * 2D) within [-T, T], else clamped to ±T.
"""

from __future__ import annotations

import numpy as np

M31 = (1 << 31) - 1
MUL1, MUL2, GOLDEN = 0x045D9F3B, 0x2C1B3C6D, 0x9E3779B1
TRUNCATION_ROUNDS = 4


def mix(x: np.ndarray) -> np.ndarray:
    """A 31-bit integer hash (xorshift-multiply, after Wellons' lowbias32), in int64."""
    x = x ^ (x >> 16)
    x = (x * MUL1) & M31
    x = x ^ (x >> 15)
    x = (x * MUL2) & M31
    return x ^ (x >> 16)


def seed_keys(seeds: np.ndarray) -> np.ndarray:
    """(N,) int64 seeds in [0, 2**63) -> (N,) int64 keys in [0, 2**31)."""
    s = np.asarray(seeds, dtype=np.int64) & np.int64((1 << 63) - 1)  # as the graph does: no negative values
    return mix((s & M31) ^ mix(((s >> 31) & M31) ^ mix(s >> 62)))


def counters(count: int, start: int = 0) -> np.ndarray:
    """(count,) int64: ((i + 1) * GOLDEN) & M for i = start .. start + count - 1."""
    i = np.arange(start, start + count, dtype=np.int64)
    return ((i + 1) * GOLDEN) & M31


def seeded_latents(seeds: np.ndarray, latent_dim: int, truncation: float | None = None) -> np.ndarray:
    """(N, latent_dim) float32 latents for (N,) int64 seeds (see the module docstring)."""
    keys = seed_keys(seeds)[:, None]  # (N, 1)
    z = _box_muller(keys, latent_dim, 0)
    if truncation is not None and truncation > 0:
        t = np.float32(truncation)
        for r in range(1, TRUNCATION_ROUNDS):
            candidate = _box_muller(keys, latent_dim, r * 2 * latent_dim)
            z = np.where((np.abs(z) > t) & (np.abs(candidate) <= t), candidate, z)
        z = np.clip(z, -t, t)
    return z


def _box_muller(keys: np.ndarray, d: int, start: int) -> np.ndarray:
    x = mix(keys ^ counters(2 * d, start)[None, :])  # (N, 2D)
    u = (x.astype(np.float64) + 0.5) * (1.0 / 2**31)
    z = np.sqrt(-2.0 * np.log(u[:, :d])) * np.cos(2.0 * np.pi * u[:, d:])
    return z.astype(np.float32)
