"""onnxruntime backend: an exported .onnx / .ort file as a `Generator` (torch-free).

A large batch on a CPU runs split across the cores: one single-threaded session (opened on the first
batch large enough) called from one thread per core on its share of the images, instead of one call
whose every operator is parallelized by onnxruntime. Per image the arithmetic is the same (the
pixels are identical: tests/runtime/test_parallel.py); what goes is onnxruntime's synchronization per
operator, and per image inside its float ConvTranspose, which loops over the batch. Measured side
by side (benchmarks/results/batch_split.md, 2 cores): 1.1-1.2x the batch-256 throughput of the default
model's files, 1.1-1.4x the nano model's; below PARALLEL_MIN_ROWS images per core the split loses on
the smallest int8 graphs (nano int8 at batch 16: 0.74x), so smaller batches stay one call.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from gantool.core.errors import GantoolError, first_line
from gantool.runtime.generator import Generator
from gantool.runtime.metadata import ModelMetadata, onnx_metadata_text, parse_metadata
from gantool.runtime.session import open_session, run_options
from gantool.runtime.signature import check_signature

ORT_TYPES = {"float32": "tensor(float)", "int64": "tensor(int64)"}
PER_IMAGE_INPUTS = ("z", "seed", "label")  # split along the batch; other inputs ("truncation") go whole
PARALLEL_MIN_ROWS = 32  # images per core below which one call with onnxruntime's own threads is faster


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class OnnxGenerator(Generator):
    backend = "onnxruntime"

    def __init__(
        self,
        path: str | os.PathLike,
        threads: Optional[int] = None,
        providers: Optional[Sequence[str]] = None,
        spin: bool = True,
        max_batch: int = 256,
        optimize: bool = True,
    ) -> None:
        path = Path(path)
        self.session = open_session(path, threads=threads, providers=providers, spin=spin, optimize=optimize)
        self.providers = self.session.get_providers()
        self._metadata_text = onnx_metadata_text(self.session, path)
        meta = parse_metadata(self._metadata_text, path)
        super().__init__(meta, path, max_batch)
        check_graph(self.session, meta, path)
        self._outputs = list(meta.outputs)
        self._run_options = run_options()
        cpu_only = self.providers == ["CPUExecutionProvider"]
        self.workers = (threads or usable_cores()) if cpu_only else 1  # threads: checked by open_session
        self._lane_options = (path, providers, optimize)
        self._lane: Optional[tuple[Any, ThreadPoolExecutor, int]] = None  # (1-thread session, a thread per core, pid)
        self._lane_lock = threading.Lock()

    def _run(self, z: np.ndarray, labels: Optional[np.ndarray]) -> np.ndarray:
        feeds = {"z": z} if labels is None else {"z": z, "label": labels}
        return self.run_feeds(feeds)

    def run_feeds(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """One onnxruntime call (a large batch: one per core, module docstring); its failures
        (allocation, shapes) become one-line GantoolErrors."""
        rows = max((len(feeds[k]) for k in PER_IMAGE_INPUTS if k in feeds), default=0)
        parts = min(self.workers, rows // PARALLEL_MIN_ROWS)
        try:
            if parts < 2:
                return self.session.run(self._outputs, feeds, self._run_options)[0]
            session, pool = self._parallel_lane()
            bounds = np.linspace(0, rows, parts + 1).astype(int)
            shares = [
                {k: v[a:b] if k in PER_IMAGE_INPUTS else v for k, v in feeds.items()}
                for a, b in zip(bounds[:-1], bounds[1:], strict=True)
            ]
            calls = [pool.submit(session.run, self._outputs, share, self._run_options) for share in shares]
            return np.concatenate([call.result()[0] for call in calls])
        except GantoolError:
            raise
        except Exception as e:
            raise GantoolError(f"{str(self.path)!r}: onnxruntime could not run the model ({first_line(e)})") from None

    def _parallel_lane(self) -> tuple[Any, ThreadPoolExecutor]:
        """The single-threaded session and its threads, made on first use (and again in a forked
        child, which inherits the pool's bookkeeping but none of its threads)."""
        with self._lane_lock:
            if self._lane is None or self._lane[2] != os.getpid():
                path, providers, optimize = self._lane_options
                session = open_session(path, threads=1, providers=providers, optimize=optimize)
                if onnx_metadata_text(session, path) != self._metadata_text:  # read again: checked again
                    raise GantoolError(f"{str(path)!r} changed since it was opened; open it again")
                check_graph(session, self.metadata, path)
                pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="gantool-onnxruntime")
                self._lane = (session, pool, os.getpid())
            return self._lane[0], self._lane[1]

    def run_seeds(
        self, seeds: np.ndarray, labels: Optional[np.ndarray], truncation: Optional[float] = None
    ) -> np.ndarray:
        """Seeded models: (N,) int64 seeds [+ labels] -> (N, C, H, W) pixels, in chunks."""
        if not self.seeded:
            raise GantoolError(f"{str(self.path)!r} takes latents, not seeds: it was exported without --seeded")
        if (labels is not None) != self.conditional:
            raise GantoolError("labels are needed for a conditional model, and only for one")
        extra: dict[str, np.ndarray] = {}
        if truncation is not None:
            extra["truncation"] = np.array([truncation], dtype=np.float32)

        def run(chunk: np.ndarray, chunk_labels: Optional[np.ndarray]) -> np.ndarray:
            feeds: dict[str, np.ndarray] = {"seed": np.ascontiguousarray(chunk, dtype=np.int64), **extra}
            if chunk_labels is not None:
                feeds["label"] = np.ascontiguousarray(chunk_labels, dtype=np.int64)
            return self.run_feeds(feeds)

        return self.in_chunks(run, seeds, labels)


def check_graph(session, meta: ModelMetadata, path: Path) -> None:
    """The graph's declared inputs and output agree with its metadata (names, dtypes, static dims)."""
    types = {v: k for k, v in ORT_TYPES.items()}
    check_signature(
        meta,
        path,
        [(i.name, types.get(i.type, i.type), i.shape) for i in session.get_inputs()],
        [(o.name, types.get(o.type, o.type), o.shape) for o in session.get_outputs()],
    )
