"""The torch-free sampler's files (fp32, int8, seeded) beside the same generator in PyTorch eager.

    python benchmarks/runtime_speed.py [--calls 400] [--models dcgan,nano,small,mlp]
        [--out benchmarks/results/runtime_speed.md]

For the default conditional `dcgan` (and its nano and small sizes) and `mlp` generators (as `make
demo` trains them; weights do not change speed, so a short training is used), measured interleaved
in one run on this CPU:
  * batch-1 latency: median of >= 200 calls after warm-up (model call, pixels out);
  * batch-256 throughput: images/s, median of several calls;
  * cold start: a fresh process importing the runtime, loading the file, first image;
  * this CPU's fp32 and int8 matrix-multiply peaks (one large GEMM each, same threads) and each
    file's achieved operations per second as a fraction of its peak;
  * the share of multiply-accumulates that run in integer kernels (onnxruntime's optimized graph).
Peers, the same model in the other runtimes gantool exports to, interleaved with the rest (each
where its extra is installed): ExecuTorch int8 and fp32 (XNNPACK), OpenVINO bf16 and int8 (CPU plugin; NNCF) and
LiteRT int8 (XNNPack, fixed batch 1: batch 256 is 256 calls).
Targets (issues #10, #11 and #20): int8 batch-256 >= 1.5x fp32 ONNX and batch-1 <= 0.75x; the best ONNX
file vs eager: batch-1 >= 4x lower latency, batch-256 >= 2.5x throughput; a seeded file adds
<= 10% to batch-1 latency and <= 2% to batch-256 time; the best onnxruntime file vs the best peer:
batch-256 >= 1.0x its throughput, batch-1 <= 1.0x its latency; issue #32: onnxruntime int8 vs ExecuTorch
int8 and onnxruntime fp32 vs ExecuTorch fp32, each batch-256 >= 1.0x and batch-1 <= 1.0x, per model.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from gantool.assess.int8 import integer_mac_share
from gantool.assess.timing import PEAK_RSS, fresh_process, median_seconds

sys.path.insert(0, str(Path(__file__).parent))
from precision_quality import cpu_model  # noqa: E402

BLOCKS = 8  # interleaved measurement blocks
FILES = {
    "onnx fp32": "model.onnx",
    "onnx int8": "model.int8.onnx",
    "onnx int8, 1 thread": "model.int8.onnx",
    "seeded fp32": "model.seeded.onnx",
    "seeded int8": "model.seeded.int8.onnx",
}
# name -> (file, backend, export option group, the module its extra installs)
PEERS = {
    "peer: executorch int8": ("model.int8.pte", "executorch", "executorch", "executorch"),
    "peer: executorch fp32": ("model.pte", "executorch", "executorch", "executorch"),
    "peer: openvino bf16": ("model.xml", "openvino.bf16", "openvino", "openvino"),
    "peer: openvino int8": ("model.int8.xml", "openvino", "openvino", "nncf"),
    "peer: litert int8": ("model.int8.tflite", "litert", "tflite", "litert_torch"),
}


def available_peers() -> dict[str, tuple[str, str, str, str]]:
    from importlib.util import find_spec

    return {name: p for name, p in PEERS.items() if find_spec(p[3]) is not None}


MODELS = {"dcgan": ("dcgan", None), "nano": ("dcgan", "nano"), "small": ("dcgan", "small"), "mlp": ("mlp", None)}


def make_exports(workdir: Path, models: list[str]) -> dict[str, Path]:
    from gantool.export import ExportConfig, export
    from gantool.toolkit import TrainConfig, train
    from gantool.toolkit.config import model_config

    out = {}
    for name in models:
        arch, size = MODELS[name]
        run = workdir / name
        train(
            TrainConfig(
                model=model_config(size, arch=arch, num_classes=10),
                dataset="mnist-sample",
                epochs=1,
                minutes=0.05,
                device="cpu",
                run_dir=str(run),
            ),
            progress=False,
        )
        peers = tuple(dict.fromkeys(p[2] for p in available_peers().values()))
        export(
            run,
            ExportConfig(
                out_dir=str(run / "export"), formats=("onnx", "seeded") + peers, variants=("int8",), fid=False
            ),
            progress=False,
        )
        out[name] = run
    return out


def runners(run: Path) -> dict:
    """name -> (batch-1 call, batch-256 call)."""
    import torch

    from gantool.runtime.onnx import OnnxGenerator
    from gantool.toolkit.inference import open_checkpoint

    eager = open_checkpoint(run)
    rng = np.random.default_rng(0)
    z = {n: rng.standard_normal((n, eager.latent_dim), dtype=np.float32) for n in (1, 256)}
    lab = {n: (np.arange(n) % 10).astype(np.int64) for n in (1, 256)}
    tz, tl = {n: torch.from_numpy(v) for n, v in z.items()}, {n: torch.from_numpy(v) for n, v in lab.items()}

    def eager_call(n):
        with torch.inference_mode():
            return np.clip(np.rint(eager.module(tz[n], tl[n]).numpy() * 255), 0, 255).astype(np.uint8)

    out = {"pytorch eager": (lambda: eager_call(1), lambda: eager_call(256))}
    for name, file in FILES.items():  # Sampler(threads=1): no thread hand-off, best for tiny graphs at batch 1
        g = OnnxGenerator(run / "export" / file, threads=1 if "1 thread" in name else None)
        if g.seeded:
            seeds = {n: np.arange(n, dtype=np.int64) for n in (1, 256)}
            out[name] = (
                lambda g=g, seeds=seeds: g.run_seeds(seeds[1], lab[1]),
                lambda g=g, seeds=seeds: g.run_seeds(seeds[256], lab[256]),
            )
        else:
            out[name] = (lambda g=g: g.images(z[1], lab[1]), lambda g=g: g.images(z[256], lab[256]))
    from gantool.artifacts import open_backend

    for name, (file, backend, _, _) in available_peers().items():
        g = open_backend(backend, run / "export" / file)
        out[name] = (lambda g=g: g.images(z[1], lab[1]), lambda g=g: g.images(z[256], lab[256]))
    return out


def measure(run: Path, calls: int) -> dict[str, dict[str, float]]:
    """Interleaved blocks; per runner the median of block medians (seconds)."""
    calls_per_block = max(calls // BLOCKS, 25)
    res = {name: {"b1": [], "b256": []} for name in runners(run)}
    fns = runners(run)
    for _ in range(BLOCKS):
        for name, (one, batch) in fns.items():
            res[name]["b1"].append(median_seconds(one, calls_per_block))
            res[name]["b256"].append(median_seconds(batch, 8, warmup=4))  # switching sessions: warm up well
            if name == "pytorch eager":
                # torch's OpenMP workers keep spinning ~0.2 s after a parallel region (OMP_WAIT_POLICY
                # active): let them sleep, or they steal the cores from the next runner (measured: the
                # runner after eager lost up to 30%).
                time.sleep(0.5)
    return {name: {k: statistics.median(v) for k, v in r.items()} for name, r in res.items()}


def cold_start(path: Path) -> float:
    code = f"from gantool.runtime import Sampler\nSampler({str(path)!r}).sample(1, seed=0)\n" + PEAK_RSS
    return fresh_process(code, 5)[0]


def peaks() -> dict[str, float]:
    """fp32 (MatMul) and int8 (MatMulInteger, u8 x s8 -> s32) GEMM peaks in onnxruntime (the library the
    files run in; numpy's BLAS is held back here by OPENBLAS_CORETYPE), ops/s (2 per MAC)."""
    from onnx import TensorProto, helper

    from gantool.runtime.session import open_session

    n = 2048

    def gemm(op: str, a_type, out_type, a, b) -> float:
        """a @ b with b a constant (pre-packed once, as a model's weights are)."""
        from onnx import numpy_helper

        graph = helper.make_graph(
            [helper.make_node(op, ["a", "b"], ["c"])],
            "gemm",
            [helper.make_tensor_value_info("a", a_type, [n, n])],
            [helper.make_tensor_value_info("c", out_type, [n, n])],
            [numpy_helper.from_array(b, "b")],
        )
        session = open_session(
            helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]).SerializeToString()
        )
        return 2 * n**3 / median_seconds(lambda: session.run(None, {"a": a}), 10, warmup=3)

    rng = np.random.default_rng(0)
    fp32 = gemm(
        "MatMul", TensorProto.FLOAT, TensorProto.FLOAT, rng.random((n, n), np.float32), rng.random((n, n), np.float32)
    )
    int8 = gemm(
        "MatMulInteger",
        TensorProto.UINT8,
        TensorProto.INT32,
        rng.integers(0, 255, (n, n), dtype=np.uint8),
        rng.integers(-127, 127, (n, n), dtype=np.int8),
    )
    return {"fp32": fp32, "int8": int8}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=400, help="batch-1 calls per runner (>= 200)")
    parser.add_argument("--models", default="dcgan,nano,small,mlp", help=f"comma-separated: {', '.join(MODELS)}")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    peak = peaks()
    lines = [
        f"Runtime speed, {cpu_model()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}; {BLOCKS} interleaved blocks, batch-1 = median "
        f"of {args.calls} calls. CPU peaks (one 2048^3 GEMM, all threads): fp32 {peak['fp32'] / 1e9:.0f} GFLOP/s "
        f"(onnxruntime MatMul), int8 {peak['int8'] / 1e9:.0f} GOP/s (MatMulInteger).",
        "",
    ]
    verdicts = []
    with tempfile.TemporaryDirectory() as tmp:
        for arch, run in make_exports(Path(tmp), args.models.split(",")).items():
            m = measure(run, max(args.calls, 200))
            macs = {
                name: sum(v for k, v in integer_mac_share(run / "export" / FILES[name]).items() if k.endswith("_macs"))
                for name in ("onnx fp32", "onnx int8")
            }
            macs["onnx int8, 1 thread"] = macs["onnx int8"]
            lines += [
                f"**{arch}** (conditional{'' if arch == 'mlp' else ', dcgan'})",
                "",
                "| runner | batch-1 (ms) | batch-256 (img/s) | vs eager b1 | vs eager b256 | % of peak (b256) | "
                "int8 MACs | cold start (s) |",
                "|---|---:|---:|---:|---:|---:|---:|---:|",
            ]
            for name, r in m.items():
                if name in PEERS:
                    lines.append(
                        f"| {name} | {r['b1'] * 1e3:.3f} | {256 / r['b256']:.0f} | "
                        f"{m['pytorch eager']['b1'] / r['b1']:.2f}x | {m['pytorch eager']['b256'] / r['b256']:.2f}x | "
                        f"- | - | - |"
                    )
                    continue
                file = run / "export" / FILES[name] if name in FILES else None
                share = integer_mac_share(file)["share"] if file and "int8" in name else None
                mac = macs.get(name.replace("seeded", "onnx"), macs["onnx fp32"])  # MACs executed per image
                peak_of = peak["int8"] if share else peak["fp32"]
                lines.append(
                    f"| {name} | {r['b1'] * 1e3:.3f} | {256 / r['b256']:.0f} | "
                    f"{m['pytorch eager']['b1'] / r['b1']:.2f}x | {m['pytorch eager']['b256'] / r['b256']:.2f}x | "
                    f"{2 * mac * 256 / r['b256'] / peak_of:.1%} | {'-' if share is None else f'{share:.0%}'} | "
                    f"{cold_start(file) if file else float('nan'):.2f} |"
                )
            verdicts += targets(arch, m)
            lines.append("")
    lines += ["Targets: " + "; ".join(verdicts) + "."]
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


def targets(arch: str, m: dict) -> list[str]:
    mark = lambda ok: "met" if ok else "NOT met"  # noqa: E731
    f, q, e = m["onnx fp32"], m["onnx int8"], m["pytorch eager"]
    best_b1 = min(v["b1"] for k, v in m.items() if k.startswith("onnx"))
    best_b256 = min(v["b256"] for k, v in m.items() if k.startswith("onnx"))
    seeded = [
        (m[f"seeded {p}"]["b1"] / m[f"onnx {p}"]["b1"] - 1, m[f"seeded {p}"]["b256"] / m[f"onnx {p}"]["b256"] - 1)
        for p in ("fp32", "int8")
    ]
    out = [
        f"{arch}: int8 b256 {f['b256'] / q['b256']:.2f}x fp32 (>= 1.5x) {mark(f['b256'] / q['b256'] >= 1.5)}",
        f"int8 b1 {q['b1'] / f['b1']:.2f}x fp32 (<= 0.75x) {mark(q['b1'] / f['b1'] <= 0.75)}",
        f"best ONNX vs eager b1 {e['b1'] / best_b1:.1f}x (>= 4x) {mark(e['b1'] / best_b1 >= 4)}",
        f"b256 {e['b256'] / best_b256:.1f}x (>= 2.5x) {mark(e['b256'] / best_b256 >= 2.5)}",
    ]
    for p, (d1, d256) in zip(("fp32", "int8"), seeded, strict=False):
        out.append(
            f"seeded {p} adds {d1:+.1%} b1 (<= 10%) {mark(d1 <= 0.10)}, {d256:+.1%} b256 (<= 2%) {mark(d256 <= 0.02)}"
        )
    peers = {k: v for k, v in m.items() if k in PEERS}
    if peers:
        ours = {k: v for k, v in m.items() if k in FILES}
        b1_name, b256_name = min(ours, key=lambda k: ours[k]["b1"]), min(ours, key=lambda k: ours[k]["b256"])
        p1_name, p256_name = min(peers, key=lambda k: peers[k]["b1"]), min(peers, key=lambda k: peers[k]["b256"])
        r256 = peers[p256_name]["b256"] / ours[b256_name]["b256"]
        r1 = ours[b1_name]["b1"] / peers[p1_name]["b1"]
        out.append(
            f"best onnxruntime b256 ({b256_name}) {r256:.2f}x the best peer's ({p256_name[6:]}) throughput "
            f"(>= 1.0x) {mark(r256 >= 1.0)}"
        )
        out.append(
            f"best onnxruntime b1 ({b1_name}) {r1:.2f}x the best peer's ({p1_name[6:]}) latency (<= 1.0x) "
            f"{mark(r1 <= 1.0)}"
        )
    for p in ("int8", "fp32"):  # issue #32: like for like, the best onnxruntime file of a precision vs ExecuTorch's
        et = m.get(f"peer: executorch {p}")
        if et is None:
            continue
        ours = {k: v for k, v in m.items() if k in FILES and p in k}
        b1, b256 = min(v["b1"] for v in ours.values()), min(v["b256"] for v in ours.values())
        out.append(
            f"onnxruntime {p} vs ExecuTorch {p}: b256 {et['b256'] / b256:.2f}x its throughput (>= 1.0x) "
            f"{mark(et['b256'] / b256 >= 1.0)}, b1 {b1 / et['b1']:.2f}x its latency (<= 1.0x) "
            f"{mark(b1 / et['b1'] <= 1.0)}"
        )
    return out


if __name__ == "__main__":
    main()
