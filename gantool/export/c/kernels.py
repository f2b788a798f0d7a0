"""The C kernels of the plain-C export: real C files in kernels/, put into each generated file.

core.c and table.c are in every generated file; d2s.c (between them) only when the graph has a
DepthToSpace (the sub-pixel form of earlier int8 files) and phase.c only when it has phase groups: an
unused static function fails -Werror=unused-function, and earlier files must regenerate byte for byte.
The files are fragments of one translation unit: the generated file's includes and its `acc` buffer
come first (kernels/prelude.h stands in for them when the tests compile the kernels alone). The
arithmetic is onnxruntime's QDQ arithmetic (see gantool/export/c/lower.py).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

KERNEL_FILES = ("core.c", "d2s.c", "table.c", "phase.c")


@lru_cache(maxsize=None)
def kernel(name: str) -> str:
    """The text of kernels/NAME (read once, when the first C file is generated)."""
    if name not in KERNEL_FILES:
        raise ValueError(f"no C kernel file {name!r}; known: {', '.join(KERNEL_FILES)}")
    return (resources.files("gantool.export.c") / "kernels" / name).read_text(encoding="utf-8")


def kernels_for(d2s: bool, phases: bool) -> str:
    """The kernels a graph needs, in the order the generated file holds them."""
    text = kernel("core.c") + (kernel("d2s.c") if d2s else "") + kernel("table.c")
    return text + ("\n" + kernel("phase.c") if phases else "")
