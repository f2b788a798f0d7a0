"""The settings of `gantool generate` and `gantool serve`, one dataclass each, checked when made.
No numpy at import: the CLI reads their defaults for --help."""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass
from typing import Optional

from gantool.core.errors import GantoolError

CHUNK = 256  # rows per onnxruntime call; shards are multiples of it
MAX_N = 10**10  # 7.8 TB of 28x28 images: a typo guard, not a storage plan
FORMATS = ("idx", "npz")


@dataclass(frozen=True)
class GenerateConfig:
    """One data set: n images from a model, written to an output folder."""

    n: int
    seed: int = 0
    format: str = "idx"  # idx: MNIST's files; npz: one .npz per shard (images, labels)
    gzip: bool = False  # idx: .gz files (mtime 0, so the same bytes every run); npz: deflated members
    shard_size: int = 32_768  # images per shard (the unit of work, hashing and resume; 25.7 MB of 28x28)
    mix: Optional[tuple[float, ...]] = None  # class weights (len = classes); None: balanced
    prefix: str = "train"  # train-images-idx3-ubyte, …

    def __post_init__(self) -> None:
        from gantool.runtime.latents import MAX_SEED  # here, not at import: `gantool --help` loads no numpy

        for name, lo, hi in (("n", 1, MAX_N), ("seed", 0, MAX_SEED), ("shard_size", CHUNK, 1 << 24)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not lo <= int(value) <= hi:
                raise GantoolError(f"--{name.replace('_', '-')} must be an integer in {lo}..{hi}, got {value!r:.40}")
        if self.shard_size % CHUNK:
            raise GantoolError(
                f"--shard-size must be a multiple of {CHUNK} (the rows of one call), got {self.shard_size}"
            )
        if self.seed + self.n - 1 > MAX_SEED:
            raise GantoolError(f"--seed + --n - 1 must stay within int64, got seed {self.seed} and n {self.n}")
        if self.format not in FORMATS:
            raise GantoolError(f"unknown --format {self.format!r:.40}; choose one of {', '.join(FORMATS)}")
        if not self.prefix.isidentifier() or len(self.prefix) > 32:
            raise GantoolError(f"--prefix must be a short identifier like train or test, got {self.prefix!r:.40}")

    @property
    def shards(self) -> int:
        return -(-self.n // self.shard_size)

    def shard_range(self, k: int) -> tuple[int, int]:
        """Images [start, stop) of shard k."""
        start = k * self.shard_size
        return start, min(start + self.shard_size, self.n)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["mix"] = list(self.mix) if self.mix is not None else None
        return d


@dataclass(frozen=True)
class ServeConfig:
    host: str = "127.0.0.1"  # loopback unless asked: --host 0.0.0.0 listens on every interface
    port: int = 8000
    max_n: int = 256  # images per request
    max_batch: int = 256  # images per model call, summed over the batched requests
    queue: int = 64  # requests waiting for the model; one more is answered 503
    batch_wait_ms: float = 2.0  # after the first request of a batch, how long to wait for others
    threads: Optional[int] = None  # onnxruntime intra-op threads (None: one per physical core)
    workers: int = 1  # batches in flight at once (2 measured the same here: the model is the bound)

    def __post_init__(self) -> None:
        for name, lo, hi in (
            ("port", 0, 65535),
            ("max_n", 1, 4096),
            ("max_batch", 1, 65536),
            ("queue", 1, 100_000),
            ("workers", 1, 64),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise GantoolError(f"--{name.replace('_', '-')} must be an integer in {lo}..{hi}, got {value!r:.40}")
        if not 0 <= self.batch_wait_ms <= 1000:
            raise GantoolError(f"--batch-wait-ms must be in 0..1000, got {self.batch_wait_ms}")
