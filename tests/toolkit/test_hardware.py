"""Precision and thread choice from the hardware, checked at run time (gantool.toolkit.hardware)."""

from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from gantool.core.errors import GantoolError
from gantool.toolkit import hardware

CPU = torch.device("cpu")


@pytest.mark.parametrize(
    "units, asked, got",
    [
        (True, "auto", "bf16"),
        (False, "auto", "fp32"),
        (True, "fp32", "fp32"),
        (True, "bf16", "bf16"),
        (False, "fp32", "fp32"),
    ],
)
def test_precision_follows_the_cpus_units(monkeypatch, units, asked, got):
    monkeypatch.setattr(hardware, "cpu_bf16_units", lambda: units)
    assert hardware.resolve_precision(asked, CPU) == got


def test_bf16_on_a_cpu_without_units_is_refused(monkeypatch):
    monkeypatch.setattr(hardware, "cpu_bf16_units", lambda: False)
    with pytest.raises(GantoolError, match="this CPU has no bf16 units .AVX512-BF16 or AMX.; use --precision fp32"):
        hardware.resolve_precision("bf16", CPU)
    with pytest.raises(GantoolError, match="unknown precision 'fp8'"):
        hardware.resolve_precision("fp8", CPU)


def test_cpu_flags_are_read_from_proc(monkeypatch, tmp_path):
    fake = tmp_path / "cpuinfo"
    fake.write_text("processor : 0\nflags : fpu sse avx512f avx512_bf16\n")
    real = hardware.Path

    monkeypatch.setattr(hardware, "Path", lambda p: real(fake) if p == "/proc/cpuinfo" else real(p))
    assert hardware.cpu_bf16_units() is True
    fake.write_text("processor : 0\nflags : fpu sse avx2\n")
    assert hardware.cpu_bf16_units() is False


def test_free_cores_sees_a_busy_neighbour(monkeypatch):
    """Two /proc/stat samples: over the window one of two cores was busy -> one core is free."""
    import os

    samples = iter(["cpu  100 0 0 100 0 0 0 0 0 0\n", "cpu  200 0 0 200 0 0 0 0 0 0\n"])
    real = hardware.Path

    class Stat:
        def __init__(self, p):
            self.p = p

        def read_text(self):
            return next(samples) if self.p == "/proc/stat" else real(self.p).read_text()

    monkeypatch.setattr(hardware, "Path", Stat)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    assert hardware.free_cores(window_s=0.0) == 1


def test_choose_threads_sets_torch(monkeypatch):
    before = torch.get_num_threads()
    try:
        assert hardware.choose_threads(1, CPU) == 1 and torch.get_num_threads() == 1
        monkeypatch.setattr(hardware, "free_cores", lambda: 2)
        assert hardware.choose_threads(None, CPU) == 2
    finally:
        torch.set_num_threads(before)


def test_cli_bf16_without_units_is_one_line_and_writes_nothing(monkeypatch, idx_dir, tmp_path):
    from gantool.cli import app

    monkeypatch.setattr(hardware, "cpu_bf16_units", lambda: False)
    res = CliRunner().invoke(
        app,
        [
            "train",
            "--dataset",
            "idx",
            "--data-dir",
            str(idx_dir),
            "--precision",
            "bf16",
            "--epochs",
            "1",
            "--width",
            "4",
            "--latent-dim",
            "8",
            "--device",
            "cpu",
            "--run-dir",
            str(tmp_path / "run"),
            "--quiet",
        ],
    )
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1, res.output
    assert "no bf16 units" in res.stderr and not (tmp_path / "run" / "checkpoints").exists()


def test_resume_in_another_precision_says_so_and_continues(monkeypatch, tiny_cfg, capsys):
    from gantool.toolkit import resume, train

    monkeypatch.setattr(hardware, "cpu_bf16_units", lambda: True)
    cfg = tiny_cfg("dcgan", 10, epochs=1, precision="fp32", lr_decay_start=1.0)  # no decay to stretch
    train(cfg, progress=False)
    capsys.readouterr()
    result = resume(cfg.run_dir, {"epochs": 2, "precision": "bf16"}, progress=False)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "note: this run started in fp32 and continues in bf16 (this device or --precision differs); "
        "the weights carry over unchanged"
    ]
    assert result.epochs_done == 2 and [h["precision"] for h in result.history] == ["fp32", "bf16"]


@pytest.mark.parametrize(
    "choice, precision, device, batch, conv, got",
    [
        (None, "bf16", "cpu", 128, True, True),  # auto: the measured case
        (None, "bf16", "cpu", 64, True, False),  # smaller batches ran slower in NHWC
        (None, "fp32", "cpu", 256, True, False),  # no gain in fp32
        (None, "bf16", "cuda", 128, True, False),  # not measured on CUDA: NCHW as before
        (True, "fp32", "cpu", 8, True, True),
        (False, "bf16", "cpu", 128, True, False),  # the user's choice wins
        (True, "bf16", "cpu", 128, False, False),  # an MLP has no 4-D tensors
    ],
)
def test_channels_last_choice(choice, precision, device, batch, conv, got):
    assert hardware.resolve_channels_last(choice, precision, torch.device(device), batch, conv) is got


def test_channels_last_run_saves_plain_tensors_and_resumes_exactly(tiny_cfg, tmp_path):
    from gantool.toolkit import load_checkpoint, resume, train

    full = tiny_cfg("dcgan", 10, epochs=2, precision="fp32", channels_last=True, lr_decay_start=1.0)
    result = train(full, progress=False)
    assert [h["channels_last"] for h in result.history] == [True, True]
    state = load_checkpoint(full.run_dir).state
    moments = [s for opt in ("opt_g", "opt_d") for s in state[opt]["state"].values()]
    convs = [
        v
        for part in (state["generator"], state["discriminator"], state["ema"]["model"], *moments)
        for v in part.values()
        if isinstance(v, torch.Tensor) and v.dim() == 4
    ]
    assert convs and all(v.is_contiguous() for v in convs)  # NCHW on disk, whatever trained it
    part = tiny_cfg(
        "dcgan", 10, epochs=1, precision="fp32", channels_last=True, lr_decay_start=1.0, run_dir=str(tmp_path / "part")
    )
    train(part, progress=False)
    resume(part.run_dir, {"epochs": 2}, progress=False)
    a, b = load_checkpoint(full.run_dir).state, load_checkpoint(part.run_dir).state
    for k, v in a["generator"].items():
        assert torch.equal(v, b["generator"][k]), k
    # The same run in NCHW: the same model up to the kernels' rounding.
    plain = tiny_cfg(
        "dcgan",
        10,
        epochs=2,
        precision="fp32",
        channels_last=False,
        lr_decay_start=1.0,
        run_dir=str(tmp_path / "plain"),
    )
    train(plain, progress=False)
    c = load_checkpoint(plain.run_dir).state["generator"]
    for k, v in a["generator"].items():
        assert torch.allclose(v.float(), c[k].float(), atol=1e-3), k
    # A speed choice, so --resume may change it.
    again = resume(plain.run_dir, {"epochs": 3, "channels_last": True}, progress=False)
    assert [h["channels_last"] for h in again.history] == [False, False, True]
