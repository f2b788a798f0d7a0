"""Verifying backends that need torch or onnx, as `Generator`s (see gantool.artifacts.BACKENDS)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Optional

import numpy as np

from gantool.errors import GantoolError, first_line
from gantool.runtime.generator import Generator
from gantool.runtime.metadata import read_metadata


class ReferenceGenerator(Generator):
    """onnx.reference: the ONNX spec's own interpreter (slow; verification runs it at batch 1)."""

    backend = "onnx.reference"

    def __init__(self, path: Path) -> None:
        import onnx
        from onnx.reference import ReferenceEvaluator

        super().__init__(read_metadata(path), path)
        try:
            self._evaluator = ReferenceEvaluator(onnx.load(str(path)))
        except Exception as e:
            raise GantoolError(f"{str(path)!r}: onnx.reference cannot load it ({first_line(e)})") from None

    def _run(self, z: np.ndarray, labels: Optional[np.ndarray]) -> np.ndarray:
        feeds = {"z": z} if labels is None else {"z": z, "label": labels}
        return np.asarray(self._evaluator.run(None, feeds)[0])


class TorchScriptGenerator(Generator):
    """A TorchScript file run by torch.jit (which executes code stored in the file: trust it first)."""

    backend = "torchscript"

    def __init__(self, path: Path) -> None:
        import torch

        super().__init__(read_metadata(path), path)
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=FutureWarning)  # jit.load's deprecation notice
                self.module = torch.jit.load(str(path), map_location="cpu").eval()
        except Exception as e:
            raise GantoolError(f"{str(path)!r} is not a loadable TorchScript file ({first_line(e)})") from None

    def _run(self, z: np.ndarray, labels: Optional[np.ndarray]) -> np.ndarray:
        import torch

        args = [torch.from_numpy(z)] + ([torch.from_numpy(labels)] if labels is not None else [])
        with torch.inference_mode():
            return self.module(*args).numpy()
