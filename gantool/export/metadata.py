"""Metadata written into every artifact (ONNX metadata_props, zip members, or a sidecar).

The runtime reads it back (gantool.runtime.metadata) and needs nothing else.
"""

from __future__ import annotations

from typing import Any, Optional

from gantool import __version__
from gantool.runtime.metadata import METADATA_FORMAT_VERSION, METADATA_KEY, TS_EXTRA_FILE, read_metadata
from gantool.toolkit.checkpoint import Checkpoint
from gantool.toolkit.inference import model_metadata

__all__ = ["build_metadata", "read_metadata", "METADATA_KEY", "TS_EXTRA_FILE"]


# Where a run lived on the machine that trained it says nothing about the model and should not ship.
# (data_dir stays: `gantool eval` on an exported file reads its reference digits from there by default.)
BUILD_PATHS = ("run_dir",)


def shippable(train_config: dict[str, Any]) -> dict[str, Any]:
    """A training config without the build machine's paths (they become null)."""
    return {**train_config, **{k: None for k in BUILD_PATHS if k in train_config}}


def build_metadata(ckpt: Checkpoint, *, artifact_format: str, variant: str, opset: Optional[int]) -> dict[str, Any]:
    return {
        "format_version": METADATA_FORMAT_VERSION,
        "gantool_version": __version__,
        "artifact_format": artifact_format,  # the artifact table's format: "onnx", "torchscript", …
        "variant": variant,  # "fp32" | "fp16" | "int8"
        **model_metadata(ckpt.model),
        "opset": opset,
        "model_config": ckpt.train.to_dict()["model"],
        "train_config": shippable(ckpt.train.to_dict()),
        "checkpoint_sha256": ckpt.sha256,
        "trained_steps": ckpt.step,
    }
