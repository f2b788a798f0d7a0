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
from pathlib import Path
from typing import Any

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


def read_metadata(path: str | Path) -> dict[str, Any]:
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


def read_sidecar_metadata(path: Path) -> dict[str, Any]:
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


def read_onnx_metadata(path: str | Path) -> dict[str, Any]:
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


def read_zip_metadata(path: Path) -> dict[str, Any]:
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


def parse_metadata(raw: str | None, path: str | Path) -> dict[str, Any]:
    """JSON text -> a metadata dict whose every field the runtime uses has been checked."""
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
    return meta


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


def check_signature(meta: dict[str, Any], path: str | Path, inputs: list[tuple], outputs: list[tuple]) -> None:
    """A program's own inputs and outputs, as (name or None, dtype name, shape with None or a symbol
    for dynamic dims), agree with its metadata: names (where the format has them), dtypes, ranks and
    every static dim. Sidecar metadata is checked this way as ONNX metadata is against its graph."""
    where = repr(str(path))
    names = [n for n, _, _ in inputs]
    if len(inputs) != len(meta["inputs"]) or (None not in names and names != list(meta["inputs"])):
        raise GantoolError(f"{where}: graph inputs {names} do not match its metadata {meta['inputs']}")
    want_dims = {"z": [meta["latent_dim"]], "label": [], "seed": [], "truncation": None}
    for (_, dtype, shape), name in zip(inputs, meta["inputs"], strict=True):
        if dtype != KNOWN_INPUTS[name]:
            raise GantoolError(f"{where}: graph input {name!r} is {dtype}, its metadata needs {KNOWN_INPUTS[name]}")
        want = want_dims[name]
        if want is not None:
            _check_dims(where, f"input {name!r}", shape, want)
    if len(outputs) != 1 or outputs[0][0] not in (None, "image") or outputs[0][1] != "float32":
        raise GantoolError(
            f"{where}: graph output {[o[0] for o in outputs]} is not the float 'image' its metadata names"
        )
    _check_dims(where, "output 'image'", outputs[0][2], list(meta["image_shape"]))


def check_embedding_rows(meta: dict[str, Any], path: str | Path, rows: int | None) -> None:
    """The classes the metadata names exist in the program: its label embedding has that many rows
    (None: the program holds no such table to compare with). A sidecar claiming more classes would
    let a label index past the table, which some runtimes do not check."""
    if rows is not None and rows != meta["num_classes"]:
        raise GantoolError(
            f"{str(path)!r}: its metadata says {meta['num_classes']} classes, but the program's "
            f"label embedding has {rows} rows; export it again"
        )


def _check_dims(where: str, what: str, shape, want: list) -> None:
    """shape = [batch, *rest]: rank must match; each static dim must equal the metadata's."""
    if shape is None or len(shape) != 1 + len(want):
        raise GantoolError(
            f"{where}: graph {what} has shape {shape}, metadata says [N, {', '.join(map(str, want))}]".replace(
                ", ]", "]"
            )
        )
    batch = shape[0]
    if isinstance(batch, int) and batch < 1:
        raise GantoolError(f"{where}: graph {what} has a batch dimension of {batch}")
    for got, expected in zip(shape[1:], want, strict=False):
        if isinstance(got, int) and got != expected:
            raise GantoolError(
                f"{where}: graph {what} has shape {list(shape)}, but its metadata says [N, {', '.join(map(str, want))}]"
            )


def checked_metadata(path: str | Path) -> dict[str, Any]:
    """A file's gantool metadata, as `gantool info` shows it. Metadata kept in a sidecar is believed
    only after the program itself agrees (its backend opens the file and compares input and output
    shapes), when that backend is installed; otherwise it is validated on its own."""
    from importlib.util import find_spec

    from gantool.artifacts.opener import open_backend

    kind = artifact_for_file(path)
    if kind is not None and kind.sidecar and (kind.needs is None or find_spec(kind.needs) is not None):
        return open_backend(kind.backends[0], path).metadata
    return read_metadata(path)
