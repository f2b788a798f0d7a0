"""Crafted `.tflite` files: every index and extent the native interpreter follows is changed, field by
field (the schema's object API rewrites a real export), and each file is opened and sampled in a
child process. The answer is images or one line with exit 2, never a signal (a buffer offset near
2**64 crashed ai-edge-litert's interpreter before gantool checked the structure itself)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

pytest.importorskip("litert_torch", reason="the LiteRT rows need litert-torch: pip install 'gantool[litert]'")
pytest.importorskip("ai_edge_litert", reason="the LiteRT rows need ai-edge-litert: pip install 'gantool[litert]'")
pytestmark = pytest.mark.edge

U64 = 2**64


def _largest_buffer(m) -> int:
    sizes = [len(b.data) if b.data is not None else 0 for b in m.buffers]
    return max(range(len(sizes)), key=sizes.__getitem__)


def _to_offset(offset_of):
    """A mutation that moves the largest weight buffer out of line: offset_of(size) -> offset."""

    def mutate(m) -> None:
        b = m.buffers[_largest_buffer(m)]
        n = len(b.data)
        b.data, b.offset, b.size = None, offset_of(n), n

    return mutate


def _set(getter, value):
    def mutate(m) -> None:
        obj, attr, index = getter(m)
        if index is None:
            setattr(obj, attr, value)
        else:  # the object API unpacks index vectors as read-only numpy views
            values = [int(v) for v in getattr(obj, attr)]
            values[index] = value
            setattr(obj, attr, values)

    return mutate


def _sg(m):
    return m.subgraphs[0]


MUTATIONS = {
    "buffer offset 2**64-size": _to_offset(lambda n: U64 - n),
    "buffer offset 2**64-16": _to_offset(lambda n: U64 - 16),
    "buffer offset 2**64-1": _to_offset(lambda n: U64 - 1),
    "buffer offset past the end": _to_offset(lambda n: 1 << 40),
    "buffer size 2**64-1": lambda m: _huge_size(m),
    "tensor buffer index past the end": lambda m: setattr(_sg(m).tensors[3], "buffer", len(m.buffers) + 5),
    "tensor buffer index 2**32-1": lambda m: setattr(_sg(m).tensors[3], "buffer", 2**32 - 1),
    "tensor shape negative": lambda m: setattr(_sg(m).tensors[3], "shape", [-5] + list(_sg(m).tensors[3].shape)[1:]),
    "tensor type unknown": lambda m: setattr(_sg(m).tensors[3], "type", 120),
    "operator opcode index past the end": lambda m: setattr(
        _sg(m).operators[0], "opcodeIndex", len(m.operatorCodes) + 3
    ),
    "operator input index past the end": _set(lambda m: (_sg(m).operators[0], "inputs", 0), 10_000),
    "operator input index -2": _set(lambda m: (_sg(m).operators[0], "inputs", 0), -2),
    "operator output index 2**31-1": _set(lambda m: (_sg(m).operators[-1], "outputs", 0), 2**31 - 1),
    "subgraph input -1": _set(lambda m: (_sg(m), "inputs", 0), -1),
    "subgraph output -1": _set(lambda m: (_sg(m), "outputs", 0), -1),
    "subgraph output past the end": _set(lambda m: (_sg(m), "outputs", 0), 999_999),
    "signature input tensor past the end": lambda m: setattr(m.signatureDefs[0].inputs[0], "tensorIndex", 77_777),
    "signature subgraph past the end": lambda m: setattr(m.signatureDefs[0], "subgraphIndex", 9),
    "metadata buffer past the end": lambda m: setattr(m.metadata[0], "buffer", len(m.buffers) + 1),
}


def _huge_size(m) -> None:
    b = m.buffers[_largest_buffer(m)]
    b.data, b.offset, b.size = None, 64, U64 - 1


def _rewrite(src, dst, mutate) -> None:
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    m = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(src.read_bytes(), 0))
    mutate(m)
    b = flatbuffers.Builder(0)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    dst.write_bytes(bytes(b.Output()))


PROBE = """
import sys
from gantool.core.errors import GantoolError
from gantool.runtime import Sampler
try:
    images = Sampler(sys.argv[1], threads=1).sample(2, seed=0, labels=[1, 2])
except GantoolError as e:
    print(str(e), file=sys.stderr)
    sys.exit(2)
print(images.shape)
"""


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_a_crafted_tflite_gives_images_or_one_line_never_a_signal(tflite_export, tmp_path, name):
    src = tflite_export / "model.tflite"
    bad = tmp_path / "model.tflite"
    _rewrite(src, bad, MUTATIONS[name])
    shutil.copy(tflite_export / "model.tflite.gantool.json", tmp_path / "model.tflite.gantool.json")
    done = subprocess.run([sys.executable, "-c", PROBE, str(bad)], capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 2), f"{name}: exit {done.returncode} (a signal is negative)\n{done.stderr[-1500:]}"
    if done.returncode == 2:
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "LiteRT" in lines[0], (name, done.stderr[-1500:])
    else:
        assert done.stdout.strip() == "(2, 28, 28)", (name, done.stdout)


def test_the_offset_that_crashed_the_interpreter_is_refused_by_name(tflite_export, tmp_path):
    from gantool.artifacts import open_generator
    from gantool.core.errors import GantoolError

    bad = tmp_path / "model.tflite"
    _rewrite(tflite_export / "model.tflite", bad, MUTATIONS["buffer offset 2**64-size"])
    shutil.copy(tflite_export / "model.tflite.gantool.json", tmp_path / "model.tflite.gantool.json")
    with pytest.raises(GantoolError, match=r"buffer \d+ lies at bytes .* outside the \d+-byte file"):
        open_generator(bad)


def test_an_exported_file_passes_the_structure_check(tflite_export):
    from gantool.runtime.tflite_check import check_tflite_structure

    for name in ("model.tflite", "model.int8.tflite"):
        check_tflite_structure(tflite_export / name)  # raises on any finding


def test_a_sidecar_claiming_more_classes_than_the_program_holds_is_refused(tflite_export, tmp_path):
    import json

    from gantool.artifacts import open_generator
    from gantool.core.errors import GantoolError

    shutil.copy(tflite_export / "model.tflite", tmp_path / "model.tflite")
    meta = json.loads((tflite_export / "model.tflite.gantool.json").read_text())
    (tmp_path / "model.tflite.gantool.json").write_text(json.dumps({**meta, "num_classes": 1000}))
    with pytest.raises(GantoolError, match="metadata says 1000 classes, but the program's label embedding has 10"):
        open_generator(tmp_path / "model.tflite")
