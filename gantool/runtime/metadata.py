"""The metadata that travels inside every gantool artifact, read and validated (torch-free).

Where a file keeps it is its artifact row's `metadata` field: "onnx" (JSON under the `gantool`
key of `metadata_props`, read through onnxruntime's model meta, so the onnx package is not
needed), "zip" (a `gantool.json` member of the archive) or "sidecar" (`<file>.gantool.json`
beside it). Every field is checked for type and range before anything is allocated from it:
a file is untrusted input.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from gantool.artifacts.registry import SIDECAR_SUFFIX, ZIP_MEMBER, artifact_for_file
from gantool.core.errors import GantoolError, GantoolFileNotFoundError

METADATA_KEY = "gantool"
TS_EXTRA_FILE = ZIP_MEMBER
METADATA_FORMAT_VERSION = 1
MAX_METADATA_BYTES = 1 << 20  # JSON larger than this is not gantool's

# Sane bounds: what a 28x28-class generator can have, with room to grow. They cap what
# the runtime allocates from a file's word (latents: n x latent_dim floats).
MAX_LATENT_DIM = 1024
MAX_CLASSES = 1000
MAX_CHANNELS = 4
MAX_SIDE = 256
IDENTIFIER = re.compile(r"[A-Za-z0-9_.-]{1,64}")  # the metadata's name fields: "dcgan", "int8", "onnx"
KNOWN_INPUTS = {"z": "float32", "label": "int64", "seed": "int64", "truncation": "float32"}


@dataclass(frozen=True)
class ModelMetadata:
    """A model file's gantool metadata, validated when read (parse_metadata): the fields the runtime
    drives a model by are typed; `fields` keeps the whole JSON object as written (the training config,
    the checkpoint's SHA-256, what a maker recorded), read with `get`."""

    latent_dim: int  # z is (N, latent_dim) float32
    num_classes: int  # 0: unconditional (no label input)
    image_shape: tuple[int, int, int]  # (C, H, W) of each output image
    inputs: tuple[str, ...]  # graph input names, in order: z | seed, [label], [truncation]
    outputs: tuple[str, ...] = ("image",)
    model: Optional[str] = None  # the architecture ("dcgan", "mlp")
    variant: str = "fp32"  # "fp32" | "fp16" | "int8"
    artifact_format: Optional[str] = None  # the artifact table's format ("onnx", "torchscript", …)
    fields: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    @property
    def seeded(self) -> bool:
        return "seed" in self.inputs

    @property
    def train_config(self) -> dict[str, Any]:
        """The training config the file was exported with ({} when it does not say)."""
        cfg = self.fields.get("train_config")
        return cfg if isinstance(cfg, dict) else {}

    def get(self, key: str, default: Any = None) -> Any:
        """A field beyond the typed ones, as written (e.g. "checkpoint_sha256", "latent_algorithm")."""
        return self.fields.get(key, default)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object as written (what `gantool info` shows)."""
        return dict(self.fields)

    @classmethod
    def from_dict(cls, meta: dict[str, Any], where: str = "metadata") -> ModelMetadata:
        """Validate a metadata object (as written into a file) and type it."""
        return parse_metadata(json.dumps(meta), where)


def read_metadata(path: str | Path) -> ModelMetadata:
    """Validated metadata of any exported artifact; GantoolError if it has none or it is malformed."""
    path = Path(path)
    if not path.is_file():
        raise GantoolFileNotFoundError(f"{str(path)!r} does not exist")
    return READERS[metadata_place(path)](path)


def metadata_place(path: Path) -> str:
    """The row's place for a file gantool knows; for any other file, what its bytes say."""
    kind = artifact_for_file(path)
    if kind is not None:
        return kind.metadata
    if path.with_name(path.name + SIDECAR_SUFFIX).is_file():
        return "sidecar"
    return "zip" if zipfile.is_zipfile(path) else "onnx"


def read_sidecar_metadata(path: Path) -> ModelMetadata:
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    if not sidecar.is_file():
        raise GantoolError(f"{str(path)!r} has no gantool metadata: its {sidecar.name} is missing; export it again")
    return parse_metadata(_read_capped(sidecar), path)


def _read_capped(path: Path) -> str:
    with open(path, "rb") as f:
        raw = f.read(MAX_METADATA_BYTES + 1)
    if len(raw) > MAX_METADATA_BYTES:
        raise GantoolError(f"{str(path)!r} is too large to be gantool metadata")
    return utf8(raw, path)


def read_onnx_metadata(path: str | Path) -> ModelMetadata:
    from gantool.runtime.session import open_session

    return parse_metadata(onnx_metadata_text(open_session(path, optimize=False), path), path)


def onnx_metadata_text(session, path: str | Path) -> str | None:
    """The `gantool` entry of an ONNX file's metadata_props (onnxruntime decodes it as UTF-8)."""
    try:
        return session.get_modelmeta().custom_metadata_map.get(METADATA_KEY)
    except UnicodeDecodeError:
        raise GantoolError(f"{str(path)!r} has gantool metadata that is not valid UTF-8; export it again") from None


def utf8(raw: bytes, path: str | Path) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise GantoolError(f"{str(path)!r} has gantool metadata that is not valid UTF-8; export it again") from None


def read_zip_metadata(path: Path) -> ModelMetadata:
    return parse_metadata(zip_metadata_text(path), path)


def zip_metadata_text(path: Path) -> str | None:
    """The `gantool.json` member of a TorchScript / torch.export archive, or None."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = [i for i in zf.infolist() if i.filename.split("/")[-1] == TS_EXTRA_FILE]
            if not names:
                return None
            if names[0].file_size > MAX_METADATA_BYTES:
                raise GantoolError(f"{str(path)!r}: its gantool metadata is too large")
            return utf8(zf.read(names[0]), path)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as e:
        raise GantoolError(f"{str(path)!r} is a damaged archive ({e})") from None


def parse_metadata(raw: str | None, path: str | Path) -> ModelMetadata:
    """JSON text -> ModelMetadata, every field the runtime uses checked."""
    where = repr(str(path))
    if not raw:
        raise GantoolError(f"{where} has no gantool metadata; export it with `gantool export`")
    try:
        meta = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):
        raise GantoolError(f"{where} has unreadable gantool metadata") from None
    if not isinstance(meta, dict):
        raise GantoolError(f"{where} has malformed gantool metadata (not a JSON object)")
    for key in ("latent_dim", "num_classes", "image_shape", "inputs", "outputs"):
        if key not in meta:
            raise GantoolError(f"{where} has incomplete gantool metadata (no {key!r})")
    _int_field(meta, "latent_dim", 1, MAX_LATENT_DIM, where)
    _int_field(meta, "num_classes", 0, MAX_CLASSES, where)
    shape = meta["image_shape"]
    if not (
        isinstance(shape, list)
        and len(shape) == 3
        and all(_is_int(v) for v in shape)
        and 1 <= shape[0] <= MAX_CHANNELS
        and all(1 <= v <= MAX_SIDE for v in shape[1:])
    ):
        raise GantoolError(
            f"{where}: metadata field 'image_shape' must be [C, H, W] with C in 1..{MAX_CHANNELS} "
            f"and H, W in 1..{MAX_SIDE}, got {_short(shape)}"
        )
    value_range = meta.get("value_range", [0.0, 1.0])
    if value_range != [0.0, 1.0] and value_range != [0, 1]:
        raise GantoolError(f"{where}: metadata field 'value_range' must be [0, 1], got {_short(value_range)}")
    _check_io(meta, where)
    if "format_version" in meta and (
        not _is_int(meta["format_version"]) or meta["format_version"] > METADATA_FORMAT_VERSION
    ):
        raise GantoolError(
            f"{where} was written by a newer gantool (metadata format "
            f"{_short(meta['format_version'])}); upgrade gantool"
        )
    if meta.get("truncation_input", "truncation") != "truncation":  # the one name the seeded graph uses
        raise GantoolError(
            f"{where}: metadata field 'truncation_input' must be 'truncation', got {_short(meta['truncation_input'])}"
        )
    for key in ("model", "variant", "artifact_format"):  # names, shown and written into generated text
        if key in meta and not (isinstance(meta[key], str) and IDENTIFIER.fullmatch(meta[key])):
            raise GantoolError(
                f"{where}: metadata field {key!r} must be a name of letters, digits, '_', '.' "
                f"or '-' (at most 64), got {_short(meta[key])}"
            )
    return ModelMetadata(
        latent_dim=meta["latent_dim"],
        num_classes=meta["num_classes"],
        image_shape=(shape[0], shape[1], shape[2]),
        inputs=tuple(meta["inputs"]),
        outputs=tuple(meta["outputs"]),
        model=meta.get("model"),
        variant=meta.get("variant", "fp32"),
        artifact_format=meta.get("artifact_format"),
        fields=meta,
    )


def _check_io(meta: dict[str, Any], where: str) -> None:
    inputs, outputs = meta["inputs"], meta["outputs"]
    if not (
        isinstance(inputs, list)
        and inputs
        and all(isinstance(i, str) for i in inputs)
        and set(inputs) <= set(KNOWN_INPUTS)
        and len(set(inputs)) == len(inputs)
    ):
        raise GantoolError(
            f"{where}: metadata field 'inputs' must list names from {sorted(KNOWN_INPUTS)}, got {_short(inputs)}"
        )
    if ("z" in inputs) == ("seed" in inputs):
        raise GantoolError(f"{where}: metadata field 'inputs' must hold exactly one of 'z' and 'seed'")
    if ("label" in inputs) != (meta["num_classes"] > 0):
        raise GantoolError(f"{where}: metadata says num_classes={meta['num_classes']} but inputs are {inputs}")
    if outputs != ["image"]:
        raise GantoolError(f"{where}: metadata field 'outputs' must be ['image'], got {_short(outputs)}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _int_field(meta: dict, key: str, lo: int, hi: int, where: str) -> None:
    v = meta[key]
    if not _is_int(v) or not lo <= v <= hi:
        raise GantoolError(f"{where}: metadata field {key!r} must be an integer in {lo}..{hi}, got {_short(v)}")


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


READERS = {"onnx": read_onnx_metadata, "zip": read_zip_metadata, "sidecar": read_sidecar_metadata}


def checked_metadata(path: str | Path) -> ModelMetadata:
    """A file's gantool metadata, as `gantool info` shows it. Metadata kept in a sidecar is believed
    only after the program itself agrees (its backend opens the file and compares input and output
    shapes), when that backend is installed; otherwise it is validated on its own."""
    from importlib.util import find_spec

    from gantool.artifacts.opener import open_backend

    kind = artifact_for_file(path)
    if kind is not None and kind.sidecar and (kind.needs is None or find_spec(kind.needs) is not None):
        return open_backend(kind.backends[0], path).metadata
    return read_metadata(path)
