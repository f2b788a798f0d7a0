"""Verifying backends that need torch or onnx, as `Generator`s (see gantool.artifacts.BACKENDS)."""

from __future__ import annotations

import contextlib
import logging
import warnings
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np

from gantool.core.errors import GantoolError, first_line
from gantool.export.verification.archive import check_archive
from gantool.runtime.generator import Generator
from gantool.runtime.metadata import read_metadata
from gantool.runtime.signature import check_embedding_rows, check_signature

ET_DTYPES = {6: "float32", 4: "int64"}  # ExecuTorch ScalarType codes
OV_DTYPES = {"f32": "float32", "i64": "int64"}


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
        outputs: Any = self._evaluator.run(None, feeds)
        return np.asarray(outputs[0])


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


class TorchExportGenerator(Generator):
    """A `.pt2` file (torch.export.save), run as the module torch.export.load rebuilds."""

    backend = "torch.export"

    def __init__(self, path: Path) -> None:
        import torch

        check_archive(path)  # before torch touches it: torch.export.load can run code from a crafted file
        super().__init__(read_metadata(path), path)
        try:
            with warnings.catch_warnings(), _quiet_logger("torch"):
                warnings.simplefilter("ignore")
                self.module = torch.export.load(str(path)).module()
        except Exception as e:
            raise GantoolError(f"{str(path)!r} is not a loadable torch.export (.pt2) file ({first_line(e)})") from None

    _run = TorchScriptGenerator._run


@contextlib.contextmanager
def _quiet_logger(name: str) -> Iterator[None]:
    """torch.export.load logs a traceback of ~40 lines before re-raising; gantool reports one line."""
    logger = logging.getLogger(name)
    level, logger.disabled = logger.disabled, True
    try:
        yield
    finally:
        logger.disabled = level


class ExecuTorchGenerator(Generator):
    """A `.pte` program run by ExecuTorch's own runtime (executorch.runtime), batches of <= 256."""

    backend = "executorch"

    def __init__(self, path: Path) -> None:
        from gantool.core.native import quiet_native_stderr
        from gantool.export.makers.executorch import EXECUTORCH_MAX_BATCH

        super().__init__(read_metadata(path), path, max_batch=EXECUTORCH_MAX_BATCH)
        try:
            with quiet_native_stderr():
                from executorch.runtime import Runtime

                self._method = Runtime.get().load_program(Path(path)).load_method("forward")
            meta = self._method.metadata
            sig = [
                [
                    (None, ET_DTYPES.get(int(t.dtype()), str(t.dtype())), list(t.sizes()))
                    for t in (getter(i) for i in range(count))
                ]
                for getter, count in (
                    (meta.input_tensor_meta, meta.num_inputs()),
                    (meta.output_tensor_meta, meta.num_outputs()),
                )
            ]
        except ModuleNotFoundError:
            raise
        except Exception as e:
            raise GantoolError(f"{str(path)!r} is not a loadable ExecuTorch program ({first_line(e)})") from None
        check_signature(self.metadata, path, *sig)  # the sidecar is believed only where the program agrees

    def _run(self, z: np.ndarray, labels: Optional[np.ndarray]) -> np.ndarray:
        import torch

        args = (torch.from_numpy(z),) + ((torch.from_numpy(labels),) if labels is not None else ())
        from gantool.core.native import quiet_native_stderr

        try:
            with quiet_native_stderr():  # a refused input logs ~9 lines of C++ before the RuntimeError
                return self._method.execute(args)[0].numpy()
        except RuntimeError as e:
            raise GantoolError(f"{str(self.path)!r}: ExecuTorch could not run the program ({first_line(e)})") from None


class OpenVINOGenerator(Generator):
    """OpenVINO IR (model.xml + model.bin) on OpenVINO's CPU plugin, at a given inference precision."""

    backend = "openvino"

    def __init__(self, path: Path, precision: str = "f32") -> None:
        import openvino as ov

        super().__init__(read_metadata(path), path)
        try:
            core = ov.Core()
            model = core.read_model(str(path))
            rows = _ov_embedding_rows(model)
            compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": precision})
            sig = [
                [
                    (
                        p.get_any_name(),
                        OV_DTYPES.get(p.get_element_type().get_type_name(), "?"),
                        [d.get_length() if d.is_static else None for d in p.get_partial_shape()],
                    )
                    for p in ports
                ]
                for ports in (compiled.inputs, compiled.outputs)
            ]
        except Exception as e:
            raise GantoolError(f"{str(path)!r} is not a loadable OpenVINO IR ({first_line(e)})") from None
        check_signature(self.metadata, path, *sig)  # the sidecar is believed only where the IR agrees
        check_embedding_rows(self.metadata, path, rows)
        self.precision = precision
        self._request = compiled.create_infer_request()
        self._output = compiled.output(0)

    def _run(self, z: np.ndarray, labels: Optional[np.ndarray]) -> np.ndarray:
        feeds = {"z": z} if labels is None else {"z": z, "label": labels}
        return np.array(self._request.infer(feeds)[self._output])


def _ov_embedding_rows(model) -> Optional[int]:
    """The label embedding's row count: the data of the Gather that the 'label' input indexes."""
    for op in model.get_ordered_ops():
        if op.get_type_name() != "Gather":
            continue
        index = op.input_value(1).get_node()
        while index.get_type_name() == "Convert":
            index = index.input_value(0).get_node()
        shape = op.input_value(0).get_partial_shape()
        if (
            index.get_type_name() == "Parameter"
            and "label" in index.output(0).get_names()
            and shape.rank.is_static
            and shape[0].is_static
        ):
            return int(shape[0].get_length())
    return None


def open_openvino_bf16(path: Path) -> OpenVINOGenerator:
    """OpenVINO's default on CPUs with bf16 support: faster, less exact."""
    gen = OpenVINOGenerator(path, precision="bf16")
    gen.backend = "openvino.bf16"
    return gen
