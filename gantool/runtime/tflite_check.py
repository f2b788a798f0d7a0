"""A `.tflite` file's structure, checked in Python before LiteRT's native interpreter sees it.

LiteRT's own flatbuffer verifier checks that tables and vectors lie inside the file, but not every
number in them: a weight buffer stored by `offset` and `size` (the schema's form for models over
2 GiB) with an offset near 2**64 makes `offset + size` wrap inside the interpreter's bounds check,
and it reads far outside the file (a segmentation fault, measured on ai-edge-litert 2.3). So every
index and extent the interpreter will follow is checked here first, with the schema's own reader
(`ai_edge_litert.schema_py_generated`, shipped with the interpreter): each buffer's extent against
the file size, each tensor's buffer index, type, shape and constant data size, each operator's
opcode and tensor indices, each subgraph's input and output lists, the signatures' tensor and
subgraph indices and the metadata's buffer indices. Reading a damaged flatbuffer in Python raises
an exception at worst, which becomes one line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np

from gantool.core.errors import GantoolError, first_line

# TensorType -> bytes per element, for the types whose constant data size follows from the shape.
ITEM_BYTES = {
    0: 4,
    1: 2,
    2: 4,
    3: 1,
    4: 8,
    6: 1,
    7: 2,
    8: 8,
    9: 1,
    10: 8,
    11: 16,
    12: 8,
    15: 4,
    16: 2,
    18: 2,
    21: 1,
    22: 1,
}
MAX_TENSOR_TYPE = 22  # FLOAT8_E5M2, the schema's last TensorType in ai-edge-litert 2.3
MAX_DIM = 1 << 24
CAST, EMBEDDING_LOOKUP, GATHER = 53, 7, 36  # BuiltinOperator codes
INDEX_TYPES = (2, 4)  # INT32, INT64: the label input's types


@dataclass(frozen=True)
class TfliteFacts:
    """What the checked structure says about the program."""

    embedding_rows: Optional[int]  # rows of the table the label input indexes (None: no such table)


class _Bad(Exception):
    """What is wrong, said in words; becomes the GantoolError."""


def check_tflite_structure(path: Path) -> TfliteFacts:
    """Refuse (one GantoolError) a `.tflite` whose indices or extents point outside the file."""
    from ai_edge_litert import schema_py_generated as schema

    data = path.read_bytes()
    try:
        model = schema.Model.GetRootAsModel(data, 0)
        _check_model(model, len(data))
        return TfliteFacts(embedding_rows=_embedding_rows(model))
    except _Bad as e:
        raise GantoolError(
            f"{str(path)!r} is not a loadable LiteRT (.tflite) model ({e}); export it again with --tflite"
        ) from None
    except Exception as e:  # the pure-Python reader on damaged bytes: struct, index, type, value errors
        raise GantoolError(
            f"{str(path)!r} is not a loadable LiteRT (.tflite) model (damaged flatbuffer: "
            f"{first_line(e, 80)}); export it again with --tflite"
        ) from None


def _check_model(model: Any, size: int) -> None:
    n_buffers, n_codes, n_subgraphs = model.BuffersLength(), model.OperatorCodesLength(), model.SubgraphsLength()
    if model.Version() != 3:
        raise _Bad(f"schema version {model.Version()}, not 3")
    if n_subgraphs < 1:
        raise _Bad("no subgraph")
    buffer_bytes = [_buffer_bytes(model.Buffers(i), i, size) for i in range(n_buffers)]
    for s in range(n_subgraphs):
        _check_subgraph(model.Subgraphs(s), s, buffer_bytes, n_codes)
    for i in range(model.MetadataBufferLength()):
        _index(int(model.MetadataBuffer(i)), n_buffers, f"metadata buffer {i}")
    for i in range(model.MetadataLength()):
        _index(model.Metadata(i).Buffer(), n_buffers, f"metadata {i}'s buffer")
    for i in range(model.SignatureDefsLength()):
        sig = model.SignatureDefs(i)
        s = _index(sig.SubgraphIndex(), n_subgraphs, f"signature {i}'s subgraph")
        n_tensors = model.Subgraphs(s).TensorsLength()
        for j in range(sig.InputsLength()):
            _index(sig.Inputs(j).TensorIndex(), n_tensors, f"signature {i}'s input {j}")
        for j in range(sig.OutputsLength()):
            _index(sig.Outputs(j).TensorIndex(), n_tensors, f"signature {i}'s output {j}")


def _buffer_bytes(buffer: Any, i: int, size: int) -> int:
    """The bytes buffer i holds (in the flatbuffer, or at offset..offset+size of the file)."""
    offset, length = int(buffer.Offset()), int(buffer.Size())
    if offset > 1:  # the schema: offset 0 (and 1, a placeholder) means the data, if any, is inline
        if offset >= size or length > size - offset:  # Python integers: no wrap-around
            raise _Bad(f"buffer {i} lies at bytes {offset}..{offset + length}, outside the {size}-byte file")
        return length
    if buffer.DataIsNone():
        return 0
    return int(buffer.DataAsNumpy().nbytes)  # numpy refuses a vector that runs past the file


def _check_subgraph(sg: Any, s: int, buffer_bytes: list[int], n_codes: int) -> None:
    n_tensors = sg.TensorsLength()
    for t in range(n_tensors):
        _check_tensor(sg.Tensors(t), f"subgraph {s} tensor {t}", buffer_bytes)
    for name, values in (("inputs", sg.InputsAsNumpy()), ("outputs", sg.OutputsAsNumpy())):
        values = np.asarray(values).reshape(-1)
        if values.size == 0:
            raise _Bad(f"subgraph {s} has no {name}")
        for v in values:
            _index(int(v), n_tensors, f"subgraph {s}'s {name[:-1]}")
    for o in range(sg.OperatorsLength()):
        op, where = sg.Operators(o), f"subgraph {s} operator {o}"
        _index(op.OpcodeIndex(), n_codes, f"{where}'s opcode")
        for name, values, optional in (
            ("input", op.InputsAsNumpy(), True),
            ("output", op.OutputsAsNumpy(), False),
            ("intermediate", op.IntermediatesAsNumpy(), False),
        ):
            for v in np.asarray(values).reshape(-1):
                if not (optional and int(v) == -1):  # -1: an optional input left out
                    _index(int(v), n_tensors, f"{where}'s {name}")


def _check_tensor(tensor: Any, where: str, buffer_bytes: list[int]) -> None:
    b = _index(tensor.Buffer(), len(buffer_bytes), f"{where}'s buffer")
    kind = tensor.Type()
    if not 0 <= kind <= MAX_TENSOR_TYPE:
        raise _Bad(f"{where} has an unknown element type {kind}")
    shape = [int(d) for d in np.asarray(tensor.ShapeAsNumpy()).reshape(-1)] if not tensor.ShapeIsNone() else []
    if any(not 0 <= d <= MAX_DIM for d in shape):
        raise _Bad(f"{where} has shape {shape[:8]}")
    held = buffer_bytes[b]
    if held and kind in ITEM_BYTES and held != int(np.prod(shape, dtype=np.int64)) * ITEM_BYTES[kind]:
        raise _Bad(
            f"{where} holds {held} bytes of constant data, its shape {shape} needs "
            f"{int(np.prod(shape, dtype=np.int64)) * ITEM_BYTES[kind]}"
        )
    q = tensor.Quantization()
    if q is not None:
        scales, zeros = q.ScaleLength(), q.ZeroPointLength()
        if scales > 1 or zeros > 1:
            axis = q.QuantizedDimension()
            if not 0 <= axis < len(shape) or scales != shape[axis] or zeros not in (0, 1, scales):
                raise _Bad(f"{where} has {scales} quantization scales on axis {axis} of shape {shape}")


def _embedding_rows(model: Any) -> Optional[int]:
    """Rows of the table that the first subgraph's integer input (the label) indexes, through Casts."""
    sg = model.Subgraphs(0)
    codes = [
        max(model.OperatorCodes(i).BuiltinCode(), model.OperatorCodes(i).DeprecatedBuiltinCode())
        for i in range(model.OperatorCodesLength())
    ]
    labels = {int(i) for i in np.asarray(sg.InputsAsNumpy()).reshape(-1) if sg.Tensors(int(i)).Type() in INDEX_TYPES}
    for o in range(sg.OperatorsLength()):  # operators are in execution order: a Cast comes before its user
        op = sg.Operators(o)
        code, ins = codes[op.OpcodeIndex()], [int(i) for i in np.asarray(op.InputsAsNumpy()).reshape(-1)]
        if code == CAST and ins and ins[0] in labels:
            labels |= {int(i) for i in np.asarray(op.OutputsAsNumpy()).reshape(-1)}
        table = {EMBEDDING_LOOKUP: (0, 1), GATHER: (1, 0)}.get(code)  # (indices position, table position)
        if table is not None and len(ins) >= 2 and ins[table[0]] in labels and ins[table[1]] >= 0:
            shape = sg.Tensors(ins[table[1]]).ShapeAsNumpy()
            return int(np.asarray(shape).reshape(-1)[0]) if not isinstance(shape, int) and len(shape) else None
    return None


def _index(value: int, count: int, what: str) -> int:
    if not 0 <= value < count:
        raise _Bad(f"{what} is {value}, outside 0..{count - 1}")
    return value
