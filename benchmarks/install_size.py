"""Installed size of the base install (runtime + CLI) and of the `train` extra, summed from the
installed files of each dependency closure in this environment.

    python benchmarks/install_size.py
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path


def _closure(requirements: list[str]) -> set[str]:
    """Names of the installed distributions that `requirements` pull in."""
    from packaging.requirements import Requirement

    seen: set[str] = set()
    found: set[str] = set()  # the installed ones (a closure measured in a base-only venv lacks the extras)
    todo = [(r, frozenset()) for r in requirements]
    while todo:
        text, extras = todo.pop()
        req = Requirement(text)
        # Markers such as `extra == "train"` hold for the extras the parent was asked with.
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in (extras or {""})):
            continue
        name = req.name.lower().replace("_", "-")
        key = name + "[" + ",".join(sorted(req.extras)) + "]"
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        found.add(name)
        for sub in dist.requires or []:
            todo.append((sub, frozenset(req.extras)))
    return found


def _dist_size(name: str) -> int:
    dist = metadata.distribution(name)
    total = 0
    for f in dist.files or []:
        p = Path(dist.locate_file(f))
        if p.is_file():
            total += p.stat().st_size
    return total


def installed_sizes() -> dict[str, float]:
    base = _closure(["gantool"])
    train = _closure(["gantool[train]"])
    mb = lambda names: sum(_dist_size(n) for n in names) / 1e6  # noqa: E731
    return {
        "base_mb": mb(base),
        "train_mb": mb(train),
        "base_n": len(base),
        "train_n": len(train),
        "base_pkgs": sorted(base),
        "base_by_dist": sorted(((n, _dist_size(n) / 1e6) for n in base), key=lambda t: -t[1]),
    }


def main() -> None:
    sizes = installed_sizes()
    print(
        f"base install (runtime + CLI, {sizes['base_n']} distributions): {sizes['base_mb']:.0f} MB; "
        f"with the train extra ({sizes['train_n']}): {sizes['train_mb']:.0f} MB"
    )
    print("base by distribution (MB): " + ", ".join(f"{n} {mb:.1f}" for n, mb in sizes["base_by_dist"]))


if __name__ == "__main__":
    main()
