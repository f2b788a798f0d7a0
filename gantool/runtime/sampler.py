"""The torch-free sampler: an exported ONNX (or .ort) generator behind a small numpy API.

    from gantool.runtime import Sampler
    sampler = Sampler("model.onnx")
    images = sampler.sample(16, seed=1, labels=3)        # (16, 28, 28) uint8
    sampler.grid(images).save("threes.png")

Reproducibility: latents come from numpy's PCG64 (`np.random.Generator(PCG64(seed))`),
so a seed gives the same images in any process. A *seeded* model (`gantool export
--seeded`) computes its latents inside the graph from one int64 seed per image: there
`sample(n, seed=s)` draws images s, s+1, …, s+n-1, the same in every runtime.
Thread safety: calls keep no state and onnxruntime's `run` is thread-safe, so one
Sampler may serve many threads.
"""

from __future__ import annotations

import numbers
import os
from typing import Any, Optional, Sequence, Union

import numpy as np

from gantool.core.errors import GantoolError
from gantool.core.fileio import user_path
from gantool.runtime.generator import check_finite, check_labels, to_uint8
from gantool.runtime.grid import make_grid
from gantool.runtime.latents import MAX_SEED, check_seed, check_truncation, cycle_labels, latents

Labels = Union[None, int, Sequence[int], np.ndarray]


class Sampler:
    def __init__(
        self,
        path: Union[str, os.PathLike, None] = None,
        threads: Optional[int] = None,
        providers: Optional[Sequence[str]] = None,
        max_batch: int = 256,
        max_n: int = 100_000,
        spin: bool = True,
    ) -> None:
        """Load an exported generator (.onnx, .ort; .tflite with gantool[litert-runtime]) and its gantool metadata.

        path: the model file; None: the pretrained model bundled with gantool.
        threads: intra-op threads (None: onnxruntime's default, one per physical core); on a CPU a batch of
            >= 32 images per thread instead runs split across `threads` single-threaded calls (None: one
            per CPU this process may use), with the same pixels.
        providers: e.g. ["CUDAExecutionProvider", "CPUExecutionProvider"]; CPU by default.
        max_batch: rows per onnxruntime call, so memory stays bounded for any n.
        max_n: the largest n that sample() accepts.
        spin: let worker threads spin while a call runs (faster on small CPUs); they stop
            the moment it returns either way, so an idle sampler uses no CPU. False: never.
        """
        if path is None:
            from gantool.runtime.bundled import bundled_model_path

            path = bundled_model_path()
        path = user_path(path, "the model path")
        if not isinstance(spin, bool):
            raise GantoolError(f"spin must be True or False, got {spin!r:.40}")
        if isinstance(max_n, bool) or not isinstance(max_n, int) or max_n < 1:
            raise GantoolError("max_n must be a positive integer")
        self.max_n = max_n
        from gantool.artifacts.opener import open_runtime

        # The file's row names its torch-free backend (onnxruntime for .onnx / .ort).
        self.generator = open_runtime(path, threads=threads, providers=providers, spin=spin, max_batch=max_batch)
        g = self.generator
        self.path, self.metadata, self.providers = g.path, g.metadata, g.providers
        self.latent_dim, self.num_classes, self.image_shape = g.latent_dim, g.num_classes, g.image_shape
        self.max_batch = g.max_batch

    @classmethod
    def default(cls, **kwargs: Any) -> "Sampler":
        """The pretrained conditional generator that ships inside the gantool package."""
        return cls(None, **kwargs)

    @classmethod
    def bundled(cls, size: str = "base", **kwargs: Any) -> "Sampler":
        """A pretrained generator of a size preset that ships inside the package: "base" (the default
        model) or "nano" (the microcontroller model; its C files are in examples/mcu/generated)."""
        from gantool.runtime.bundled import bundled_for_size

        return cls(bundled_for_size(size), **kwargs)

    @property
    def conditional(self) -> bool:
        return self.generator.conditional

    @property
    def seeded(self) -> bool:
        return self.generator.seeded

    # ----- inputs -------------------------------------------------------------------------
    def latents(self, n: int, seed: Optional[int] = None, truncation: Optional[float] = None) -> np.ndarray:
        """(n, latent_dim) float32 standard-normal latents from PCG64(seed)."""
        return latents(self.check_n(n), self.latent_dim, check_seed(seed), check_truncation(truncation))

    def labels_for(self, n: int, labels: Labels, what: str = "labels") -> Optional[np.ndarray]:
        """Normalise `labels` to (n,) int64, or None for unconditional models.

        None -> 0, 1, …, K-1, 0, … (every class equally); an int -> that class n times.
        """
        if self.conditional and labels is None:
            return cycle_labels(n, self.num_classes)
        if self.conditional and isinstance(labels, numbers.Integral) and not isinstance(labels, bool):
            if not 0 <= labels < self.num_classes:
                raise GantoolError(f"{what} must be in 0..{self.num_classes - 1}, got {labels}")
            labels = np.full(n, int(labels), dtype=np.int64)
        return check_labels(labels, n, self.num_classes, what)

    def check_n(self, n: Any) -> int:
        if isinstance(n, bool) or not isinstance(n, numbers.Integral):
            raise GantoolError(f"n must be an integer, got {n!r:.40}")
        if not 1 <= int(n) <= self.max_n:
            raise GantoolError(f"n must be between 1 and {self.max_n}, got {n}")
        return int(n)

    # ----- generation ---------------------------------------------------------------------
    def generate_float(self, z: np.ndarray, labels: Labels = None) -> np.ndarray:
        """Raw model output for your own latents: (n, C, H, W) float32 in [0, 1]."""
        try:
            z = np.asarray(z, dtype=np.float32)
        except (ValueError, TypeError, OverflowError):
            raise GantoolError("z must be an array of numbers") from None
        if z.ndim != 2 or z.shape[1] != self.latent_dim:
            raise GantoolError(f"z must have shape (n, {self.latent_dim}), got {z.shape}")
        if not np.isfinite(z).all():
            raise GantoolError("z holds NaN or infinite values")
        n = self.check_n(len(z))
        return check_finite(self.generator(z, self.labels_for(n, labels)))

    def generate(self, z: np.ndarray, labels: Labels = None) -> np.ndarray:
        """Images for your own latents: (n, H, W) uint8 (C, H, W for multi-channel models)."""
        return to_uint8(self.generate_float(z, labels))

    def sample(
        self, n: int, seed: Optional[int] = None, labels: Labels = None, truncation: Optional[float] = None
    ) -> np.ndarray:
        """n images from seeded latents: (n, H, W) uint8. Same seed, same images."""
        if not self.seeded:
            z = self.latents(n, seed, truncation)
            return self.generate(z, labels)
        n, seed = self.check_n(n), check_seed(seed)
        if seed is None:
            seed = int(np.random.default_rng().integers(0, MAX_SEED - self.max_n))
        if seed + n - 1 > MAX_SEED:
            raise GantoolError(f"seed + n - 1 must stay within int64 (<= {MAX_SEED}), got seed {seed} and n {n}")
        return self.sample_seeds(range(seed, seed + n), labels, truncation)  # image k of a request is seed + k

    def sample_seeds(
        self, seeds: Sequence[int], labels: Labels = None, truncation: Optional[float] = None
    ) -> np.ndarray:
        """One image per seed (StyleGAN's --seeds): (len(seeds), H, W) uint8. A seeded model draws
        seed s's latent in its graph; any other model uses the first latent of PCG64(s), which is
        image 0 of `sample(n, seed=s)`."""
        checked = [check_seed(s) for s in seeds]
        if any(s is None for s in checked):
            raise GantoolError("seeds must be integers in 0..2**63-1, got None among them")
        seeds = [int(s) for s in checked if s is not None]
        n, truncation = self.check_n(len(seeds)), check_truncation(truncation)
        label_arr = self.labels_for(n, labels)
        if self.seeded:
            pixels = self.generator.run_seeds(np.array(seeds, dtype=np.int64), label_arr, truncation)
            return to_uint8(check_finite(pixels))
        z = np.concatenate([latents(1, self.latent_dim, s, truncation) for s in seeds])
        return self.generate(z, label_arr)

    def interpolate(
        self, a: Union[int, np.ndarray], b: Union[int, np.ndarray], steps: int = 8, label: Optional[int] = None
    ) -> np.ndarray:
        """Images along a spherical path between two latents (or two seeds): (steps, H, W) uint8."""
        if self.seeded:
            raise GantoolError(
                f"{str(self.path)!r} is a seeded model: it takes seeds, not latents, so it cannot "
                "interpolate between them; use a file exported without --seeded (model.onnx)"
            )
        if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or not 2 <= steps <= self.max_n:
            raise GantoolError(f"steps must be an integer in 2..{self.max_n}, got {steps!r:.40}")
        if self.conditional and label is None:
            raise GantoolError("this model is conditional: pass label=DIGIT for the interpolation")
        za, zb = self._latent_point(a), self._latent_point(b)
        t = np.linspace(0.0, 1.0, int(steps), dtype=np.float64)[:, None]
        z = slerp(za.astype(np.float64), zb.astype(np.float64), t).astype(np.float32)
        return self.generate(z, label)

    def _latent_point(self, p: Union[int, np.ndarray]) -> np.ndarray:
        if isinstance(p, numbers.Integral) and not isinstance(p, bool):
            return self.latents(1, seed=int(p))[0]
        try:
            arr = np.asarray(p, dtype=np.float32).reshape(-1)
        except (ValueError, TypeError, OverflowError):
            raise GantoolError(f"a latent must be a seed or {self.latent_dim} numbers, got {p!r:.40}") from None
        if arr.shape != (self.latent_dim,) or not np.isfinite(arr).all():
            raise GantoolError(f"a latent must have {self.latent_dim} finite values, got {np.asarray(p).shape}")
        return arr

    @staticmethod
    def grid(images: np.ndarray, nrow: Optional[int] = None, scale: int = 1):
        """Tile (n, H, W) uint8 images into a GridImage (`.save("x.png")`, `np.asarray`, `.to_pil()`), `nrow`
        per row, each pixel `scale` x `scale`."""
        return make_grid(images, nrow, scale=scale)

    def __repr__(self) -> str:
        return (
            f"Sampler({str(self.path)!r}, model={self.metadata.model}, latent_dim={self.latent_dim}, "
            f"num_classes={self.num_classes}, variant={self.metadata.variant})"
        )


def rows_per_label(n: Optional[int], labels: Sequence[int]) -> tuple[int, list[int], Optional[int]]:
    """One grid row per label: (n, per-image labels, images per row). n defaults to one per label
    and must be a multiple of the number of labels."""
    if not labels:
        raise GantoolError("labels is empty")
    count = len(labels) if n is None else n
    if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 1:
        raise GantoolError(f"n must be a positive integer, got {count!r:.40}")
    if count % len(labels):
        raise GantoolError(f"n {count} is not a multiple of the {len(labels)} labels")
    per = count // len(labels)
    return count, [lab for lab in labels for _ in range(per)], (per if per > 1 else None)


def slerp(a: np.ndarray, b: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Spherical interpolation: keeps interpolated Gaussian latents at a typical norm."""
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    if norm == 0:
        return (1 - t) * a + t * b
    omega = np.arccos(np.clip(np.dot(a, b) / norm, -1.0, 1.0))
    if omega < 1e-6:
        return (1 - t) * a + t * b
    return (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
