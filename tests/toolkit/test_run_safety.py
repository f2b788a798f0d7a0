"""Run-directory safety: one writer per run dir, signals, disk full, and kill -9 at any moment."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from gantool.core.errors import GantoolError
from gantool.core.fileio import dir_lock
from gantool.toolkit import TrainingInterrupted, load_checkpoint, resume, train

ROOT = Path(__file__).resolve().parents[2]


def test_second_writer_is_refused_while_the_lock_is_held(tiny_cfg):
    cfg = tiny_cfg("mlp", epochs=1)
    Path(cfg.run_dir).mkdir()
    with dir_lock(cfg.run_dir, "held"):  # as another process training there would hold it
        with pytest.raises(GantoolError, match="in use by another gantool process"):
            train(cfg, progress=False)
    assert not (Path(cfg.run_dir) / "checkpoints").exists()  # nothing written
    train(cfg, progress=False)  # the lock is gone with its holder


def _train_cmd(idx_dir, run, *extra):
    return [
        sys.executable,
        "-m",
        "gantool",
        "train",
        "--dataset",
        "idx",
        "--data-dir",
        str(idx_dir),
        "--arch",
        "mlp",
        "--width",
        "4",
        "--latent-dim",
        "8",
        "--batch-size",
        "8",
        "--device",
        "cpu",
        "--run-dir",
        str(run),
        "--quiet",
        *extra,
    ]


def test_two_processes_into_one_run_dir(idx_dir, tmp_path):
    """Started together, one trains and the other is refused; started mid-run, refused too."""
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            _train_cmd(idx_dir, run, "--minutes", "0.08"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    while not (run / "config.json").exists() and all(p.poll() is None for p in procs):
        time.sleep(0.05)
    late = subprocess.run(_train_cmd(idx_dir, run, "--epochs", "1"), capture_output=True, text=True, env=env)
    results = [(p.wait(timeout=120), p.communicate()[1]) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert refused.strip().count("\n") == 0 and ("in use by another" in refused or "already holds a run" in refused)
    assert late.returncode == 2 and ("in use by another" in late.stderr or "already holds a run" in late.stderr)
    assert load_checkpoint(run).step > 0


def test_sigterm_checkpoints_like_ctrl_c(tiny_cfg):
    cfg = tiny_cfg("mlp", epochs=3)

    def terminate(trainer):
        if trainer.step == 7:
            os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(TrainingInterrupted) as exc:
        train(cfg, progress=False, on_step=terminate)
    assert exc.value.signum == signal.SIGTERM
    assert load_checkpoint(cfg.run_dir).step == 7
    assert resume(cfg.run_dir, progress=False).steps == 3 * 5


def test_disk_full_keeps_the_previous_checkpoint(tiny_cfg, monkeypatch):
    import gantool.toolkit.checkpoint as ckpt_module

    cfg = tiny_cfg("mlp", epochs=3)
    real_save, calls = torch.save, []

    def save(obj, f, *args, **kwargs):
        calls.append(f)
        if len(calls) == 2:  # the second epoch's checkpoint: the disk is full
            Path(f).write_bytes(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(ckpt_module.torch, "save", save)
    with pytest.raises(GantoolError, match="No space left on device.*intact"):
        train(cfg, progress=False)
    monkeypatch.setattr(ckpt_module.torch, "save", real_save)
    assert load_checkpoint(cfg.run_dir).state["epoch"] == 1  # the last good one
    assert [p.name for p in (Path(cfg.run_dir) / "checkpoints").iterdir()] == ["last.pt"]  # no temp file


def test_diverged_training_stops_and_keeps_last_good_checkpoint(tiny_cfg):
    cfg = tiny_cfg("mlp", epochs=3)

    def poison(trainer):
        if trainer.step == 6:  # after epoch 1's checkpoint
            with torch.no_grad():
                for p in trainer.G.parameters():
                    p.fill_(float("nan"))

    with pytest.raises(GantoolError, match="training diverged.*last good checkpoint"):
        train(cfg, progress=False, on_step=poison)
    ckpt = load_checkpoint(cfg.run_dir)
    assert ckpt.state["epoch"] == 1 and all(torch.isfinite(v).all() for v in ckpt.state["generator"].values())


def test_stale_temp_files_are_removed_by_the_next_run(tiny_cfg):
    cfg = tiny_cfg("mlp", epochs=1)
    train(cfg, progress=False)
    ckpts = Path(cfg.run_dir) / "checkpoints"
    (ckpts / ".last.pt.dead1234.tmp").write_bytes(b"x" * 1000)  # what a kill mid-write leaves
    (Path(cfg.run_dir) / ".metrics.jsonl.dead.tmp").write_text("x")
    resume(cfg.run_dir, {"epochs": 2}, progress=False)
    assert [p.name for p in ckpts.iterdir()] == ["last.pt"]
    assert not list(Path(cfg.run_dir).glob(".*.tmp"))


CHILD = textwrap.dedent("""
    import sys, time
    import torch
    import gantool.toolkit.checkpoint as ck
    from gantool.toolkit import ModelConfig, TrainConfig, resume, train

    real_save = torch.save
    def slow_save(obj, f, *a, **k):  # makes the middle of a checkpoint write reachable
        print("SAVING", flush=True)
        real_save(obj, f, *a, **k)
        time.sleep(0.3)
    ck.torch.save = slow_save
    hook = lambda t: print("STEP", t.step, flush=True)
    run, data = sys.argv[1], sys.argv[2]
    if sys.argv[3] == "new":
        cfg = TrainConfig(model=ModelConfig(arch="mlp", num_classes=0, width=4, latent_dim=8), dataset="idx",
                          data_dir=data, epochs=12, batch_size=32, run_dir=run, device="cpu", seed=5)
        train(cfg, progress=False, on_step=hook)
    else:
        resume(run, progress=False, on_step=hook)
    print("DONE", flush=True)
""")


@pytest.mark.slow
def test_kill_9_at_spread_moments_always_leaves_a_resumable_run(idx_dir, tmp_path):
    """SIGKILL at 20 moments (mid-step, between steps, inside checkpoint writes); after each the run
    dir holds a loadable checkpoint from a completed step, and --resume finishes the run."""
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    moments = [
        ("STEP", k) for k in (13, 3, 9, 14, 22, 31, 40, 5, 16, 1)
    ]  # the first: after epoch 1 + [("SAVING", k) for k in range(1, 11)]
    last_step, mode = 0, "new"
    for i, (marker, k) in enumerate(moments):
        proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(run), str(idx_dir), mode],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        seen = 0
        for line in proc.stdout:
            if line.startswith(marker):
                seen += 1
                if (marker == "STEP" and int(line.split()[1]) >= k + last_step) or (
                    marker == "SAVING" and seen >= 1 + i % 2
                ):
                    os.kill(proc.pid, signal.SIGKILL)
                    break
            if line.startswith("DONE"):
                break
        proc.wait(timeout=60)
        ckpt = load_checkpoint(run)  # loadable after every kill
        assert ckpt.step >= last_step, (i, marker, ckpt.step, last_step)
        last_step, mode = ckpt.step, "resume"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(run), str(idx_dir), "resume"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0 and "DONE" in done.stdout, done.stderr[-2000:]
    final = load_checkpoint(run)
    assert final.state["epoch"] == 12 and final.step == 12 * (320 // 32)
    assert not list(run.rglob(".*.tmp"))  # the next holder of the lock removed every temp file
    assert (run / "samples" / "epoch_012.png").is_file()
