"""LiteRT backend: an exported `.tflite` file as a `Generator`, run by `ai-edge-litert`'s interpreter
(XNNPack on the CPU; no torch, no TensorFlow). Optional: `pip install 'gantool[litert-runtime]'`.

LiteRT files have a fixed batch (litert-torch 0.10 bakes it into the graph's Reshape; resizing the
interpreter's input fails), so any n runs in chunks of the file's batch, the last one padded.
An int8 file takes its latents quantized (its input tensor's scale and zero point): they are
quantized here, so callers always pass float32 latents.

Hostile files: the header, then every index and extent of the flatbuffer (gantool.runtime.tflite_check)
are checked in Python before the native interpreter sees the file; the interpreter's own verifier
and its errors become one-line GantoolErrors. A buffer offset near 2**64 crashed the interpreter
itself (its bounds check wraps): the structure check refuses it.
"""

from __future__ import annotations

import os
import struct
import threading
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from gantool.core.errors import GantoolError, first_line
from gantool.core.native import quiet_native_stderr
from gantool.runtime.generator import Generator
from gantool.runtime.metadata import read_metadata
from gantool.runtime.signature import check_embedding_rows, check_signature
from gantool.runtime.tflite_check import check_tflite_structure

TFLITE_IDENTIFIER = b"TFL3"  # the flatbuffer file identifier of LiteRT models (bytes 4..8)
MAX_TFLITE_BYTES = (2 << 30) - 1  # flatbuffers address at most 2 GiB
QUANTIZED = (np.int8, np.uint8)


def check_tflite_header(path: Path) -> None:
    """The file is a LiteRT flatbuffer: size in range, identifier "TFL3", root offset inside the file."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
    if size < 16 or size > MAX_TFLITE_BYTES or head[4:8] != TFLITE_IDENTIFIER:
        raise GantoolError(
            f"{str(path)!r} is not a LiteRT (.tflite) model (no {TFLITE_IDENTIFIER.decode()} "
            "flatbuffer header); export it again with --tflite"
        )
    if not 8 <= struct.unpack("<I", head[:4])[0] < size:
        raise GantoolError(
            f"{str(path)!r} is not a loadable LiteRT (.tflite) model (its root table lies "
            "outside the file: truncated?); export it again with --tflite"
        )


def default_threads() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


class LiteRTGenerator(Generator):
    backend = "litert"

    def __init__(
        self,
        path: str | os.PathLike,
        threads: Optional[int] = None,
        providers: Optional[Sequence[str]] = None,
        spin: bool = True,
        max_batch: int = 256,
    ) -> None:
        """threads: XNNPack's threads (None: the cores this process may use). providers: onnxruntime's
        option, accepted only as None. spin: accepted for the Sampler's signature (XNNPack's pool has
        no such setting). max_batch: ignored beyond the file's own fixed batch."""
        path = Path(path)
        if providers is not None:
            raise GantoolError(
                "the litert backend runs on the CPU with XNNPack; providers= is an onnxruntime "
                "option (leave it out for a .tflite file)"
            )
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
            raise GantoolError(f"threads must be a positive integer, got {threads!r:.40}")
        if not path.is_file():
            raise GantoolError(f"{str(path)!r} does not exist")
        check_tflite_header(path)
        meta = read_metadata(path)  # the sidecar, believed below only where the program agrees
        facts = check_tflite_structure(path)  # every index and extent, before the native interpreter reads it
        self._interpreter = _interpreter(path, threads or default_threads())
        try:
            self._inputs = self._interpreter.get_input_details()  # positional: z [, label]
            outputs = self._interpreter.get_output_details()
        except (ValueError, RuntimeError, IndexError) as e:
            raise GantoolError(
                f"{str(path)!r}: LiteRT cannot describe the model's inputs and outputs "
                f"({first_line(e)}); export it again with --tflite"
            ) from None
        self._output = _one_output(outputs, path)
        check_signature(meta, path, [_signature(d) for d in self._inputs], [_signature(self._output)])
        check_embedding_rows(meta, path, facts.embedding_rows)
        self.file_batch = _fixed_batch(self._inputs + [self._output], path)
        super().__init__(meta, path, max_batch=self.file_batch)
        self.providers = ["XNNPACK"]
        self._lock = threading.Lock()  # one interpreter, one call at a time (a Sampler may serve threads)

    def _run(self, z: np.ndarray, labels: Optional[np.ndarray]) -> np.ndarray:
        n, b = len(z), self.file_batch
        values = [z] if labels is None else [z, labels]
        if n < b:  # the last chunk: padded to the file's batch, the padding dropped after
            values = [np.concatenate([v, np.zeros((b - n,) + v.shape[1:], v.dtype)]) for v in values]
        with self._lock:
            try:
                for detail, value in zip(self._inputs, values, strict=False):
                    self._interpreter.set_tensor(detail["index"], _to_input(value, detail))
                self._interpreter.invoke()
                out = self._interpreter.get_tensor(self._output["index"])
            except (ValueError, RuntimeError) as e:
                raise GantoolError(f"{str(self.path)!r}: LiteRT could not run the model ({first_line(e)})") from None
        return _dequantize(out, self._output)[:n]


def _interpreter(path: Path, threads: int):
    with quiet_native_stderr():  # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
        from ai_edge_litert.interpreter import Interpreter

        try:
            interpreter = Interpreter(model_path=str(path), num_threads=threads)
            interpreter.allocate_tensors()
        except (ValueError, RuntimeError, UnicodeDecodeError, OSError) as e:
            raise GantoolError(f"{str(path)!r} is not a loadable LiteRT (.tflite) model ({first_line(e)})") from None
    return interpreter


def _signature(detail: dict[str, Any]) -> tuple[None, str, list[int]]:
    """(name, dtype, shape) as check_signature compares them; a quantized int8 input stands for float32."""
    dtype = np.dtype(detail["dtype"])
    scale = detail["quantization"][0]
    name = "float32" if dtype in QUANTIZED and scale > 0 else dtype.name
    return None, name, [int(d) for d in detail["shape"]]


def _one_output(details: list[dict[str, Any]], path: Path) -> dict[str, Any]:
    if len(details) != 1:
        raise GantoolError(f"{str(path)!r}: a generator has one output (the image), this program has {len(details)}")
    return details[0]


def _fixed_batch(details: list[dict[str, Any]], path: Path) -> int:
    batches = {int(d["shape"][0]) if len(d["shape"]) else 0 for d in details}
    if len(batches) != 1 or not 1 <= next(iter(batches)) <= 65536:
        raise GantoolError(f"{str(path)!r}: its inputs and output disagree on the batch size ({sorted(batches)})")
    return batches.pop()


def _to_input(value: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    dtype = np.dtype(detail["dtype"])
    scale, zero_point = detail["quantization"]
    if dtype in QUANTIZED and scale > 0 and value.dtype == np.float32:
        info = np.iinfo(dtype)
        value = np.clip(np.rint(value / np.float32(scale)) + zero_point, info.min, info.max)
    return np.ascontiguousarray(value, dtype=dtype)


def _dequantize(out: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    scale, zero_point = detail["quantization"]
    if np.dtype(detail["dtype"]) in QUANTIZED and scale > 0:
        return ((out.astype(np.float32) - zero_point) * np.float32(scale)).astype(np.float32)
    return np.asarray(out, dtype=np.float32)
