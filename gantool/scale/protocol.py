"""The digits service's contract, shared by `gantool serve` (Starlette) and `gantool serve --ray`
(Ray Serve): query parsing, one batched model call for many requests, and the response bytes.

GET /digits  n (1..max_n, default 16), digit (conditional models; default 0..K-1 cycled), seed
             (0..2**63-1; random if absent), truncation (> 0), nrow (grid columns), format png|npy.
             The images equal Sampler.sample(n, seed=seed, labels=digit, truncation=truncation).
"""

from __future__ import annotations

import io
import math
import secrets
from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import numpy as np

from gantool.core.errors import GantoolError
from gantool.runtime.latents import MAX_SEED, latents

PARAMS = ("n", "digit", "seed", "truncation", "nrow", "format")


class BadRequest(GantoolError):
    """A query the client must fix: 400 with {"error": message}."""


@dataclass(frozen=True)
class DigitsRequest:
    n: int
    seed: int
    digit: Optional[int]
    truncation: Optional[float]
    nrow: Optional[int]
    format: str  # png | npy


def _integer(params: Mapping[str, str], name: str, default: Optional[int], lo: int, hi: int) -> Optional[int]:
    raw = params.get(name)
    if raw is None:
        return default
    if len(raw) > 24 or not raw.strip().lstrip("+-").isdigit():
        raise BadRequest(f"{name} must be an integer, got {raw[:24]!r}")
    value = int(raw)
    if not lo <= value <= hi:
        raise BadRequest(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def parse_query(params: Mapping[str, str], num_classes: int, max_n: int) -> DigitsRequest:
    """Validate a query (num_classes 0: unconditional) -> DigitsRequest, or BadRequest."""
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise BadRequest(f"unknown parameter(s): {', '.join(u[:20] for u in unknown[:5])}; use {', '.join(PARAMS)}")
    n = _integer(params, "n", 16, 1, max_n) or 16  # never None: it has a default
    digit = _integer(params, "digit", None, 0, max(num_classes - 1, 0))
    if digit is not None and num_classes == 0:
        raise BadRequest("this model is unconditional: digit is not accepted")
    seed = _integer(params, "seed", None, 0, MAX_SEED - max_n)
    truncation = None
    if "truncation" in params:
        try:
            truncation = float(params["truncation"][:32])
        except ValueError:
            truncation = float("nan")
        if not (math.isfinite(truncation) and 0.01 <= truncation <= 100):
            raise BadRequest(f"truncation must be a number in 0.01..100, got {params['truncation'][:24]!r}")
    fmt = params.get("format", "png")
    if fmt not in ("png", "npy"):
        raise BadRequest(f"format must be png or npy, got {fmt[:12]!r}")
    return DigitsRequest(
        int(n),
        secrets.randbelow(2**31) if seed is None else int(seed),
        digit,
        truncation,
        _integer(params, "nrow", None, 1, max_n),
        fmt,
    )


def run_batch(sampler, requests: Sequence[DigitsRequest]) -> list[np.ndarray]:
    """The images of many requests from as few model calls as possible: requests that share a truncation
    run as one batch (the Sampler splits it at max_batch rows). Each request's images are what
    Sampler.sample(n, seed, labels=digit, truncation) returns: image k of a seeded model is seed + k,
    other models take n latents from PCG64(seed)."""
    out: list[Optional[np.ndarray]] = [None] * len(requests)
    groups: dict[Optional[float], list[int]] = {}
    for i, r in enumerate(requests):
        groups.setdefault(r.truncation, []).append(i)
    for truncation, idx in groups.items():
        labels = (
            np.concatenate([sampler.labels_for(requests[i].n, requests[i].digit) for i in idx])
            if sampler.conditional
            else None
        )
        if sampler.seeded:
            seeds = np.concatenate([np.arange(requests[i].seed, requests[i].seed + requests[i].n) for i in idx])
            images = sampler.sample_seeds(seeds.tolist(), labels, truncation)
        else:
            z = np.concatenate([latents(requests[i].n, sampler.latent_dim, requests[i].seed, truncation) for i in idx])
            images = sampler.generate(z, labels)
        offsets = np.cumsum([0] + [requests[i].n for i in idx])
        for j, i in enumerate(idx):
            out[i] = images[offsets[j] : offsets[j + 1]]
    return [o for o in out if o is not None]


def render(images: np.ndarray, request: DigitsRequest) -> tuple[bytes, str]:
    """Response body and media type: a PNG grid, or the (n, H, W) uint8 array as .npy."""
    if request.format == "npy":
        buf = io.BytesIO()
        np.save(buf, images, allow_pickle=False)
        return buf.getvalue(), "application/octet-stream"
    from gantool.runtime.grid import make_grid

    return make_grid(images, request.nrow).png(), "image/png"


def model_summary(sampler) -> dict:
    meta = sampler.metadata
    return {
        "model": meta.model,
        "variant": meta.variant,
        "latent_dim": sampler.latent_dim,
        "num_classes": sampler.num_classes if sampler.conditional else 0,
        "seeded": sampler.seeded,
        "image_shape": list(sampler.image_shape),
        "file": str(getattr(sampler.path, "name", sampler.path)),
    }
