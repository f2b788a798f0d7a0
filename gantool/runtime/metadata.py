"""Reading the metadata that travels inside every gantool artifact (torch-free).

ONNX files carry it as JSON under the `gantool` key of `metadata_props` (read
through onnxruntime's model meta, so the onnx package is not needed);
TorchScript files carry it as `extra/gantool.json` in their zip archive.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from gantool.errors import GantoolError, GantoolFileNotFoundError

METADATA_KEY = "gantool"
TS_EXTRA_FILE = "gantool.json"
METADATA_FORMAT_VERSION = 1


def read_metadata(path: str | Path) -> dict[str, Any]:
    """Metadata of an exported .onnx or TorchScript file; GantoolError if it has none."""
    path = Path(path)
    if not path.is_file():
        raise GantoolFileNotFoundError(f"{str(path)!r} does not exist")
    if zipfile.is_zipfile(path):
        return _read_torchscript(path)
    return read_onnx_metadata(path)


def read_onnx_metadata(path: str | Path) -> dict[str, Any]:
    import onnxruntime as ort

    try:
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise GantoolError(f"{str(path)!r} is not a loadable ONNX model ({msg[:160]})") from None
    return parse_metadata(session.get_modelmeta().custom_metadata_map.get(METADATA_KEY), path)


def _read_torchscript(path: Path) -> dict[str, Any]:
    with zipfile.ZipFile(path) as zf:
        names = [n for n in zf.namelist() if n.endswith(f"/extra/{TS_EXTRA_FILE}")]
        raw = zf.read(names[0]).decode("utf-8") if names else None
    return parse_metadata(raw, path)


def parse_metadata(raw: str | None, path: str | Path) -> dict[str, Any]:
    if not raw:
        raise GantoolError(f"{str(path)!r} has no gantool metadata; export it with `gantool export`")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError:
        raise GantoolError(f"{str(path)!r} has unreadable gantool metadata") from None
    for key in ("latent_dim", "num_classes", "image_shape", "inputs", "outputs"):
        if key not in meta:
            raise GantoolError(f"{str(path)!r} has incomplete gantool metadata (no {key!r})")
    return meta
