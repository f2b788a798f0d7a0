"""An editor for a quantized ONNX graph, used by the int8 phase rewrite (gantool.export.makers.int8_phase):
producer and consumer lookups, new names, initializers and nodes, and the sweep of what nothing reads."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np


class QGraph:
    """Producer and consumer lookups over an ONNX graph, and new names, initializers and nodes."""

    def __init__(self, model: Any, first_name: int = 0) -> None:
        from onnx import numpy_helper

        self.model, self.graph = model, model.graph
        self.inits = {t.name: t for t in self.graph.initializer}
        self.producer = {o: n for n in self.graph.node for o in n.output}
        self.consumers: dict[str, list] = {}
        for n in self.graph.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
        self._np = numpy_helper
        self._count = first_name  # names made so far: a second editor of the same model goes on from them
        self._shapes: Optional[dict[str, list]] = None
        # names already in the model (a file re-formed by .ci/reform_int8.py has phase_* names of its own)
        self._taken = (
            set(self.inits) | {n.name for n in self.graph.node} | {o for n in self.graph.node for o in n.output}
        )

    def spatial(self, tensor: str) -> Optional[tuple[int, int]]:
        """(H, W) of a 4-D tensor, from shape inference (None when not static)."""
        if self._shapes is None:
            from onnx import shape_inference

            inferred = shape_inference.infer_shapes(self.model)
            self._shapes = {
                v.name: [d.dim_value if d.HasField("dim_value") else None for d in v.type.tensor_type.shape.dim]
                for v in list(inferred.graph.value_info) + list(inferred.graph.input)
            }
        dims = self._shapes.get(tensor)
        if dims is None or len(dims) != 4 or not all(dims[2:]):
            return None
        return int(dims[2]), int(dims[3])

    def array(self, name: str) -> Optional[np.ndarray]:
        return self._np.to_array(self.inits[name]) if name in self.inits else None

    def const(self, stem: str, value: np.ndarray) -> str:
        name = self.name(stem)
        tensor = self._np.from_array(np.asarray(value), name)
        self.graph.initializer.append(tensor)
        self.inits[name] = tensor
        return name

    def name(self, stem: str) -> str:
        self._count += 1
        while f"phase_{stem}_{self._count}" in self._taken:
            self._count += 1
        self._taken.add(f"phase_{stem}_{self._count}")
        return f"phase_{stem}_{self._count}"

    @property
    def names_used(self) -> int:
        return self._count

    def one_consumer(self, tensor: str, op: str):
        users = self.consumers.get(tensor, [])
        return users[0] if len(users) == 1 and users[0].op_type == op else None


def read_names(graph: Any) -> set[str]:
    """Every tensor name the nodes of `graph` read, those of its subgraphs (If, Loop) included: a
    subgraph may read the outer graph's values by name."""
    from onnx import AttributeProto

    names = set()
    for node in graph.node:
        names.update(node.input)
        for attr in node.attribute:
            subs = [attr.g] if attr.type == AttributeProto.GRAPH else list(attr.graphs)
            for sub in subs:
                names |= read_names(sub) | {o.name for o in sub.output}
    return names


def drop_dead(g: QGraph) -> None:
    """Remove nodes whose outputs nothing reads (the replaced blocks' weight DequantizeLinears)."""
    outputs = {o.name for o in g.graph.output}
    while True:
        read = read_names(g.graph) | outputs
        dead = [n for n in g.graph.node if not any(o in read for o in n.output)]
        if not dead:
            return
        for n in dead:
            g.graph.node.remove(n)


def drop_unused_initializers(g: QGraph) -> None:
    used = read_names(g.graph) | {o.name for o in g.graph.output}
    keep = [t for t in g.graph.initializer if t.name in used]
    del g.graph.initializer[:]
    g.graph.initializer.extend(keep)
