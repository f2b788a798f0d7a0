"""Every artifact kind gantool makes, as one table, and one way to open any of them (torch-free).

A row (`ArtifactKind`) names the file, the export option that asks for it, the function that
makes it, the backends that verify it (the first one also opens it), whether it is judged
exactly (atol against PyTorch eager) or by quality gates against the file it was made from,
and whether the torch-free runtime can open it. The exporter, `verify`, `bench`, `eval` and
`gantool info` all read this table: adding a format is one row here and one maker function.

    from gantool.artifacts import open_generator
    g = open_generator("export/model.int8.onnx")     # or a run dir, a .pt, .ts.pt, an export dir
    pixels = g(z, labels)                            # (N, C, H, W) float32 in [0, 1]

Makers and openers are named as "module:attribute" strings (or given as callables), imported
only when used, so reading this table imports neither torch nor onnx.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Union

from gantool.errors import GantoolError, GantoolFileNotFoundError

VERIFY_BATCHES = (1, 3, 64)
CHECKPOINT_SUFFIX = ".pt"
Ref = Union[str, Callable[..., Any]]


@dataclass(frozen=True)
class Backend:
    """A way to run a file: `opener(path, **options) -> Generator`."""

    name: str
    opener: Ref
    torch_free: bool = False
    batches: tuple[int, ...] = VERIFY_BATCHES  # batch sizes verification runs on it
    extra: Optional[str] = None  # the pip extra that provides it
    options: tuple[str, ...] = ()  # keyword options the opener takes (threads, providers, …)
    bench: bool = True  # `gantool bench` times it (the spec's reference interpreter is too slow to)


@dataclass(frozen=True)
class ArtifactKind:
    name: str  # the manifest's "kind": "onnx", "int8", …
    file: str  # file name in an export dir
    format: str  # the export option that asks for it: --onnx, --torchscript, …
    maker: Ref  # maker(job, target) -> dict | None  (notes for the report)
    backends: tuple[str, ...]  # the first opens it; each one is verified
    variant: str = "fp32"  # "fp32", or the --fp16 / --int8 option that also asks for it
    source: Optional[str] = None  # made from this kind's file (None: from the PyTorch module)
    gated: bool = False  # judged by pixel/FID gates against `source` rather than atol against eager
    seeded: bool = False  # takes seeds: judged at atol against `source` fed the same latents (computed in numpy)
    runtime: bool = False  # the torch-free Sampler and `gantool sample` open it
    extra: Optional[str] = None  # the pip extra needed to make it (named as the module it installs)
    companions: tuple[str, ...] = ()  # further files the maker writes beside `file`

    @property
    def suffix(self) -> str:
        """'.int8.onnx' for 'model.int8.onnx': how a renamed file is still recognised."""
        return self.file[self.file.index("."):]


BACKENDS: dict[str, Backend] = {}
ARTIFACTS: dict[str, ArtifactKind] = {}


def register_backend(backend: Backend) -> Backend:
    BACKENDS[backend.name] = backend
    return backend


def register_artifact(kind: ArtifactKind) -> ArtifactKind:
    if kind.source is not None and kind.source not in ARTIFACTS:
        raise ValueError(f"artifact {kind.name!r} is made from unknown kind {kind.source!r}")
    unknown = [b for b in kind.backends if b not in BACKENDS]
    if unknown or not kind.backends:
        raise ValueError(f"artifact {kind.name!r} names unknown backends {unknown}")
    ARTIFACTS[kind.name] = kind
    return kind


for _b in (
    Backend("onnxruntime", "gantool.runtime.onnx:OnnxGenerator", torch_free=True,
            options=("threads", "providers", "spin", "max_batch", "optimize")),
    Backend("onnx.reference", "gantool.export.backends:ReferenceGenerator", batches=(1,), bench=False),
    Backend("torchscript", "gantool.export.backends:TorchScriptGenerator"),
    Backend("pytorch", "gantool.toolkit.inference:open_checkpoint"),
    Backend("torch.export", "gantool.export.backends:TorchExportGenerator"),
    Backend("executorch", "gantool.export.backends:ExecuTorchGenerator", extra="executorch"),
    Backend("openvino", "gantool.export.backends:OpenVINOGenerator", extra="openvino"),
    Backend("openvino.bf16", "gantool.export.backends:open_openvino_bf16", extra="openvino"),
):
    register_backend(_b)

for _k in (
    ArtifactKind("torchscript", "model.ts.pt", "torchscript", "gantool.export.formats:export_torchscript",
                 ("torchscript",)),
    ArtifactKind("onnx", "model.onnx", "onnx", "gantool.export.formats:export_onnx",
                 ("onnxruntime", "onnx.reference"), runtime=True),
    ArtifactKind("fp16", "model.fp16.onnx", "onnx", "gantool.export.variants:make_fp16", ("onnxruntime",),
                 variant="fp16", source="onnx", gated=True, runtime=True),
    ArtifactKind("int8", "model.int8.onnx", "onnx", "gantool.export.variants:make_int8", ("onnxruntime",),
                 variant="int8", source="onnx", gated=True, runtime=True),
    ArtifactKind("pt2", "model.pt2", "pt2", "gantool.export.edge_formats:export_pt2", ("torch.export",)),
    ArtifactKind("ort", "model.ort", "ort", "gantool.export.edge_formats:export_ort", ("onnxruntime",),
                 source="onnx", runtime=True, companions=("model.required_operators.config",)),
    ArtifactKind("pte", "model.pte", "executorch", "gantool.export.edge_formats:export_executorch",
                 ("executorch",), extra="executorch", companions=("model.pte.gantool.json",)),
    ArtifactKind("pte-int8", "model.int8.pte", "executorch", "gantool.export.edge_formats:export_executorch_int8",
                 ("executorch",), variant="int8", source="pte", gated=True, extra="executorch",
                 companions=("model.int8.pte.gantool.json",)),
    ArtifactKind("seeded", "model.seeded.onnx", "seeded", "gantool.export.seeded:make_seeded", ("onnxruntime",),
                 source="onnx", seeded=True, runtime=True),
    ArtifactKind("seeded-fp16", "model.seeded.fp16.onnx", "seeded", "gantool.export.seeded:make_seeded",
                 ("onnxruntime",), variant="fp16", source="fp16", seeded=True, runtime=True),
    ArtifactKind("seeded-int8", "model.seeded.int8.onnx", "seeded", "gantool.export.seeded:make_seeded",
                 ("onnxruntime",), variant="int8", source="int8", seeded=True, runtime=True),
    # Judged by gates, not atol: OpenVINO's CPU plugin runs bf16 by default here, and even its f32
    # mode reorders sums (measured up to ~1e-3 on a trained model); both precisions are judged.
    ArtifactKind("openvino", "model.xml", "openvino", "gantool.export.edge_formats:export_openvino",
                 ("openvino", "openvino.bf16"), source="onnx", gated=True, extra="openvino",
                 companions=("model.bin", "model.xml.gantool.json")),
):
    register_artifact(_k)


def resolve(ref: Ref) -> Callable[..., Any]:
    """'package.module:attr' -> the attribute (imported now); a callable as is."""
    if callable(ref):
        return ref
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def formats() -> list[str]:
    return list(dict.fromkeys(k.format for k in ARTIFACTS.values()))


def variants() -> list[str]:
    return list(dict.fromkeys(k.variant for k in ARTIFACTS.values() if k.variant != "fp32"))


def artifact_for_file(path: str | os.PathLike) -> Optional[ArtifactKind]:
    """The row a file belongs to: by exact file name, else by its longest matching suffix."""
    name = Path(path).name
    exact = [k for k in ARTIFACTS.values() if k.file == name]
    if exact:
        return exact[0]
    matches = [k for k in ARTIFACTS.values() if name.endswith(k.suffix)]
    return max(matches, key=lambda k: len(k.suffix)) if matches else None


def open_backend(backend: str, path: str | os.PathLike, **options: Any):
    """Open `path` with one named backend; a missing extra is a one-line error naming it."""
    if backend not in BACKENDS:
        raise GantoolError(f"unknown backend {backend!r}; choose one of: {', '.join(BACKENDS)}")
    b = BACKENDS[backend]
    unknown = sorted(set(options) - set(b.options))
    if unknown:
        raise GantoolError(f"the {backend} backend does not take {', '.join(unknown)}")
    try:
        opener = resolve(b.opener)
    except ModuleNotFoundError as e:
        extra = b.extra or ("export" if (e.name or "").split(".")[0] in ("onnx", "onnxscript") else "train")
        raise GantoolError(f"the {backend} backend needs {e.name}; pip install 'gantool[{extra}]'") from None
    return opener(Path(path), **options)


def open_generator(source: str | os.PathLike, backend: Optional[str] = None, **options: Any):
    """Any gantool artifact as a Generator: a run dir or checkpoint (PyTorch eager), an export dir
    (its ONNX file), or an exported file of any kind in the table. torch is imported only for
    torch formats. `backend` picks another verifying backend than the row's first."""
    from gantool.export_dir import MANIFEST, read_export_dir

    path = Path(source)
    if path.is_dir():
        if not (path / MANIFEST).is_file():
            return open_backend(backend or "pytorch", path, **options)
        path = read_export_dir(path).primary()
    elif not path.exists():
        raise GantoolFileNotFoundError(f"{str(path)!r} does not exist")
    kind = artifact_for_file(path)
    if kind is None:
        if path.suffix == CHECKPOINT_SUFFIX:
            return open_backend(backend or "pytorch", path, **options)
        known = ", ".join(sorted({k.suffix for k in ARTIFACTS.values()} | {CHECKPOINT_SUFFIX}))
        raise GantoolError(f"{str(path)!r} is not a file gantool knows; it opens {known}, run dirs and export dirs")
    if backend is not None and backend not in kind.backends:
        raise GantoolError(f"{path.name} ({kind.name}) runs on {', '.join(kind.backends)}, not {backend!r}")
    return open_backend(backend or kind.backends[0], path, **options)
