"""How fast the command line starts, as a new user meets it: fresh processes of the installed
`gantool` script (median of --runs), `gantool --help` and `gantool sample --n 1 --out x.png` with
the bundled model, and the size of the base install (runtime + CLI) in the same environment.
Run it with the Python of a base-only venv to measure what `pip install gantool` gives:

    python -m venv /tmp/base && /tmp/base/bin/pip install .
    /tmp/base/bin/python benchmarks/cli_start.py --out benchmarks/results/cli_start.md

Nothing else may run meanwhile (a busy core doubles these times).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from install_size import installed_sizes  # noqa: E402
from precision_quality import cpu_model  # noqa: E402

TARGETS = {"--help": 0.2, "sample --n 1": 0.3}  # seconds, issue "a CLI that starts in a blink"


def fresh_runs(argv: list[str], runs: int) -> list[float]:
    """Wall seconds of `runs` fresh processes of argv (after one untimed run that warms the page cache)."""
    subprocess.run(argv, check=True, capture_output=True)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", type=Path, help="write the table here (markdown)")
    args = parser.parse_args()
    script = str(Path(sys.executable).with_name("gantool"))
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            "--help": [script, "--help"],
            "sample --n 1": [script, "sample", "--n", "1", "--seed", "0", "--out", f"{tmp}/x.png"],
        }
        rows = {name: fresh_runs(argv, args.runs) for name, argv in commands.items()}
    sizes = installed_sizes()
    lines = [
        f"CPU: {cpu_model()}; Python {sys.version.split()[0]}; fresh processes of `{script}`, "
        f"median of {args.runs} (min-max), nothing else running\n",
        "| command | median s | min-max s | target s | met |",
        "|---|---|---|---|---|",
    ]
    for name, times in rows.items():
        med = statistics.median(times)
        lines.append(
            f"| `gantool {name}` | {med:.3f} | {min(times):.3f}-{max(times):.3f} | {TARGETS[name]} | "
            f"{'yes' if med <= TARGETS[name] else 'no'} |"
        )
    by = ", ".join(f"{n} {mb:.1f}" for n, mb in sizes["base_by_dist"])
    lines += [
        "",
        f"Base install in this environment ({sizes['base_n']} distributions, pip and setuptools not "
        f"counted): {sizes['base_mb']:.0f} MB ({sizes['base_mb'] / 1.048576:.0f} MiB); target 180 MB.",
        f"By distribution (MB): {by}.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text("# CLI start and base install size (`benchmarks/cli_start.py`)\n\n" + text)


if __name__ == "__main__":
    main()
