"""ARM64 verification: gantool's torch-free runtime run on an ARM64 CPU (qemu-user in a Debian root),
compared with the same files on this x86 machine.

    python tests/arm64/run.py [--root .arm64/root] [--export DIR] [--out benchmarks/results/arm64.md]

1. The root: a Debian bookworm arm64 `debootstrap --variant=minbase` with python3 (made once, ~4 min;
   needs root and qemu-user-static with binfmt), and gantool's base install for ARM64 next to it:
   numpy, onnxruntime (this machine's version), typer-slim and ai-edge-litert as PyPI's aarch64 wheels (pip
   --platform, run here: no emulated pip), the gantool package copied from this checkout.
2. The files: an export of a short nano run (--onnx --fp16 --int8 --seeded --ort, and --tflite where
   litert-torch is installed; or --export DIR),
   the bundled models, seeds and latents chosen here.
3. In the root: tests/arm64/probe.py runs every file, `gantool sample --size nano` and `gantool verify
   --hashes-only` run as a user would; back here each output is compared with x86's.

Gates: seeded latents bit-identical; fp32 files within 1/255; reduced-precision files within the
export's own pixel gates (mean 0.02, peak 0.5) and, for the int8 and seeded files, reported as the
share of identical images. Times under emulation are not ARM speeds and are not reported as such.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import tomllib

REPO = Path(__file__).resolve().parents[2]
SUITE = "bookworm"
# The base install's own requirements (pyproject.toml), onnxruntime pinned below to this host's version,
# and the runtime extra that opens .tflite files (ai-edge-litert's aarch64 wheels are manylinux_2_27).
_PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
WHEELS = tuple(
    r.split("#")[0].strip()
    for r in _PROJECT["dependencies"] + _PROJECT["optional-dependencies"]["litert-runtime"]
    if not r.startswith("onnxruntime")
)
SUFFIXES = (".onnx", ".ort", ".tflite")  # the torch-free files of an export
EXACT = ("model.onnx", "model.seeded.onnx", "model.ort", "model.tflite")  # fp32: within 1/255 of x86
BUNDLED_SEEDS = list(range(16))


def log(msg: str) -> None:
    print(f"arm64: {msg}", flush=True)


def missing_tools() -> list[str]:
    """What stops the check, each with its own fix (an installed package is never blamed for binfmt)."""
    need = {"debootstrap": "debootstrap", "qemu-aarch64-static": "qemu-user-static", "chroot": "coreutils"}
    packages = sorted({pkg for tool, pkg in need.items() if shutil.which(tool) is None})
    out = [f"apt-get install {' '.join(packages)}"] if packages else []
    binfmt = Path("/proc/sys/fs/binfmt_misc")
    if not (binfmt / "register").exists():
        out.append(
            "binfmt_misc is not mounted: mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc, "
            "then update-binfmts --enable qemu-aarch64"
        )
    elif not (binfmt / "qemu-aarch64").exists():
        out.append(
            "qemu-aarch64 is not registered with binfmt_misc: update-binfmts --enable qemu-aarch64 "
            "(apt-get install binfmt-support if update-binfmts is missing)"
        )
    return out


def ensure_root(root: Path) -> None:
    if (root / "usr" / "bin" / "python3").exists():
        return
    log(f"debootstrap {SUITE} arm64 into {root} (once)")
    t = time.time()
    root.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "debootstrap",
            "--arch=arm64",
            "--variant=minbase",
            "--include=python3",
            SUITE,
            str(root),
            "http://deb.debian.org/debian",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    log(f"root made in {time.time() - t:.0f} s")


def in_root(root: Path, *args: str, timeout: int = 1200) -> subprocess.CompletedProcess:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/root",
        "PYTHONPATH": "/opt/gantool-src:/opt/gantool-site",
        "ORT_DISABLE_TELEMETRY": "1",
        "CI": os.environ.get("CI", ""),
    }
    return subprocess.run(
        ["chroot", str(root), "/usr/bin/env", "-i", *[f"{k}={v}" for k, v in env.items()], *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def python_version(root: Path) -> str:
    done = in_root(root, "python3", "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')")
    if done.returncode != 0:
        raise SystemExit(f"arm64: the root's python3 does not run under qemu-user: {done.stderr.strip()[:300]}")
    return done.stdout.strip()


def ensure_site(root: Path) -> None:
    """gantool's base dependencies as aarch64 wheels, installed here into the root's /opt/gantool-site."""
    import onnxruntime

    site, py = root / "opt" / "gantool-site", python_version(root)
    stamp = site / ".gantool-stamp"
    want = f"{py} onnxruntime=={onnxruntime.__version__} {' '.join(WHEELS)}"
    if stamp.is_file() and stamp.read_text() == want:
        return
    log(f"installing aarch64 wheels for python {py}: onnxruntime {onnxruntime.__version__}, {', '.join(WHEELS)}")
    shutil.rmtree(site, ignore_errors=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            str(site),
            "--platform",
            "manylinux2014_aarch64",
            "--platform",
            "manylinux_2_27_aarch64",
            "--platform",
            "manylinux_2_28_aarch64",
            "--only-binary=:all:",
            "--python-version",
            py,
            "--implementation",
            "cp",
            f"onnxruntime=={onnxruntime.__version__}",
            *WHEELS,
        ],
        check=True,
        env={**os.environ, "PIP_CONSTRAINT": ""},
    )
    stamp.write_text(want)


def make_export(work: Path) -> Path:
    run, out = work / "run", work / "export"
    gantool = [sys.executable, "-m", "gantool"]
    from importlib.util import find_spec

    formats = ["--onnx", "--fp16", "--int8", "--seeded", "--ort"] + (["--tflite"] if find_spec("litert_torch") else [])
    if "--tflite" not in formats:
        log("litert-torch is not installed here: no .tflite files to check (pip install 'gantool[litert]')")
    log(f"training a short nano run and exporting it ({' '.join(formats)}) on x86")
    subprocess.run(
        gantool
        + [
            "train",
            "--dataset",
            "mnist-sample",
            "--size",
            "nano",
            "--epochs",
            "3",
            "--run-dir",
            str(run),
            "--overwrite",
            "-q",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run(
        gantool + ["export", str(run), "--out", str(out), *formats, "--no-fid", "--force"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return out


def job_for(export: Path, stage: Path) -> tuple[dict, dict]:
    """The job the probe runs (paths inside the root) and x86's answers for it."""
    from gantool.runtime import Sampler
    from gantool.runtime.latents import cycle_labels

    files, want = [], {}
    rng = np.random.default_rng(7)
    for path in sorted(p for p in export.iterdir() if p.suffix in SUFFIXES):
        s = Sampler(path, threads=1)
        n = 64
        labels = cycle_labels(n, s.num_classes).tolist() if s.conditional else None
        item = {"path": f"/opt/job/export/{path.name}", "labels": labels}
        if s.seeded:
            seeds = [int(v) for v in rng.integers(0, 2**63 - 1, n)]
            item["seeds"] = seeds
            want[f"file:{path.name}"] = s.sample_seeds(seeds, labels)
        else:
            z = rng.standard_normal((n, s.latent_dim)).astype(np.float32)
            np.save(stage / f"{path.name}.z.npy", z)
            item["latents"] = f"/opt/job/{path.name}.z.npy"
            want[f"file:{path.name}"] = s.generate(z, labels)
        files.append(item)
    bundled = []
    for size in ("base", "nano"):
        labels = [i % 10 for i in BUNDLED_SEEDS]
        bundled.append({"size": size, "seeds": BUNDLED_SEEDS, "labels": labels})
        want[f"bundled:{size}"] = Sampler.bundled(size, threads=1).sample_seeds(BUNDLED_SEEDS, labels)
    from gantool.runtime.seeded import seeded_latents

    latent_seeds = [0, 1, 7, 2**31 - 1, 2**31, 2**62 + 5, 2**63 - 1] + [
        int(v) for v in rng.integers(0, 2**63 - 1, 4089)
    ]
    want["latents"] = seeded_latents(np.array(latent_seeds, dtype=np.int64), 64)
    import onnx

    from gantool.export.makers.seeded import latent_model
    from gantool.runtime.session import open_session

    onnx.save(latent_model(64, 18), str(stage / "latents.onnx"))
    session = open_session(stage / "latents.onnx", threads=1)
    want["graph_latents"] = session.run(
        None, {"seed": np.array(latent_seeds, dtype=np.int64), "truncation": np.zeros(1, np.float32)}
    )[0]
    return {
        "files": files,
        "bundled": bundled,
        "latent_seeds": latent_seeds,
        "latent_dim": 64,
        "latent_graph": "/opt/job/latents.onnx",
    }, want


def compare(want: dict, got: dict) -> list[dict]:
    rows = []
    for key, ref in want.items():
        arm = got[key]
        if key in ("latents", "graph_latents"):
            diff = arm.astype(np.float64) - ref.astype(np.float64)
            what = "numpy" if key == "latents" else "the seeded files' in-graph sampler, onnxruntime"
            rows.append(
                {
                    "what": f"seeded latents ({what}; 4,096 seeds x 64)",
                    "identical": float((diff == 0).mean()),
                    "max": float(np.abs(diff).max()),
                    "passed": bool((diff == 0).all()),
                }
            )
            continue
        a, b = ref.astype(np.int16), arm.astype(np.int16)  # uint8 images
        levels = np.abs(a - b).reshape(len(a), -1)
        name = key.split(":", 1)[1]
        exact = name in EXACT
        gate_ok = (
            levels.max() <= 1 if exact else (levels.mean() / 255 <= 0.02 and np.quantile(levels, 0.9999) / 255 <= 0.5)
        )
        rows.append(
            {
                "what": key,
                "identical": float((levels.max(axis=1) == 0).mean()),
                "max_levels": int(levels.max()),
                "mean_levels": float(levels.mean()),
                "gate": "<= 1/255" if exact else "pixel gates",
                "passed": bool(gate_ok),
            }
        )
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=os.environ.get("GANTOOL_ARM64_ROOT", str(REPO / ".arm64" / "root")))
    ap.add_argument("--export", help="an x86 export dir to check [default: a short nano run, exported here]")
    ap.add_argument("--out", help="write the results table here (markdown)")
    args = ap.parse_args()
    missing = missing_tools()
    if missing:
        print(f"arm64: cannot run here; {'; '.join(missing)} (or make system-deps, as root)", file=sys.stderr)
        return 2
    root, t0 = Path(args.root).resolve(), time.time()
    ensure_root(root)
    ensure_site(root)
    stage = root / "opt" / "job"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    src = root / "opt" / "gantool-src"
    shutil.rmtree(src, ignore_errors=True)
    shutil.copytree(REPO / "gantool", src / "gantool", ignore=shutil.ignore_patterns("__pycache__"))
    export = Path(args.export) if args.export else make_export(stage.parent / "job-build")
    shutil.copytree(export, stage / "export")
    shutil.copy(Path(__file__).with_name("probe.py"), stage / "probe.py")
    job, want = job_for(stage / "export", stage)
    (stage / "job.json").write_text(json.dumps(job))
    log("running the probe on ARM64 (emulated)")
    t = time.time()
    done = in_root(root, "python3", "/opt/job/probe.py", "/opt/job/job.json", "/opt/job/out.npz")
    if done.returncode != 0:
        print(f"arm64: the probe failed on ARM64:\n{done.stderr[-3000:]}", file=sys.stderr)
        return 1
    probe_s = time.time() - t
    got = dict(np.load(stage / "out.npz"))
    rows = compare(want, got)
    cli = [
        in_root(
            root,
            "python3",
            "-m",
            "gantool",
            "sample",
            "--size",
            "nano",
            "--seeds",
            "0-15",
            "--digit",
            "3",
            "--out",
            "/opt/job/nano.npy",
        ),
        in_root(root, "python3", "-m", "gantool", "verify", "/opt/job/export", "--hashes-only"),
    ]
    from gantool.runtime import Sampler

    cli_pixels = np.load(stage / "nano.npy") if cli[0].returncode == 0 else None
    host = Sampler.bundled("nano").sample_seeds(range(16), 3)
    rows.append(
        {
            "what": "gantool sample --size nano --seeds 0-15 --digit 3 (CLI)",
            "passed": bool(cli_pixels is not None and (cli_pixels == host).all()),
            "identical": float((cli_pixels == host).reshape(16, -1).all(1).mean()) if cli_pixels is not None else 0.0,
        }
    )
    rows.append(
        {
            "what": "gantool verify --hashes-only on the x86 export (CLI)",
            "passed": cli[1].returncode == 0,
            "identical": 1.0 if cli[1].returncode == 0 else 0.0,
        }
    )
    report(rows, str(got["platform"]), probe_s, time.time() - t0, args.out, cli)
    return 0 if all(r["passed"] for r in rows) else 1


def report(rows: list[dict], arm: str, probe_s: float, total_s: float, out, cli) -> None:
    lines = [
        "# ARM64 (aarch64) against x86-64\n",
        f"x86 host: {_cpu()}, Python {platform.python_version()}; ARM64: {arm} under qemu-user "
        f"({_qemu()}), Debian {SUITE} root. `python tests/arm64/run.py`. Times under emulation are not ARM "
        f"speeds: the probe took {probe_s:.0f} s, the whole check {total_s:.0f} s.\n",
        "| output | images identical | largest difference (levels) | mean (levels) | gate | ok |",
        "|---|---:|---:|---:|---|---|",
    ]
    for r in rows:
        if "max_levels" in r:
            lines.append(
                f"| {r['what']} | {r['identical']:.1%} | {r['max_levels']} | {r['mean_levels']:.4f} | "
                f"{r['gate']} | {'yes' if r['passed'] else 'NO'} |"
            )
        elif "max" in r:
            lines.append(
                f"| {r['what']} | {r['identical']:.1%} of values | {r['max']:.3g} (float) | | bit-identical | "
                f"{'yes' if r['passed'] else 'NO'} |"
            )
        else:
            lines.append(
                f"| {r['what']} | {r['identical']:.1%} | | | identical / exit 0 | {'yes' if r['passed'] else 'NO'} |"
            )
    for c in cli:
        if c.returncode != 0:
            lines.append(f"\nCLI failure: {c.stderr.strip()[-500:]}")
    text = "\n".join(lines) + "\n"
    print(text)
    if out:
        Path(out).write_text(text)


def _cpu() -> str:
    try:
        return next(
            ln.split(":", 1)[1].strip()
            for ln in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
            if ln.startswith("Model name")
        )
    except (StopIteration, OSError):
        return platform.processor() or "unknown"


def _qemu() -> str:
    done = subprocess.run(["qemu-aarch64-static", "--version"], capture_output=True, text=True)
    return done.stdout.split("\n")[0].replace("qemu-aarch64 version ", "QEMU ")


if __name__ == "__main__":
    sys.exit(main())
