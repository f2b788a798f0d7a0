from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from gantool.toolkit import load_checkpoint


def _tiny_run(idx_dir, run, epochs: int) -> list[str]:
    """`gantool train` options for a width-4 conditional dcgan on the test IDX data (320 images)."""
    return (
        f"--dataset idx --data-dir {idx_dir} --arch dcgan --width 4 --latent-dim 8 --epochs {epochs} "
        f"--batch-size 32 --device cpu --conditional --run-dir {run} --quiet"
    ).split()


@pytest.mark.slow
def test_torchrun_two_cpu_processes(idx_dir, tmp_path):
    run = tmp_path / "ddp"
    with socket.socket() as sock:  # a free loopback port for the rendezvous
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes=1",
        "--nproc_per_node=2",
        "--master_addr=127.0.0.1",
        f"--master_port={port}",
        "-m",
        "gantool",
        "train",
        *_tiny_run(idx_dir, run, epochs=2),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, (proc.stdout[-2000:], proc.stderr[-4000:])
    ckpt = load_checkpoint(run)
    # 320 images, 2 ranks -> 160 per rank -> 5 steps of 32 per epoch (one process would take 10).
    assert ckpt.step == 2 * 5
    assert [json.loads(s)["epoch"] for s in (run / "metrics.jsonl").read_text().splitlines()] == [1, 2]
    assert (run / "samples" / "epoch_002.png").is_file()
    # Only rank 0 reports.
    assert proc.stdout.count("trained 2 epoch(s)") == 1
    # The default R1 penalty is switched off under DDP, said once, and recorded.
    assert proc.stderr.count("R1 penalty is off under torchrun") == 1
    assert ckpt.train.r1_gamma == 0.0


@pytest.mark.slow
def test_nproc_trains_and_ctrl_c_is_one_line_without_a_traceback(idx_dir, tmp_path):
    """`gantool train --nproc 2`: the ranks train as under torchrun; Ctrl-C (SIGINT to the whole foreground
    group, as a terminal sends it) leaves a checkpoint, one `interrupted:` line, exit 130, no traceback
    (torchrun's own main printed a 20-line SignalException and a failure summary)."""
    import signal
    import time

    run = tmp_path / "ddp"
    cmd = [
        sys.executable,
        "-c",
        "from gantool.cli import main; main()",
        "train",
        "--nproc",
        "2",
        *_tiny_run(idx_dir, run, epochs=400),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not (run / "metrics.jsonl").is_file():
        time.sleep(0.2)
    assert (run / "metrics.jsonl").is_file(), "no epoch finished"
    os.killpg(proc.pid, signal.SIGINT)  # the terminal's Ctrl-C: every process of the group
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out[-1000:], err[-3000:])
    assert "Traceback" not in err and err.count("interrupted: checkpoint saved") == 1, err[-3000:]
    assert "death signal" not in err and "SignalException" not in err, err[-3000:]
    assert load_checkpoint(run).step > 0
