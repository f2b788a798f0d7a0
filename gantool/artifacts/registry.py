"""The artifact table's leaf module: what a row is, the registries rows fill, and the lookups.

A row (`ArtifactKind`) is one kind of exported file: its name in an export dir, the option group
that asks for it (`gantool export --GROUP`), the function that makes it, the backends that verify
it (the first also opens it), where its gantool metadata lives, whether it is verified exactly
(atol against PyTorch eager) or by quality gates against the file it was made from, and the pip
extra it needs. A `Backend` row is one way to run a file. `gantool.artifacts.rows` registers the
rows; everything else (the exporter, verify, bench, info, formats, the CLI's options, the tests,
`open_generator()` and the torch-free Sampler) reads them from here. Makers and openers are
"module:attribute" strings imported only when used, so reading the table imports neither torch
nor onnx. A row that names an unknown backend, source, metadata place or option group is a
one-line error at import, naming the row.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional, Union

Ref = Union[str, Callable[..., Any]]
VERIFY_BATCHES = (1, 3, 64)
CHECKPOINT_SUFFIX = ".pt"
SIDECAR_SUFFIX = ".gantool.json"
ZIP_MEMBER = "gantool.json"
# Where a file keeps its gantool metadata (gantool.runtime.metadata reads each, the exporter writes
# "sidecar" itself): ONNX metadata_props, a `gantool.json` member of a zip archive (TorchScript,
# torch.export: the maker passes it to torch), or a `<file>.gantool.json` beside the file.
METADATA_PLACES = ("onnx", "zip", "sidecar")


@dataclass(frozen=True)
class Backend:
    """A way to run a file: `opener(path, **options) -> Generator`."""

    name: str
    opener: Ref
    torch_free: bool = False  # the runtime layer's own (numpy + onnxruntime-style runtimes, no torch)
    batches: tuple[int, ...] = VERIFY_BATCHES  # batch sizes verification runs on it
    extra: Optional[str] = None  # the pip extra that installs it: pip install 'gantool[EXTRA]'
    needs: Optional[str] = None  # the module whose presence proves that extra is installed
    options: tuple[str, ...] = ()  # keyword options the opener takes (threads, providers, …)
    bench: bool = True  # `gantool bench` times it (the spec's reference interpreter is too slow to)


@dataclass(frozen=True)
class ArtifactKind:
    name: str  # the manifest's "kind": "onnx", "int8", …
    file: str  # file name in an export dir
    group: str  # the option group that asks for it: `gantool export --GROUP` (ExportConfig.formats)
    maker: Ref  # maker(job, target) -> dict | None  (notes for the report)
    backends: tuple[str, ...]  # the first opens it; each one is verified
    metadata: str = "onnx"  # where its gantool metadata lives: one of METADATA_PLACES
    variant: str = "fp32"  # "fp32", or the --fp16 / --int8 option that also asks for it
    source: Optional[str] = None  # made from this kind's file (None: from the PyTorch module)
    gated: bool = False  # verified by pixel/FID gates against `source` rather than atol against eager
    seeded: bool = False  # takes seeds: verified at atol against `source` fed the same latents (computed in numpy)
    extra: Optional[str] = None  # the pip extra needed to make it: pip install 'gantool[EXTRA]'
    needs: Optional[str] = None  # the module whose presence proves that extra is installed
    companions: tuple[str, ...] = ()  # further files the maker writes beside `file`
    verifier: Optional[Ref] = None  # gated rows with gates of their own: (kind, path, source, cfg) -> GateChecks
    archs: tuple[str, ...] = ()  # the architectures its maker handles (empty: every one)
    precheck: Optional[Ref] = None  # precheck(generator, cfg): refuses before anything is made (a budget)
    help: str = ""  # the --GROUP option's help (given on the group's first row)

    @property
    def suffix(self) -> str:
        """'.int8.onnx' for 'model.int8.onnx': how a renamed file is still recognised."""
        return self.file[self.file.index(".") :]

    @property
    def runtime(self) -> bool:
        """The torch-free Sampler and `gantool sample` open it (its first backend is torch-free)."""
        return BACKENDS[self.backends[0]].torch_free

    @property
    def sidecar(self) -> Optional[str]:
        return self.file + SIDECAR_SUFFIX if self.metadata == "sidecar" else None

    @property
    def all_companions(self) -> tuple[str, ...]:
        """Every file that ships beside `file`: the maker's companions and the metadata sidecar."""
        return self.companions + ((self.sidecar,) if self.sidecar else ())

    @property
    def option(self) -> str:
        """What asks for it: --GROUP, plus --VARIANT when its group also has an fp32 row."""
        plain = any(k.group == self.group and k.variant == "fp32" for k in ARTIFACTS.values())
        return f"--{self.group}" + (f" --{self.variant}" if self.variant != "fp32" and plain else "")


BACKENDS: dict[str, Backend] = {}
ARTIFACTS: dict[str, ArtifactKind] = {}
GROUP_HELP: dict[str, str] = {}  # option group -> help text of its --GROUP option
VARIANT_HELP: dict[str, str] = {}  # reduced-precision variant -> help text of its --VARIANT option


class TableError(ValueError):
    """A contributor's row is inconsistent: raised at import, one line, naming the row."""


def register_backend(backend: Backend) -> Backend:
    if backend.name in BACKENDS:
        raise TableError(f"backend row {backend.name!r} is registered twice")
    if (backend.extra is None) != (backend.needs is None):
        raise TableError(f"backend row {backend.name!r}: give both extra= (pip extra) and needs= (module) or neither")
    BACKENDS[backend.name] = backend
    return backend


def register_variant(name: str, help: str) -> None:
    VARIANT_HELP[name] = help


def register_artifact(kind: ArtifactKind) -> ArtifactKind:
    where = f"artifact row {kind.name!r}"
    if kind.name in ARTIFACTS:
        raise TableError(f"{where} is registered twice")
    if kind.source is not None and kind.source not in ARTIFACTS:
        raise TableError(f"{where} is made from unknown kind {kind.source!r} (register that row first)")
    unknown = [b for b in kind.backends if b not in BACKENDS]
    if unknown or not kind.backends:
        raise TableError(f"{where} names unknown backends {unknown or '(none)'}; known: {', '.join(BACKENDS)}")
    if kind.metadata not in METADATA_PLACES:
        raise TableError(
            f"{where} keeps its metadata in {kind.metadata!r}, which the reader does not know; "
            f"choose one of {', '.join(METADATA_PLACES)}"
        )
    if kind.variant != "fp32" and kind.variant not in VARIANT_HELP:
        raise TableError(
            f"{where} is variant {kind.variant!r}, which has no --{kind.variant} option; register_variant it first"
        )
    if kind.help:
        if kind.group in GROUP_HELP:
            raise TableError(f"{where}: option group --{kind.group} already has its help text")
        GROUP_HELP[kind.group] = kind.help
    elif kind.group not in GROUP_HELP:
        raise TableError(f"{where} is the first row of option group --{kind.group}: give it help=")
    if (kind.extra is None) != (kind.needs is None):
        raise TableError(f"{where}: give both extra= (pip extra) and needs= (module) or neither")
    if kind.verifier is not None and not (kind.gated and kind.source):
        raise TableError(f"{where} has a verifier of its own, so it must be gated against a source row")
    if "." not in kind.file or "/" in kind.file:
        raise TableError(f"{where}: file {kind.file!r} must be a plain name with a suffix")
    ARTIFACTS[kind.name] = kind
    return kind


def resolve(ref: Ref) -> Callable[..., Any]:
    """'package.module:attr' -> the attribute (imported now); a callable as is."""
    if callable(ref):
        return ref
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def groups() -> list[str]:
    """The export option groups (--onnx, --torchscript, …), in table order."""
    return list(dict.fromkeys(k.group for k in ARTIFACTS.values()))


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


def known_suffixes() -> str:
    return ", ".join(sorted({k.suffix for k in ARTIFACTS.values()} | {CHECKPOINT_SUFFIX}))
