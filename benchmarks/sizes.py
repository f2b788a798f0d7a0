"""The size family's Pareto table: for each export (one per `gantool train --size`), what it costs and
what it draws, on this CPU and on an emulated Cortex-M4.

    python benchmarks/sizes.py nano=EXPORT_DIR small=EXPORT_DIR base=EXPORT_DIR \\
        [--fid nano=eval.json ...] [--clock-mhz 168] [--out benchmarks/results/sizes.md]

Each EXPORT_DIR is a `gantool export --c` directory. Per size:
  * parameters of the generator (from model.onnx), its int8 weights and tables (the C file's flash
    data), the peak activation bytes at batch 1 (the C file's two static buffers), MACs per image;
  * batch-1 latency: onnxruntime on model.seeded.int8.onnx (one thread) and the C file built for this
    CPU (ctypes), median of 200 calls each, measured interleaved;
  * FID and its ratio to the real-data floor: from the `gantool eval --json` file given with --fid
    (10,000 samples, MNIST test split), else not shown;
  * Cortex-M4 (arm-none-eabi-gcc -O2, -mfloat-abi=hard, examples/mcu): flash (text + rodata + data),
    SRAM (data + bss + the deepest stack frame from -fstack-usage), instructions per image under
    qemu-system-arm -icount shift=0 (40 per 25 MHz timer tick) and the time that is at --clock-mhz
    assuming one instruction per cycle: an estimate, QEMU does not time.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MCU = ROOT / "examples" / "mcu"
sys.path.insert(0, str(ROOT / "benchmarks"))
from precision_quality import cpu_model  # noqa: E402


def parameters(export: Path) -> int:
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(export / "model.onnx"))
    return int(
        sum(
            numpy_helper.to_array(t).size
            for t in model.graph.initializer
            if t.data_type == 1 and numpy_helper.to_array(t).ndim >= 1
        )
    )


def c_figures(export: Path) -> dict:
    header = (export / "gantool_generator.h").read_text()
    grab = lambda name: int(re.search(rf"#define {name}\s+(\d+)", header).group(1))  # noqa: E731
    macs = int(re.search(r"Work:\s+(\d+) multiply", header).group(1))
    return {"flash_data": grab("GANTOOL_FLASH_BYTES"), "sram_buffers": grab("GANTOOL_SRAM_BYTES"), "macs": macs}


def host_latency(export: Path, calls: int = 200) -> dict:
    from gantool.export.c.backend import CGenerator
    from gantool.runtime.onnx import OnnxGenerator

    c = CGenerator(export / "gantool_generator.c")
    ort = OnnxGenerator(export / "model.seeded.int8.onnx", threads=1)
    seeds, labels = np.array([5], dtype=np.int64), (np.array([3]) if c.conditional else None)
    times = {"onnxruntime": [], "c": []}
    for _ in range(20):
        ort.run_seeds(seeds, labels), c.run_seeds(seeds, labels)
    for _ in range(calls):  # interleaved: both see the same machine state
        for name, g in (("onnxruntime", ort), ("c", c)):
            t = time.perf_counter()
            g.run_seeds(seeds, labels)
            times[name].append(time.perf_counter() - t)
    return {k: statistics.median(v) * 1e3 for k, v in times.items()}


def cortex_m4(export: Path, work: Path) -> dict:
    """Build examples/mcu's check firmware for 8 seeds, run it under QEMU, read sizes and ticks."""
    check, build = work / "check", work / "build"
    check.mkdir(parents=True, exist_ok=True)
    n = 8
    classes = 10 if "GANTOOL_NUM_CLASSES  0" not in (export / "gantool_generator.h").read_text() else 0
    labels = [i % 10 if classes else -1 for i in range(n)]
    (check / "seeds.h").write_text(
        f"#define CHECK_COUNT {n}\nstatic const int64_t check_seeds[] = "
        f"{{{', '.join(f'{i * 7919 + 1}LL' for i in range(n))}}};\n"
        f"static const int32_t check_labels[] = {{{', '.join(map(str, labels))}}};\n"
    )
    make = ["make", "-s", "-C", str(MCU), f"GEN={export}", f"BUILD={build}", f"CHECK={check}"]
    subprocess.run(make + ["check"], check=True, capture_output=True, timeout=900)
    out = subprocess.run(make + ["check-run"], check=True, capture_output=True, text=True, timeout=900).stdout
    ticks = int(re.search(r"ticks (\d+)", out).group(1))
    sizes = subprocess.run(
        ["arm-none-eabi-size", "-A", str(build / "check.elf")], capture_output=True, text=True, check=True
    ).stdout
    sec = {m.group(1): int(m.group(2)) for m in re.finditer(r"^\.(\w+)\s+(\d+)", sizes, re.M)}
    frames = {}  # function -> bytes (-fstack-usage), generator and firmware
    for su in build.rglob("*.su"):
        for line in su.read_text().splitlines():
            if line.strip():
                where, size, _ = line.rsplit(None, 2)
                name = where.rsplit(":", 1)[-1].split(".")[0]  # conv2d.constprop -> conv2d
                frames[name] = max(frames.get(name, 0), int(size))
    chain = ("Reset_Handler", "main", "gantool_generate", "gantool_generate_latent")
    kernels = [v for k, v in frames.items() if k not in chain and k.islower() and not k.startswith("board")]
    stack = sum(frames.get(f, 0) for f in chain) + max(kernels, default=0)
    return {
        "flash": sec.get("text", 0) + sec.get("data", 0),
        "sram": sec.get("data", 0) + sec.get("bss", 0) + stack,
        "stack": stack,
        "instructions": ticks * 40 // n,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("exports", nargs="+", help="SIZE=EXPORT_DIR")
    ap.add_argument("--fid", nargs="*", default=[], help="SIZE=eval.json (gantool eval --json, 10,000 samples)")
    ap.add_argument("--trained", nargs="*", default=[], help="SIZE=text: how the size was trained")
    ap.add_argument("--clock-mhz", type=float, default=168.0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sizes.md"))
    args = ap.parse_args()
    fids = dict(a.split("=", 1) for a in args.fid)
    trained = dict(a.split("=", 1) for a in args.trained)
    shown_args = [Path(a).name if "/" not in a else a for a in sys.argv[1:]]
    lines = [
        "# Generator sizes (`gantool train --size`)\n",
        f"CPU: {cpu_model()}; Cortex-M4: QEMU "
        f"{subprocess.run(['qemu-system-arm', '--version'], capture_output=True, text=True).stdout.split()[3]}"
        f" -M mps2-an386. `python benchmarks/sizes.py {' '.join(shown_args)}`\n",
        "| size | params (exported) | int8 weights + tables (B) | peak activations (B) | MACs / image | "
        "onnxruntime int8 "
        "batch-1 (ms) | C on this CPU (ms) | FID | × floor | M4 flash (B) | M4 SRAM (B) | M4 instructions / image | "
        f"M4 est. at {args.clock_mhz:g} MHz (ms) | trained |",
        "|---|" + "---:|" * 12 + "---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for spec in args.exports:
            size, export = spec.split("=", 1)
            export = Path(export)
            c, lat, m4 = c_figures(export), host_latency(export), cortex_m4(export, Path(tmp) / size)
            fid = json.loads(Path(fids[size]).read_text()) if size in fids else None
            f, ratio = (f"{fid['fid']:.2f}", f"{fid['fid'] / fid['fid_floor']:.2f}") if fid else ("—", "—")
            est = m4["instructions"] / (args.clock_mhz * 1e3)
            lines.append(
                f"| {size} | {parameters(export):,} | {c['flash_data']:,} | {c['sram_buffers']:,} | "
                f"{c['macs']:,} | {lat['onnxruntime']:.3f} | {lat['c']:.3f} | {f} | {ratio} | {m4['flash']:,} | "
                f"{m4['sram']:,} | {m4['instructions']:,} | {est:.0f} | {trained.get(size, '—')} |"
            )
            print(lines[-1], flush=True)
    lines.append(
        "\nM4 flash = text (code, const weights and tables) + data; SRAM = data + bss (the two "
        "activation buffers and one plane of int32 sums) + the stack of the call chain Reset_Handler -> "
        "main -> gantool_generate -> gantool_generate_latent -> its deepest kernel (-fstack-usage; "
        "libm's own frames not included). Instructions are QEMU's count (-icount shift=0); the time assumes one "
        "instruction "
        "per cycle, an estimate: QEMU does not time, and a real M4 stalls on flash wait states."
    )
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
