"""Every code block in the README and docs/ runs: Python blocks are executed, `gantool` lines of shell blocks
are run for real where they take seconds (export, verify, info, formats, sample, node) and parsed
against the CLI otherwise (train, eval, bench: minutes of work), so no option in them can drift."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README = (ROOT / "README.md").read_text()
BLOCKS = [b for page in PAGES for b in re.findall(r"```(\w+)\n(.*?)```", page.read_text(), flags=re.S)]
RUN = ("export", "verify", "info", "formats", "sample")  # fast enough to run for real

pytestmark = pytest.mark.slow


def commands(lang: str) -> list[list[str]]:
    out = []
    for code in (c for lang_, c in BLOCKS if lang_ == lang):
        for line in code.splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).strip()  # a trailing comment
            if line and not line.startswith("#"):
                out.append([t for t in shlex.split(line) if t != "…"])
    return out


@pytest.fixture(scope="module")
def workdir(trained_run, idx_dir, tmp_path_factory):
    """A folder laid out as the README assumes: runs/my-run, path/to/mnist, model.seeded.onnx."""
    d = tmp_path_factory.mktemp("readme")
    shutil.copytree(trained_run("dcgan", 10), d / "runs" / "my-run")
    shutil.copytree(trained_run("dcgan", 10), d / "runs" / "nano")  # as small as a nano run (the MCU section)
    (d / "path" / "to").mkdir(parents=True)
    os.symlink(idx_dir, d / "path" / "to" / "mnist")
    return d


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_the_readme_is_short_and_links_every_page_of_docs():
    """A newcomer's page: at most 250 lines; the detail lives in docs/, each page reachable from it."""
    assert len(README.splitlines()) <= 250
    for page in PAGES[1:]:
        assert f"docs/{page.name}" in README, f"README links no {page.name}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page):
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text()):
        assert (page.parent / target).exists(), f"{page.name} links {target}, which does not exist"


def test_the_readme_has_blocks_to_check():
    assert len([1 for lang, _ in BLOCKS if lang == "python"]) >= 4 and len(commands("bash")) >= 20


@pytest.mark.parametrize("index", range(len([1 for lang, _ in BLOCKS if lang == "python"])))
def test_python_block_runs(workdir, index):
    code = [c for lang, c in BLOCKS if lang == "python"][index]
    if "export/" in code:
        _ensure_export(workdir)
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=workdir, capture_output=True, text=True, timeout=300, env=_env()
    )
    assert proc.returncode == 0, f"README python block {index} failed:\n{code}\n{proc.stderr[-2000:]}"


def _ensure_export(workdir: Path) -> None:
    """export/ as the README's export line makes it (the blocks that use it may come first)."""
    if not (workdir / "export" / "model.seeded.onnx").is_file():
        _gantool(workdir, ["export", "runs/my-run", "--onnx", "--fp16", "--int8", "--seeded", "--out", "export/"])


def _gantool(cwd: Path, args: list[str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "gantool", *args], cwd=cwd, capture_output=True, text=True, timeout=600, env=_env()
    )
    assert proc.returncode == 0, f"`gantool {' '.join(args)}` failed: {proc.stderr[-1500:]}"
    return proc


def test_shell_blocks_run_or_parse(workdir):
    import typer.main

    from gantool.cli import app

    group = typer.main.get_command(app)
    ran = parsed = 0
    for argv in commands("bash"):
        if argv[:2] == ["node", "examples/node/sample.mjs"]:
            if shutil.which("node") and (ROOT / "examples/node/node_modules").is_dir():
                _ensure_export(workdir)
                shutil.copy(workdir / "export" / "model.seeded.onnx", workdir / "model.seeded.onnx")
                proc = subprocess.run(
                    ["node", str(ROOT / argv[1]), *argv[2:]], cwd=workdir, capture_output=True, text=True, timeout=120
                )
                assert proc.returncode == 0, proc.stderr
                ran += 1
            continue
        if argv[0] == "torchrun":
            argv = argv[argv.index("gantool") :]
        if argv[0] != "gantool":
            continue  # make, pip, npm, cp: the project's own commands, run by CI itself
        args = argv[1:]
        if args and args[0] in RUN:
            _gantool(workdir, args)
            ran += 1
        else:  # parse every option against the CLI without doing the work
            group.commands[args[0]].make_context(args[0], list(args[1:]))  # a bad option raises here
            parsed += 1
    assert ran >= 10 and parsed >= 5, (ran, parsed)
