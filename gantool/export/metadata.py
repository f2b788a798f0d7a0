"""Metadata written into every artifact (ONNX metadata_props, TorchScript _extra_files).

The runtime reads it back (gantool.runtime.metadata) and needs nothing else.
"""

from __future__ import annotations

from typing import Any

from gantool import __version__
from gantool.runtime.metadata import METADATA_FORMAT_VERSION, METADATA_KEY, TS_EXTRA_FILE, read_metadata

__all__ = ["build_metadata", "read_metadata", "METADATA_KEY", "TS_EXTRA_FILE"]


def build_metadata(ckpt: dict[str, Any], checkpoint_sha256: str, *, opset: int | None, variant: str,
                   artifact_format: str) -> dict[str, Any]:
    model = ckpt["model_config"]
    conditional = model["num_classes"] > 0
    return {
        "format_version": METADATA_FORMAT_VERSION,
        "gantool_version": __version__,
        "artifact_format": artifact_format,  # "onnx" | "torchscript"
        "variant": variant,  # "fp32" | "fp16" | "int8"
        "model": model["arch"],
        "latent_dim": model["latent_dim"],
        "num_classes": model["num_classes"],
        "image_shape": [model["channels"], model["image_size"], model["image_size"]],
        "value_range": [0.0, 1.0],
        "inputs": ["z", "label"] if conditional else ["z"],
        "outputs": ["image"],
        "opset": opset,
        "model_config": model,
        "train_config": ckpt["train_config"],
        "checkpoint_sha256": checkpoint_sha256,
        "trained_steps": int(ckpt.get("step", 0)),
    }
