"""`Generator`: one interface for a generator in any format (numpy only).

Every backend — onnxruntime, PyTorch eager, TorchScript, onnx.reference, ExecuTorch, … —
is a Generator: called with latents `z (N, Z) float32` and, for conditional models,
`labels (N,) int64`, it returns `(N, C, H, W) float32` pixels in [0, 1]. Inputs are
checked, and large N runs in chunks so memory stays bounded. `gantool.artifacts.open_generator`
opens any artifact as one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from gantool.core.errors import GantoolError
from gantool.runtime.metadata import ModelMetadata

MAX_CHUNK_BYTES = 64 << 20  # one backend call never produces more than this many bytes of images


class Generator:
    backend = "?"

    def __init__(self, metadata: ModelMetadata, path: Optional[Path] = None, max_batch: int = 256) -> None:
        self.metadata = metadata
        self.path = Path(path) if path is not None else None
        self.latent_dim = metadata.latent_dim
        self.num_classes = metadata.num_classes
        self.image_shape = metadata.image_shape  # (C, H, W)
        if isinstance(max_batch, bool) or not isinstance(max_batch, int) or max_batch < 1:
            raise GantoolError(f"max_batch must be a positive integer, got {max_batch!r:.40}")
        image_bytes = 4 * int(np.prod(self.image_shape))
        self.max_batch = max(1, min(max_batch, MAX_CHUNK_BYTES // image_bytes))

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    @property
    def seeded(self) -> bool:
        return self.metadata.seeded

    @property
    def variant(self) -> str:
        return self.metadata.variant

    def __call__(self, z: np.ndarray, labels: Optional[np.ndarray] = None) -> np.ndarray:
        """(N, C, H, W) float32 pixels in [0, 1] for latents z (N, Z) [and labels (N,) int64]."""
        z, labels = self.check_inputs(z, labels)
        return self.in_chunks(self._run, z, labels)

    def in_chunks(self, run, rows: np.ndarray, labels: Optional[np.ndarray]) -> np.ndarray:
        """run(rows[i:j], labels[i:j]) over chunks of max_batch rows, concatenated: bounded memory for any N."""
        b = self.max_batch
        chunks = [run(rows[i : i + b], None if labels is None else labels[i : i + b]) for i in range(0, len(rows), b)]
        return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)

    def run_seeds(
        self, seeds: np.ndarray, labels: Optional[np.ndarray], truncation: Optional[float] = None
    ) -> np.ndarray:
        """Seeded files: (N,) int64 seeds [+ labels] -> (N, C, H, W) pixels; the backends that run them
        override this."""
        raise GantoolError(f"{self._name()} takes latents, not seeds: it was exported without --seeded")

    def images(self, z: np.ndarray, labels: Optional[np.ndarray] = None) -> np.ndarray:
        """uint8 images (N, H, W) (or (N, C, H, W) for several channels); a GantoolError if the
        model produced NaN or infinite pixels (they would become silent garbage in uint8)."""
        return to_uint8(check_finite(self(z, labels)))

    def check_inputs(self, z: Any, labels: Any) -> tuple[np.ndarray, Optional[np.ndarray]]:
        if self.seeded:
            raise GantoolError(
                f"{self._name()} is a seeded model: it takes seeds, not latents; use Sampler.sample(n, seed=...)"
            )
        z = np.ascontiguousarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != self.latent_dim or len(z) == 0:
            raise GantoolError(f"z must have shape (n >= 1, {self.latent_dim}), got {z.shape}")
        if self.conditional and labels is None:
            raise GantoolError("this model is conditional: pass one label per latent")
        return z, check_labels(labels, len(z), self.num_classes)

    def _run(self, z: np.ndarray, labels: Optional[np.ndarray]) -> np.ndarray:
        raise NotImplementedError

    def _name(self) -> str:
        return repr(str(self.path)) if self.path is not None else "this generator"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self._name()}, backend={self.backend}, model={self.metadata.model}, "
            f"latent_dim={self.latent_dim}, num_classes={self.num_classes}, variant={self.variant})"
        )


def check_labels(labels: Any, n: int, num_classes: int, what: str = "labels") -> Optional[np.ndarray]:
    """(n,) int64 class labels in 0..num_classes-1, or None for an unconditional model (which takes none).
    Accepts any 1-D integer sequence; `what` names the argument in the error (--digit, labels, …)."""
    if num_classes == 0:
        if labels is not None:
            raise GantoolError("this model is unconditional: it takes no labels")
        return None
    try:
        arr = np.asarray(labels)
    except (ValueError, TypeError, OverflowError):
        arr = np.asarray([None])
    if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise GantoolError(f"{what} must be an int or a 1-D sequence of ints, got {labels!r:.60}")
    if len(arr) != n:
        raise GantoolError(f"got {len(arr)} labels for {n} images; pass one label per image or a single int")
    if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        raise GantoolError(f"{what} must be in 0..{num_classes - 1}, got {arr.min()}..{arr.max()}")
    return arr.astype(np.int64)


def check_finite(images: np.ndarray) -> np.ndarray:
    if not np.isfinite(images).all():
        raise GantoolError("the model produced NaN or infinite pixels; it is broken (re-export it)")
    return images


def to_uint8(images: np.ndarray) -> np.ndarray:
    """(n, C, H, W) float in [0, 1] -> uint8 (n, H, W) for one channel; round half to even."""
    out = np.clip(np.rint(images * 255.0), 0, 255).astype(np.uint8)
    return out[:, 0] if out.shape[1] == 1 else out
