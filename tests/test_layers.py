"""The package's shape: no import circle between any two modules of gantool (lint-imports checks
the layer order and circles between sibling packages; this finds circles between single modules,
a package's __init__ and its own modules included)."""

from __future__ import annotations

import pytest

grimp = pytest.importorskip("grimp")


def test_no_import_circles():
    graph = grimp.build_graph("gantool")
    circles = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                circles.add(" -> ".join((module,) + tuple(back)))
    assert not circles, "import circles:\n" + "\n".join(sorted(circles))
