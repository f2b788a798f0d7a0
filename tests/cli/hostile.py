"""Builders of hostile and mistaken input files, for the hostile-input table (test_hostile_inputs.py)."""

from __future__ import annotations

import gzip
import json
import os
import pickle
import shutil
import struct
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

PWNED = Path("/tmp/gantool-hostile-pwned")  # a payload that ran would create this


class Evil:
    def __reduce__(self):
        return (os.system, (f"touch {PWNED}",))


def onnx_meta(src: Path, dst: Path, change: Callable[[dict], Any]) -> Path:
    """A copy of an exported ONNX file whose gantool metadata is change(meta) (a dict, or raw text)."""
    import onnx

    model = onnx.load(str(src))
    prop = next(p for p in model.metadata_props if p.key == "gantool")
    new = change(json.loads(prop.value))
    prop.value = new if isinstance(new, str) else json.dumps(new)
    onnx.save(model, str(dst))
    return dst


def _graph(dst: Path, nodes, inits, meta: dict, out_shape=("N", 1, 28, 28)) -> Path:
    import onnx
    from onnx import TensorProto, helper

    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 8])
    img = helper.make_tensor_value_info("image", TensorProto.FLOAT, list(out_shape))
    model = helper.make_model(
        helper.make_graph(nodes, "g", [z], [img], inits), opset_imports=[helper.make_opsetid("", 18)]
    )
    entry = model.metadata_props.add()
    entry.key, entry.value = "gantool", json.dumps(meta)
    onnx.save(model, str(dst))
    return dst


UNCOND = {"latent_dim": 8, "num_classes": 0, "image_shape": [1, 28, 28], "inputs": ["z"], "outputs": ["image"]}


def huge_buffer_onnx(dst: Path) -> Path:
    """A graph whose output shape is computed at run time: 4 TB of floats."""
    from onnx import TensorProto, helper, numpy_helper

    inits = [
        numpy_helper.from_array(np.array([1, 1, 100000, 10000000], np.float32), "big"),
        numpy_helper.from_array(np.array(0, np.float32), "zero"),
    ]
    nodes = [
        helper.make_node("ReduceMean", ["z"], ["m"], keepdims=0),
        helper.make_node("Mul", ["m", "zero"], ["m0"]),
        helper.make_node("Add", ["m0", "big"], ["shf"]),
        helper.make_node("Cast", ["shf"], ["sh"], to=TensorProto.INT64),
        helper.make_node("Expand", ["m", "sh"], ["image"]),
    ]
    return _graph(dst, nodes, inits, UNCOND)


def nan_onnx(dst: Path) -> Path:
    """A well-formed generator that outputs NaN pixels."""
    from onnx import helper, numpy_helper

    inits = [
        numpy_helper.from_array(np.zeros((8, 784), np.float32), "w"),
        numpy_helper.from_array(np.array([-1, 1, 28, 28], np.int64), "shape"),
        numpy_helper.from_array(np.array(np.nan, np.float32), "nan"),
    ]
    nodes = [
        helper.make_node("MatMul", ["z", "w"], ["h"]),
        helper.make_node("Add", ["h", "nan"], ["hn"]),
        helper.make_node("Reshape", ["hn", "shape"], ["image"]),
    ]
    return _graph(dst, nodes, inits, UNCOND)


def wrong_graph_shape_onnx(dst: Path) -> Path:
    """Metadata says 28x28 images; the graph declares 14x14."""
    from onnx import helper, numpy_helper

    inits = [
        numpy_helper.from_array(np.zeros((8, 196), np.float32), "w"),
        numpy_helper.from_array(np.array([-1, 1, 14, 14], np.int64), "shape"),
    ]
    nodes = [helper.make_node("MatMul", ["z", "w"], ["h"]), helper.make_node("Reshape", ["h", "shape"], ["image"])]
    return _graph(dst, nodes, inits, UNCOND, out_shape=("N", 1, 14, 14))


def edit_checkpoint(src: Path, dst: Path, change: Callable[[dict], None]) -> Path:
    """A copy of a checkpoint after change(raw_dict) (keys removed, configs mistyped, …)."""
    import torch

    raw = torch.load(src, weights_only=True)
    change(raw)
    torch.save(raw, dst)
    return dst


def evil_plain_pickle(dst: Path) -> Path:
    with open(dst, "wb") as f:
        pickle.dump({"format": "gantool-checkpoint", "x": Evil()}, f, protocol=4)
    return dst


def evil_zip_checkpoint(dst: Path) -> Path:
    import torch

    torch.save({"format": "gantool-checkpoint", "x": Evil()}, dst)
    return dst


def write_idx(path: Path, header_dims: list[int], data: bytes, compress: bool = True) -> Path:
    raw = bytes([0, 0, 0x08, len(header_dims)]) + struct.pack(f">{len(header_dims)}I", *header_dims) + data
    path.write_bytes(gzip.compress(raw) if compress else raw)
    return path


def idx_dir(d: Path, kind: str) -> Path:
    """A train IDX pair that is broken in one way."""
    d.mkdir(parents=True, exist_ok=True)
    n = 20
    images, labels = np.zeros((n, 28, 28), np.uint8).tobytes(), (np.arange(n) % 10).astype(np.uint8)
    img_dims, lab_dims = [n, 28, 28], [n]
    if kind == "zero-images":
        images, labels, img_dims, lab_dims = b"", np.zeros(0, np.uint8), [0, 28, 28], [0]
    elif kind == "overflow":
        img_dims = [2**32 - 1, 2**32 - 1, 2**32 - 1]
    elif kind == "labels-out-of-range":
        labels = np.full(n, 200, np.uint8)
    write_idx(d / "train-images-idx3-ubyte.gz", img_dims, images)
    write_idx(d / "train-labels-idx1-ubyte.gz", lab_dims, labels.tobytes())
    if kind == "corrupt-gz":
        (d / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b\x08garbage")
    return d


def edit_manifest(export_dir: Path, change: Callable[[dict], Any]) -> Path:
    path = export_dir / "manifest.json"
    new = change(json.loads(path.read_text()))
    path.write_text(new if isinstance(new, str) else json.dumps(new))
    return export_dir


def flip_byte(path: Path, where: float = 0.5) -> Path:
    """Flip the lowest bit of the byte at `where` (a fraction of the file): mid-file is weights."""
    data = bytearray(path.read_bytes())
    data[int(len(data) * where)] ^= 0x01
    path.write_bytes(bytes(data))
    return path


def rezip(path: Path) -> Path:
    """The same members, re-compressed: bytes change, contents do not."""
    tmp = path.with_suffix(".rezip")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    shutil.move(tmp, path)
    return path


def edit_zip_member(path: Path, suffix: str, change: Callable[[bytes], bytes]) -> Path:
    tmp = path.with_suffix(".edit")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info, change(data) if info.filename.endswith(suffix) else data)
    shutil.move(tmp, path)
    return path


def symlink_member(export_dir: Path, name: str, target: Path) -> Path:
    """An export whose member `name` is a symbolic link to `target` (outside the folder)."""
    target.write_bytes((export_dir / name).read_bytes())
    (export_dir / name).unlink()
    (export_dir / name).symlink_to(target)
    return export_dir
