"""A program's own inputs and outputs against its gantool metadata (torch-free): sidecar metadata
is believed only where the program agrees, as ONNX metadata is checked against its graph."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from gantool.core.errors import GantoolError
from gantool.runtime.metadata import KNOWN_INPUTS, ModelMetadata


def check_signature(meta: ModelMetadata, path: str | Path, inputs: list[tuple], outputs: list[tuple]) -> None:
    """A program's own inputs and outputs, as (name or None, dtype name, shape with None or a symbol
    for dynamic dims), agree with its metadata: names (where the format has them), dtypes, ranks and
    every static dim. Sidecar metadata is checked this way as ONNX metadata is against its graph."""
    where = repr(str(path))
    names = [n for n, _, _ in inputs]
    if len(inputs) != len(meta.inputs) or (None not in names and names != list(meta.inputs)):
        raise GantoolError(f"{where}: graph inputs {names} do not match its metadata {list(meta.inputs)}")
    want_dims: dict[str, Optional[list[int]]] = {"z": [meta.latent_dim], "label": [], "seed": [], "truncation": None}
    for (_, dtype, shape), name in zip(inputs, meta.inputs, strict=True):
        if dtype != KNOWN_INPUTS[name]:
            raise GantoolError(f"{where}: graph input {name!r} is {dtype}, its metadata needs {KNOWN_INPUTS[name]}")
        want = want_dims[name]
        if want is not None:
            _check_dims(where, f"input {name!r}", shape, want)
    if len(outputs) != 1 or outputs[0][0] not in (None, "image") or outputs[0][1] != "float32":
        raise GantoolError(
            f"{where}: graph output {[o[0] for o in outputs]} is not the float 'image' its metadata names"
        )
    _check_dims(where, "output 'image'", outputs[0][2], list(meta.image_shape))


def check_embedding_rows(meta: ModelMetadata, path: str | Path, rows: int | None) -> None:
    """The classes the metadata names exist in the program: its label embedding has that many rows
    (None: the program holds no such table to compare with). A sidecar claiming more classes would
    let a label index past the table, which some runtimes do not check."""
    if rows is not None and rows != meta.num_classes:
        raise GantoolError(
            f"{str(path)!r}: its metadata says {meta.num_classes} classes, but the program's "
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
