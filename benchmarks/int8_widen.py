"""Why int8 files widen narrow convolutions: the nano model's second up-sampling layer has 2x2 phase
convolutions of 8 output channels, below the 16 that MLAS's symmetric VNNI convolution needs
(qlinearconv.cc, TryConvSymPrepack). Widened to 16 (zero weights, a uint8 Slice of the real channels,
as gantool.export.makers.int8_phase now writes every int8 file) they run in it. This times a nano file
without the widening (/tmp/nano_old.onnx: the bundled file before it was re-formed, or any such file
given as the first argument) against the same file widened, interleaved, and checks the pixels agree.

    git show 24c0df3:gantool/runtime/models/nano.seeded.int8.onnx > /tmp/nano_old.onnx
    python benchmarks/int8_widen.py [FILE]
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
import onnx

from gantool.export.makers.int8_phase import _widen_narrow_convs
from gantool.export.makers.onnx_graph import QGraph, drop_dead, drop_unused_initializers
from gantool.runtime.onnx import OnnxGenerator

src = sys.argv[1] if len(sys.argv) > 1 else "/tmp/nano_old.onnx"
model = onnx.load(str(src))
g = QGraph(model)
widened = _widen_narrow_convs(g)
print("widened convs:", len(widened))
flat = []
for n in g.graph.node:
    flat.extend(widened.get(id(n), [n]))
del g.graph.node[:]
g.graph.node.extend(flat)
drop_dead(g)
drop_unused_initializers(g)
onnx.save(model, "/tmp/nano_wide.onnx")
a, b = OnnxGenerator(src), OnnxGenerator("/tmp/nano_wide.onnx")
seeds = {n: np.arange(n, dtype=np.int64) for n in (1, 256)}
lab = {n: np.arange(n) % 10 for n in (1, 256)}
pa, pb = a.run_seeds(seeds[256], lab[256]), b.run_seeds(seeds[256], lab[256])
print("identical pixels:", np.array_equal(pa, pb))


def t(g, n, reps):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        g.run_seeds(seeds[n], lab[n])
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


for g_ in (a, b):
    t(g_, 256, 5)
res = {"orig": {1: [], 256: []}, "wide": {1: [], 256: []}}
for _ in range(8):
    for name, g_ in (("orig", a), ("wide", b)):
        res[name][256].append(t(g_, 256, 10))
        res[name][1].append(t(g_, 1, 100))
for name in res:
    print(
        name,
        f"b256 {256 / statistics.median(res[name][256]):,.0f} img/s, b1 {statistics.median(res[name][1]) * 1e3:.3f} ms",
    )
