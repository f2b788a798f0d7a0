"""A data set's output folder: its manifest, the shard job every engine runs, and the finishing step.

    OUT/manifest.json                   the settings, the model's SHA-256, each finished shard's parts
    OUT/train-images-idx3-ubyte(.gz)    --format idx (…-labels-idx1-ubyte for conditional models)
    OUT/shards/train-00000-of-00031.npz --format npz

A shard's record lists each part it wrote as (file, offset, size, SHA-256); a rerun re-hashes them and
makes again only shards whose record is missing or wrong. The manifest is written before the first
shard, so a folder gantool did not start is never taken for one it did.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from gantool.core.errors import GantoolError
from gantool.core.fileio import TEMP_SUFFIX, sha256_file, write_bytes_atomic, write_json_atomic
from gantool.scale.configs import CHUNK, GenerateConfig
from gantool.scale.plan import labels_for_range
from gantool.scale.writers import create_sized, gzip_file, idx_header, idx_names, npz_bytes, region_sha256, write_region

MANIFEST = "manifest.json"
KIND = "gantool-dataset/1"
PARTIAL = ".partial"


@dataclass(frozen=True)
class ModelFacts:
    """What the data set's bytes depend on besides the config."""

    sha256: str
    name: str  # the file's name, or bundled:SIZE
    image_shape: tuple[int, ...]  # (H, W) or (C, H, W): one image
    num_classes: int  # 0: unconditional


@dataclass(frozen=True)
class Part:
    file: str
    offset: int
    size: int
    sha256: str


@dataclass(frozen=True)
class ShardJob:
    """Everything a worker needs to make shard k (picklable: it travels to Ray actors)."""

    config: GenerateConfig
    model: ModelFacts
    out: str

    @property
    def labelled(self) -> bool:
        return self.model.num_classes > 0

    @property
    def pixels(self) -> int:
        return int(np.prod(self.model.image_shape))

    def idx_files(self) -> list[str]:
        return idx_names(self.config.prefix, self.model.image_shape, self.labelled)

    def shard_file(self, k: int) -> str:
        return f"shards/{self.config.prefix}-{k:05d}-of-{self.config.shards:05d}.npz"

    def labels(self, start: int, stop: int) -> Optional[np.ndarray]:
        if not self.labelled:
            return None
        return labels_for_range(start, stop, self.model.num_classes, self.config.mix)

    def run(self, sampler, k: int) -> list[Part]:
        """Make shard k with `sampler` (a runtime Sampler of this model) and write its parts."""
        start, stop = self.config.shard_range(k)
        if self.config.format == "npz":
            images = np.concatenate([self._chunk(sampler, a, min(a + CHUNK, stop)) for a in range(start, stop, CHUNK)])
            labels = self.labels(start, stop)
            arrays = {"images": images} | ({"labels": labels.astype(np.uint8)} if labels is not None else {})
            data = npz_bytes(arrays, deflate=self.config.gzip)
            write_bytes_atomic(Path(self.out) / self.shard_file(k), data)
            return [Part(self.shard_file(k), 0, len(data), hashlib.sha256(data).hexdigest())]
        # idx: each chunk goes straight to its place in the file, so memory holds one chunk, not a shard
        names = self.idx_files()
        images_path = Path(self.out) / (names[0] + PARTIAL)
        offset = len(self._header(names[0])) + start * self.pixels
        h = hashlib.sha256()
        for a in range(start, stop, CHUNK):
            blob = self._chunk(sampler, a, min(a + CHUNK, stop)).tobytes()
            write_region(images_path, offset + (a - start) * self.pixels, blob)
            h.update(blob)
        parts = [Part(names[0], offset, (stop - start) * self.pixels, h.hexdigest())]
        labels = self.labels(start, stop)
        if labels is not None:
            blob = labels.astype(np.uint8).tobytes()
            offset = len(self._header(names[1])) + start
            write_region(Path(self.out) / (names[1] + PARTIAL), offset, blob)
            parts.append(Part(names[1], offset, len(blob), hashlib.sha256(blob).hexdigest()))
        return parts

    def _chunk(self, sampler, a: int, b: int) -> np.ndarray:
        """Images [a, b) of the data set: one onnxruntime call of rows aligned to the global index."""
        return sampler.sample_seeds(range(self.config.seed + a, self.config.seed + b), self.labels(a, b))

    def _header(self, name: str) -> bytes:
        if "-images-" in name:
            return idx_header((self.config.n, *self.model.image_shape))
        return idx_header((self.config.n,))


@dataclass
class Manifest:
    config: GenerateConfig
    model: ModelFacts
    shards: dict[int, list[Part]] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)  # finished files -> SHA-256 (complete)

    def to_json(self) -> dict:
        return {
            "kind": KIND,
            "config": self.config.as_dict(),
            "model": {
                "sha256": self.model.sha256,
                "name": self.model.name,
                "image_shape": list(self.model.image_shape),
                "num_classes": self.model.num_classes,
            },
            "shards": {str(k): [vars(p) for p in parts] for k, parts in sorted(self.shards.items())},
            "files": self.files,
            "complete": bool(self.files),
        }

    def identity(self) -> dict:
        return {k: v for k, v in self.to_json().items() if k in ("kind", "config", "model")}


def read_manifest(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("kind") != KIND:
            raise ValueError("not a gantool data set manifest")
        return data
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise GantoolError(
            f"{str(path)!r} is not a readable gantool manifest ({e}); choose another --out folder"
        ) from None


def parse_parts(raw: Any) -> Optional[list[Part]]:
    """A manifest's shard record, or None when it is malformed (the shard is then made again)."""
    try:
        parts = [Part(str(p["file"]), int(p["offset"]), int(p["size"]), str(p["sha256"])) for p in raw]
    except (TypeError, KeyError, ValueError):
        return None
    return parts if parts and all(re.fullmatch(r"[0-9a-f]{64}", p.sha256) for p in parts) else None


_OURS = re.compile(
    r"(?:shards|manifest\.json|\.manifest\.json\..*|[A-Za-z_]\w*-(?:images|labels)-idx\d-ubyte"
    r"(?:\.partial|\.gz)?|\..*" + re.escape(TEMP_SUFFIX) + ")"
)


def foreign_entries(out: Path) -> list[str]:
    """Entries of OUT (and OUT/shards) whose names gantool's data sets never use."""
    names = [p.name for p in out.iterdir() if not _OURS.fullmatch(p.name)]
    shards = out / "shards"
    if shards.is_dir():
        names += [
            f"shards/{p.name}"
            for p in shards.iterdir()
            if not re.fullmatch(r"[A-Za-z_]\w*-\d{5}-of-\d{5}\.npz|\..*" + re.escape(TEMP_SUFFIX), p.name)
        ]
    elif shards.exists():
        names.append("shards")
    return sorted(names)


def finish_idx(job: ShardJob, out: Path) -> dict[str, str]:
    """Rename the .partial files to their names (gzipping them with --gzip): {file: SHA-256}."""
    files = {}
    for name in job.idx_files():
        partial, final = out / (name + PARTIAL), out / name
        if job.config.gzip:
            tmp = out / f".{name}.gz.gantool{TEMP_SUFFIX}"
            gzip_file(partial, tmp)
            os.replace(tmp, out / (name + ".gz"))
            partial.unlink()
            files[name + ".gz"] = sha256_file(out / (name + ".gz"))
        else:
            os.replace(partial, final)
            files[name] = sha256_file(final)
    return files


def prepare_idx(job: ShardJob, out: Path) -> None:
    """The .partial files at full size (an existing one keeps its regions: they are re-hashed)."""
    for name in job.idx_files():
        partial, final = out / (name + PARTIAL), out / name
        if not partial.exists() and final.exists():
            os.replace(final, partial)  # a finished file whose hash failed: its good regions are kept
        unit = job.pixels if "-images-" in name else 1
        size = len(job._header(name)) + job.config.n * unit
        if not partial.exists() or partial.stat().st_size != size:
            create_sized(partial, job._header(name), job.config.n * unit)


def verify_parts(out: Path, parts: list[Part]) -> bool:
    for p in parts:
        path = out / (p.file + (PARTIAL if not p.file.startswith("shards/") else ""))
        if p.file.startswith("shards/") and (not path.is_file() or path.stat().st_size != p.size):
            return False
        if region_sha256(path, p.offset, p.size) != p.sha256:
            return False
    return True


def save_manifest(out: Path, manifest: Manifest) -> None:
    write_json_atomic(out / MANIFEST, manifest.to_json())


def open_sampler(model: Optional[str | Path], size: Optional[str], threads: Optional[int] = None, max_n: int = CHUNK):
    """A Sampler of a model file or a bundled size, running at most CHUNK rows per onnxruntime call."""
    from gantool.runtime.sampler import Sampler

    if size is not None and model is not None:
        raise GantoolError("--size picks a bundled model: give it or a model file, not both")
    if model is not None:
        return Sampler(model, threads=threads, max_batch=CHUNK, max_n=max_n)
    return Sampler.bundled(size or "base", threads=threads, max_batch=CHUNK, max_n=max_n)


def model_facts(sampler, size: Optional[str]) -> ModelFacts:
    c, h, w = sampler.image_shape
    name = Path(sampler.path).name if size is None else f"bundled:{size}"
    return ModelFacts(
        sha256_file(sampler.path),
        name,
        (h, w) if c == 1 else (c, h, w),
        sampler.num_classes if sampler.conditional else 0,
    )
