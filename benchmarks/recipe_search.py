"""Recipe levers, one run each at the same time budget, side by side on this CPU.

    python benchmarks/recipe_search.py [--minutes 5] [--data-dir ../shared/data/mnist]
        [--out benchmarks/results/recipe_search.md]
                                       "" "--batch-size 64" "--batch-size 64 --d-width 16" ...

Each argument is a set of `gantool train` flags added to the defaults; each run trains
`gantool train --dataset mnist-sample --seed 0 --minutes M [flags]` on this CPU alone and is scored
like benchmarks/recipe_time.py (gantool eval, 10,000 samples against the MNIST test split, and the
memorization check). A screening budget shorter than 10 minutes ranks the levers; the winner is then
measured at 10 minutes against the old recipe by recipe_time.py.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from precision_quality import cpu_model  # noqa: E402
from recipe_time import ROOT, train_and_score  # noqa: E402
from report import write_section  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("variants", nargs="+", help="flag sets added to the defaults ('' = the defaults)")
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data" / "mnist"))
    ap.add_argument("--out", type=Path, default=None, help="write the table as a section of FILE")
    args = ap.parse_args()
    header = [
        f"CPU: {cpu_model()}, alone; `gantool train --dataset mnist-sample --seed 0 --minutes "
        f"{args.minutes:g} [flags]`, scored by `gantool eval` (10,000 samples vs the MNIST test split).",
        "",
        "| flags | steps | images/s | FID | × floor | coverage | class accuracy | copy share |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    print("\n".join(header), flush=True)
    lines = list(header)
    with tempfile.TemporaryDirectory() as tmp:
        for i, flags in enumerate(args.variants):
            r = train_and_score(f"v{i}", shlex.split(flags), args.minutes, args.data_dir, Path(tmp))
            acc = r.get("class_accuracy", {}).get("overall", float("nan"))
            line = (
                f"| `{r['flags']}` | {r['steps']} | {r['images_per_s']:.0f} | {r['fid']:.2f} | "
                f"{r['fid'] / r['fid_floor']:.2f} | {r['coverage']:.3f} | {acc:.3f} | {r['copy_share']:.1%} |"
            )
            print(line, flush=True)
            lines.append(line)
            if args.out:  # after every run: a long search stopped early keeps what it measured
                write_section(args.out, f"recipe_search.py --minutes {args.minutes:g}", "\n".join(lines))


if __name__ == "__main__":
    main()
