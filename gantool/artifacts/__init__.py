"""Every artifact kind gantool makes, as one table, and one way to open any of them (torch-free).

    from gantool.artifacts import ARTIFACTS, open_generator
    g = open_generator("export/model.int8.onnx")     # or a run dir, a .pt, .ts.pt, an export dir
    pixels = g(z, labels)                            # (N, C, H, W) float32 in [0, 1]

`registry` defines a row and holds the registries, `rows` fills them, `exportdir` reads export
directories (their manifest.json), `opener` opens any file through its row's backend.
"""

from gantool.artifacts import rows  # noqa: F401  (fills the registries)
from gantool.artifacts.exportdir import ExportDir, read_export_dir
from gantool.artifacts.opener import open_backend, open_generator, open_runtime
from gantool.artifacts.registry import (
    ARTIFACTS,
    BACKENDS,
    CHECKPOINT_SUFFIX,
    VERIFY_BATCHES,
    ArtifactKind,
    Backend,
    artifact_for_file,
    groups,
    register_artifact,
    register_backend,
    resolve,
    variants,
)

__all__ = [
    "ARTIFACTS",
    "BACKENDS",
    "CHECKPOINT_SUFFIX",
    "VERIFY_BATCHES",
    "ArtifactKind",
    "Backend",
    "ExportDir",
    "artifact_for_file",
    "groups",
    "open_backend",
    "open_generator",
    "open_runtime",
    "read_export_dir",
    "register_artifact",
    "register_backend",
    "resolve",
    "variants",
]
