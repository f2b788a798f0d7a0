"""onnxruntime backend: an exported .onnx / .ort file as a `Generator` (torch-free)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from gantool.core.errors import GantoolError, first_line
from gantool.runtime.generator import Generator
from gantool.runtime.metadata import ModelMetadata, onnx_metadata_text, parse_metadata
from gantool.runtime.session import open_session, run_options
from gantool.runtime.signature import check_signature

ORT_TYPES = {"float32": "tensor(float)", "int64": "tensor(int64)"}


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
        meta = parse_metadata(onnx_metadata_text(self.session, path), path)
        super().__init__(meta, path, max_batch)
        check_graph(self.session, meta, path)
        self._outputs = list(meta.outputs)
        self._run_options = run_options()

    def _run(self, z: np.ndarray, labels: Optional[np.ndarray]) -> np.ndarray:
        feeds = {"z": z} if labels is None else {"z": z, "label": labels}
        return self.run_feeds(feeds)

    def run_feeds(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """One onnxruntime call; its failures (allocation, shapes) become one-line GantoolErrors."""
        try:
            return self.session.run(self._outputs, feeds, self._run_options)[0]
        except Exception as e:
            raise GantoolError(f"{str(self.path)!r}: onnxruntime could not run the model ({first_line(e)})") from None

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
