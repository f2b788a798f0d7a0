"""How fast could any float graph form run in onnxruntime here? The matrix products a generator's
true multiply-adds need, timed alone in onnxruntime's MatMul, beside the fp32 file and ExecuTorch fp32.

    python benchmarks/fp32_bound.py [--models dcgan,small] [--out benchmarks/results/fp32_bound.md]

For each size (a short training: weights do not change speed) and batch 256 run the way gantool's
runtime runs it (split across the cores, one single-threaded session per share), interleaved:
  * the fp32 file (model.onnx: its ConvTranspose form, the fastest of the forms in fp32_forms.md);
  * ExecuTorch fp32 (XNNPACK);
  * the products alone, no im2col, col2im, interleave, normalization or activation: the projection
    (Gemm), each up-sampling layer as onnxruntime's ConvTranspose multiplies ([H*W, C_in] x
    [C_in, 16*C_out] per image, col2im left out) and as four output-centric phase products
    ([H*W, 4*C_in] x [4*C_in, C_out] per phase, the 2x2 windows' copies left out), and the image's
    3x3 convolution as [H*W, 9*C_in] x [9*C_in, 1].
A form whose products alone take longer than ExecuTorch's whole call cannot match it, whatever it
does around them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from gantool.assess.timing import median_seconds

sys.path.insert(0, str(Path(__file__).parent))
from int8_forms import trained_run  # noqa: E402
from precision_quality import cpu_model  # noqa: E402

BLOCKS = 5
BATCH = 256


def export_run(workdir: Path, name: str) -> Path:
    from gantool.export import ExportConfig, export

    run = trained_run(workdir, name)
    formats = ("onnx", "executorch")
    export(run, ExportConfig(out_dir=str(run / "export"), formats=formats, fid=False), progress=False)
    return run / "export"


def products(model_path: Path) -> dict[str, list[tuple[int, int, int]]]:
    """Per image: 'convtranspose' and 'phase' lists of (rows, K, N) products, the shared ones in both."""
    import onnx
    from onnx import numpy_helper, shape_inference

    model = shape_inference.infer_shapes(onnx.load(str(model_path)))
    inits = {t.name: numpy_helper.to_array(t).shape for t in model.graph.initializer}
    dims = {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in list(model.graph.value_info) + list(model.graph.input)
    }
    shared, ct, phase = [], [], []
    for n in model.graph.node:
        w = inits.get(n.input[1]) if len(n.input) > 1 else None
        if n.op_type == "Gemm" and w is not None:
            shared.append((1, w[1], w[0]))
        elif n.op_type == "ConvTranspose" and w is not None:
            h, wd = dims[n.input[0]][2:]
            ct.append((h * wd, w[0], 16 * w[1]))
            phase += [(h * wd, 4 * w[0], w[1])] * 4
        elif n.op_type == "Conv" and w is not None:
            h, wd = dims[n.input[0]][2:]
            shared.append((h * wd, w[1] * w[2] * w[3], w[0]))
    return {"convtranspose": shared + ct, "phase": shared + phase}


def matmul_call(shapes: list[tuple[int, int, int]], pool: ThreadPoolExecutor, parts: int):
    """One call running every product for BATCH images, split in `parts` shares as the runtime does."""
    from onnx import TensorProto, helper, numpy_helper

    from gantool.runtime.session import open_session

    rng = np.random.default_rng(0)
    share = BATCH // parts
    sessions = []
    for rows, k, n in shapes:
        graph = helper.make_graph(
            [helper.make_node("MatMul", ["a", "b"], ["c"])],
            "product",
            [helper.make_tensor_value_info("a", TensorProto.FLOAT, [share * rows, k])],
            [helper.make_tensor_value_info("c", TensorProto.FLOAT, [share * rows, n])],
            [numpy_helper.from_array(rng.standard_normal((k, n), dtype=np.float32), "b")],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
        a = rng.standard_normal((share * rows, k), dtype=np.float32)
        sessions.append((open_session(model.SerializeToString(), threads=1), a))

    def lane():
        for s, a in sessions:
            s.run(None, {"a": a})

    return lambda: [f.result() for f in [pool.submit(lane) for _ in range(parts)]]


def measure(export_dir: Path) -> dict[str, float]:
    from gantool.artifacts import open_backend
    from gantool.runtime.onnx import OnnxGenerator, usable_cores

    ours = OnnxGenerator(export_dir / "model.onnx")
    et = open_backend("executorch", export_dir / "model.pte")
    z = np.random.default_rng(0).standard_normal((BATCH, ours.latent_dim), dtype=np.float32)
    labels = np.arange(BATCH) % 10
    pool = ThreadPoolExecutor(usable_cores())
    shapes = products(export_dir / "model.onnx")
    runners = {
        "onnxruntime fp32 (model.onnx)": lambda: ours.images(z, labels),
        "ExecuTorch fp32": lambda: et.images(z, labels),
        "products alone, ConvTranspose's": matmul_call(shapes["convtranspose"], pool, ours.workers),
        "products alone, phase form's": matmul_call(shapes["phase"], pool, ours.workers),
    }
    times: dict[str, list[float]] = {k: [] for k in runners}
    for _ in range(BLOCKS):
        for k, f in runners.items():
            times[k].append(median_seconds(f, 6, warmup=2))
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="dcgan,small")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    lines = [
        f"fp32 bound, {cpu_model()}, {os.cpu_count()} cores; batch {BATCH}, split across the cores as the "
        f"runtime runs it; {BLOCKS} interleaved blocks, medians.",
        "",
        "| model | runner | ms per 256 images | img/s | vs ExecuTorch fp32 |",
        "|---|---|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            m = measure(export_run(Path(tmp), name))
            et = m["ExecuTorch fp32"]
            for k, t in m.items():
                lines.append(f"| {name} | {k} | {t * 1e3:.1f} | {BATCH / t:,.0f} | {et / t:.2f}x |")
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
