"""The assessment configs (no numpy, so `gantool --help` stays light): EvalConfig, BenchConfig."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from gantool.core.errors import GantoolError

MAX_N = 50_000  # 50k samples ~ 40 MB of images and 25 MB of features: bounded memory


@dataclass
class EvalConfig:
    n: int = 10_000  # generated samples
    seed: int = 0  # latent seed
    dataset: Optional[str] = None  # reference dataset; default: the model's (mnist-sample -> mnist)
    data_dir: Optional[str] = None  # where the reference test split lives
    pr_samples: int = 5_000  # precision / recall on at most this many of each
    pr_k: int = 3
    feature_seed: int = 0

    def validate(self) -> "EvalConfig":
        if isinstance(self.n, bool) or not isinstance(self.n, int) or not 2 <= self.n <= MAX_N:
            raise GantoolError(f"n must be between 2 and {MAX_N}, got {self.n}")
        from gantool.runtime.latents import check_seed

        check_seed(self.seed)
        if self.pr_samples < self.pr_k + 2:
            raise GantoolError(f"pr_samples must be > k + 1, got {self.pr_samples}")
        return self


@dataclass
class BenchConfig:
    calls: int = 300  # batch-1 calls timed (>= 200)
    repeats: int = 5  # batch-256 calls timed
    cold_runs: int = 3  # fresh processes per format
    fid: bool = True
    fid_n: int = 2000
    data_dir: Optional[str] = None
    threads: Optional[int] = None  # onnxruntime intra-op threads (None: all cores)

    def validate(self) -> "BenchConfig":
        if not 200 <= self.calls <= 1_000_000:
            raise GantoolError(f"calls must be in 200..1000000 for a stable median, got {self.calls}")
        if not (1 <= self.repeats <= 1000 and 1 <= self.cold_runs <= 100 and 2 <= self.fid_n <= 50_000):
            raise GantoolError("repeats must be in 1..1000, cold runs in 1..100, fid n in 2..50000")
        from gantool.runtime.session import check_threads

        check_threads(self.threads)
        return self
