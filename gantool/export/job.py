"""What every maker gets, and what it gives back: the maker protocol of the artifact table.

    maker(job: ExportJob, target: Target) -> MakerNote | None

`job` holds what every maker may need (the module to export, example inputs, the config);
`target` says which row is being made, where to write it, the file it is made from (the row's
`source`) and the metadata to store with it. A maker imports its backend lazily, writes
`target.path` (and any companions) and may return a MakerNote for the verification report. The
makers live in gantool.export.makers (one module per format family) and gantool.export.c.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Protocol

import numpy as np
import torch

from gantool.artifacts import ArtifactKind
from gantool.core.errors import GantoolError
from gantool.export.config import ExportConfig
from gantool.export.seeds import calibration_seed
from gantool.runtime.latents import seeded_inputs


@dataclass
class ExportJob:
    module: torch.nn.Module  # PixelGenerator of the inference form, eval mode
    inputs: tuple[torch.Tensor, ...]  # example inputs, batch >= 2
    input_names: list[str]  # ["z"] or ["z", "label"]
    cfg: ExportConfig
    metadata: dict[str, Any]  # the fp32 ONNX file's metadata; targets adapt format/variant
    quant_module: Optional[torch.nn.Module] = None  # PixelGenerator of the int8-friendly form, if any
    quant_note: str = ""  # how the int8 file is built, or why it will not be faster

    def calibration_feeds(self) -> dict[str, np.ndarray]:
        """The latents (and labels) every int8 maker calibrates on: the same for ONNX, ExecuTorch and
        LiteRT, so their int8 files are comparable. z (N, Z) float32 [, label (N,) int64]."""
        meta = self.metadata
        n = self.cfg.calibration_samples
        return seeded_inputs(n, meta["latent_dim"], meta["num_classes"], seed=calibration_seed(self.cfg.seed))


@dataclass
class Target:
    kind: ArtifactKind
    path: Path  # where to write (inside the staging folder)
    source: Optional[Path]  # the file of kind.source, already made and verified
    metadata: dict[str, Any]  # to store in or beside the file

    def source_file(self) -> Path:
        """The file this row is made from (a row with a source: its file is made first)."""
        if self.source is None:
            raise GantoolError(f"{self.kind.file} is made from its source row's file, and none was made")
        return self.source


@dataclass
class MakerNote:
    """What a maker tells the report about the file it made: `say`, a line the CLI prints after the
    export (None: nothing to say), and `facts`, JSON values recorded under the file's name in
    verification.json's "notes" (the operators outside a delegate, a fixed batch, flash bytes …)."""

    say: Optional[str] = None
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**self.facts, **({"say": self.say} if self.say is not None else {})}


class Maker(Protocol):
    """A row's maker (gantool.artifacts rows name it as "module:function")."""

    def __call__(self, job: ExportJob, target: Target) -> Optional[MakerNote]: ...
