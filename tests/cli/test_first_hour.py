"""What a newcomer meets first: help that renders the same with rich installed, a closed pipe that is
no error, a finished run that is not silently "resumed", and a start-up line saying what training chose."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from gantool.cli import app

runner = CliRunner()
GANTOOL = [sys.executable, "-m", "gantool"]


@pytest.mark.parametrize("command", [[], ["train"], ["export"], ["sample"], ["verify"], ["eval"], ["bench"]])
def test_help_has_no_stray_escapes(command):
    """typer escapes "[default: …]" for rich whenever rich is installed (it is in the dev venv)."""
    res = runner.invoke(app, [*command, "--help"])
    assert res.exit_code == 0 and "\\[" not in res.output, res.output[:400]
    if command:
        assert "[default:" in res.output


def test_a_closed_pipe_ends_quietly_as_cat_does():
    """`gantool info | head`: the reader has gone; no 'error: Broken pipe', SIGPIPE's quiet end."""
    proc = subprocess.Popen([*GANTOOL, "info"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first line is written
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert err == "" and proc.returncode == -signal.SIGPIPE, (proc.returncode, err)


def _args(idx_dir, run, *extra):
    return [
        "train",
        "--dataset",
        "idx",
        "--data-dir",
        str(idx_dir),
        "--width",
        "4",
        "--latent-dim",
        "8",
        "--batch-size",
        "64",
        "--device",
        "cpu",
        "--run-dir",
        str(run),
        "--quiet",
        *extra,
    ]


def test_resuming_a_finished_run_says_so_and_changes_nothing(idx_dir, tmp_path):
    pytest.importorskip("torch")
    run = tmp_path / "run"
    assert runner.invoke(app, _args(idx_dir, run, "--arch", "mlp", "--epochs", "1")).exit_code == 0
    before = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}
    res = runner.invoke(app, ["train", "--resume", str(run), "--quiet"])
    assert res.exit_code == 2 and "is already complete (1 of 1 epochs)" in res.stderr, res.output
    assert f"--resume {run} --epochs 11" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()} == before


def test_training_says_what_it_chose_on_one_line(idx_dir, tmp_path):
    pytest.importorskip("torch")
    args = [a for a in _args(idx_dir, tmp_path / "run", "--arch", "dcgan", "--epochs", "1") if a != "--quiet"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("training on ")]
    assert len(lines) == 1, res.stderr
    line = lines[0]
    assert ("fp32" in line or "bf16" in line) and " thread" in line and ("NCHW" in line or "channels_last" in line)
    history = [json.loads(s) for s in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert f"{history[0]['threads']} thread" in line


def test_threads_follow_free_cores_between_epochs(monkeypatch, idx_dir, tmp_path):
    """A run that started beside a busy core takes the core back once it is free (between epochs), and
    says so; --threads pins the count (and with it the run's exact reproducibility)."""
    pytest.importorskip("torch")
    import gantool.toolkit.hardware as hardware

    monkeypatch.setattr(hardware, "free_cores", lambda *a, **k: 1)  # at start: one core busy
    monkeypatch.setattr(hardware, "free_cores_during", lambda since: 2)  # then both free
    res = runner.invoke(app, _args(idx_dir, tmp_path / "run", "--arch", "mlp", "--epochs", "2"))
    assert res.exit_code == 0, res.output
    history = [json.loads(s) for s in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [h["threads"] for h in history] == [1, 2], history
    assert "now 2 threads" in res.stderr
