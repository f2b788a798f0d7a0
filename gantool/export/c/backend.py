"""The plain-C export as a `Generator`: built with the host's C compiler, called through ctypes.

Compiling and loading a C file runs its code, so a `gantool_generator.c` is built only when it is
byte-for-byte what gantool generates from the int8 ONNX file beside it (regenerated here, and
that file is data): a crafted or edited C file is refused before any compiler sees it. What is
compiled is then gantool's own regenerated text, written into a private folder (0700, made for this
build) with no include path into the export folder: a `stdint.h` or a precompiled `.h.gch` planted
beside the files is never found, and the compiler's scratch files stay in that folder (-pipe).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Optional

import numpy as np

from gantool.core.errors import GantoolError
from gantool.core.fileio import owned_temp_dir, remove_orphans
from gantool.export.c.source import CFiles
from gantool.runtime.generator import Generator
from gantool.runtime.metadata import ModelMetadata, read_metadata

# -ffp-contract=off: no fused multiply-add (the latent's arithmetic must round as gantool's does).
HOST_FLAGS = ("-std=c99", "-O2", "-ffp-contract=off", "-Wall", "-Wextra", "-Werror", "-pedantic")
COMPILE_TIMEOUT_S = 300


def host_compiler() -> Optional[str]:
    """The C compiler to build with: $CC, else cc, gcc or clang on PATH; None when there is none."""
    for name in [os.environ.get("CC", "")] + ["cc", "gcc", "clang"]:
        if name and shutil.which(name):
            return shutil.which(name)
    return None


BUILD_PREFIX = "gantool-c"  # the private build folders in the temp dir: gantool-c-pidPID-RANDOM


def compile_shared(source: Path, out: Path) -> None:
    """Build `source` (in a private folder, beside its header) as a shared library `out`."""
    cc = host_compiler()
    if cc is None:
        raise GantoolError("no C compiler found (cc, gcc or clang; or set CC): install one to build the C export")
    cmd = [cc, *HOST_FLAGS, "-pipe", "-fPIC", "-shared", source.name, "-o", str(out), "-lm"]
    env = {**os.environ, "TMPDIR": str(source.parent)}  # anything the compiler still writes stays in there
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S, cwd=source.parent, env=env
        )
    except subprocess.TimeoutExpired:
        raise GantoolError(f"the C compiler took over {COMPILE_TIMEOUT_S} s on {source.name}") from None
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["(no message)"])[0]
        raise GantoolError(f"{source.name} does not compile with {Path(cc).name}: {first}")


def check_generated(path: Path, meta: ModelMetadata) -> CFiles:
    """Refuse a C file (and header) that is not what gantool generates from its int8 ONNX file;
    return gantool's own text of both (what gets compiled)."""
    from gantool.export.c.source import HEADER, generate_from_onnx

    source_name = str(meta.get("c_source_file", ""))
    onnx_path = path.parent / source_name
    if not source_name or Path(source_name).name != source_name or not onnx_path.is_file():
        raise GantoolError(
            f"{str(path)!r}: the int8 ONNX file it was generated from ({source_name or '?'}) is not "
            "beside it; export again with --c"
        )
    files = generate_from_onnx(onnx_path)
    header = path.parent / HEADER
    if (
        not header.is_file()
        or header.read_text(errors="replace") != files.header
        or path.read_text(errors="replace") != files.source
    ):
        raise GantoolError(
            f"{str(path)!r} (or its {HEADER}) is not what gantool generates from {source_name}: "
            "it was edited or replaced; export again with --c"
        )
    return files


def build_library(files: CFiles) -> ctypes.CDLL:
    """Compile gantool's text of the pair in a private folder and load it; the folder is gone after
    (the loaded library stays mapped), and folders of builds that were killed are removed first."""
    from gantool.export.c.source import HEADER, SOURCE

    parent = Path(tempfile.gettempdir())
    remove_orphans(parent, BUILD_PREFIX)
    build = owned_temp_dir(BUILD_PREFIX, parent)
    try:
        (build / HEADER).write_text(files.header)
        (build / SOURCE).write_text(files.source)
        lib = build / "libgantool_generator.so"
        compile_shared(build / SOURCE, lib)
        return ctypes.CDLL(str(lib))
    finally:
        shutil.rmtree(build, ignore_errors=True)


class CGenerator(Generator):
    """gantool_generator.c built for this machine: the same pixels as the firmware build."""

    backend = "c"

    def __init__(self, path: str | os.PathLike, max_batch: int = 256) -> None:
        path = Path(path)
        meta = read_metadata(path)
        inputs = ("z", "label") if meta.conditional else ("z",)  # it takes latents as well as seeds
        super().__init__(replace(meta, inputs=inputs, fields={**meta.fields, "inputs": list(inputs)}), path, max_batch)
        self._lib = build_library(check_generated(path, meta))
        u8p, f32p = ctypes.POINTER(ctypes.c_uint8), ctypes.POINTER(ctypes.c_float)
        self._lib.gantool_generate.argtypes = [ctypes.c_int64, ctypes.c_int32, u8p]
        self._lib.gantool_generate_latent.argtypes = [f32p, ctypes.c_int32, u8p]
        self._lib.gantool_generate.restype = self._lib.gantool_generate_latent.restype = ctypes.c_int
        self._image_size = int(np.prod(self.image_shape))

    def _label(self, labels: Optional[np.ndarray], i: int) -> int:
        return int(labels[i]) if labels is not None else -1

    def _run(self, z: np.ndarray, labels: Optional[np.ndarray]) -> np.ndarray:
        out = np.empty((len(z), self._image_size), dtype=np.uint8)
        z = np.ascontiguousarray(z, dtype=np.float32)
        for i in range(len(z)):
            self._call(
                self._lib.gantool_generate_latent(
                    z[i].ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                    self._label(labels, i),
                    out[i].ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)),
                )
            )
        return self._pixels(out)

    def run_seeds(
        self, seeds: np.ndarray, labels: Optional[np.ndarray], truncation: Optional[float] = None
    ) -> np.ndarray:
        """(N,) int64 seeds [+ labels] -> (N, C, H, W) pixels in [0, 1] (k / 255)."""
        if truncation:
            raise GantoolError("the C export draws untruncated latents only")
        out = np.empty((len(seeds), self._image_size), dtype=np.uint8)
        for i, seed in enumerate(np.asarray(seeds, dtype=np.int64)):
            self._call(
                self._lib.gantool_generate(
                    int(seed), self._label(labels, i), out[i].ctypes.data_as(ctypes.POINTER(ctypes.c_uint8))
                )
            )
        return self._pixels(out)

    def generate_code(self, seed: int, label: int) -> int:
        """gantool_generate's return code for (seed, label), the image discarded (bad-input tests)."""
        buf = np.full(self._image_size, 7, dtype=np.uint8)
        code = self._lib.gantool_generate(int(seed), int(label), buf.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)))
        if code != 0 and not (buf == 7).all():
            raise GantoolError("gantool_generate wrote the image although it refused the arguments")
        return int(code)

    @staticmethod
    def _call(code: int) -> None:
        if code != 0:
            raise GantoolError(f"gantool_generate refused its arguments (code {code})")

    def _pixels(self, out: np.ndarray) -> np.ndarray:
        return (out.astype(np.float32) / np.float32(255.0)).reshape(len(out), *self.image_shape)
