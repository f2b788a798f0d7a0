from __future__ import annotations

import json
import math
import os
import signal
from pathlib import Path

import pytest
import torch
from PIL import Image

from gantool.core.errors import GantoolError
from gantool.toolkit import TrainingInterrupted, load_checkpoint, resume, train


def _g_weights(run_dir) -> dict:
    ckpt = load_checkpoint(run_dir)
    return {**ckpt.state["generator"], **{f"ema.{k}": v for k, v in ckpt.state["ema"]["model"].items()}}


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
@pytest.mark.parametrize("num_classes", [0, 10])
def test_run_dir_contents(tiny_cfg, arch, num_classes):
    cfg = tiny_cfg(arch, num_classes)
    result = train(cfg, progress=False)
    run = Path(cfg.run_dir)
    assert result.epochs_done == 2 and result.steps == 2 * (320 // 64)
    assert json.loads((run / "config.json").read_text())["model"]["arch"] == arch
    lines = [json.loads(s) for s in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2]
    assert all(r["images_per_s"] > 0 and r["d_loss"] > 0 for r in lines)
    grid = Image.open(run / "samples" / "epoch_002.png")
    # Conditional: one row per digit (10 rows of 10); else an 8x8 grid. 28 px + 2 px padding.
    assert grid.size == ((10 if num_classes else 8) * 30 + 2, (10 if num_classes else 8) * 30 + 2)
    assert Image.open(run / "losses.png").size[0] > 300
    ckpt = load_checkpoint(run)
    assert {"generator", "discriminator", "ema", "opt_g", "opt_d", "rng", "step"} <= ckpt.state.keys()
    assert ckpt.model.num_classes == num_classes
    G = ckpt.generator()  # rebuilt from the stored config alone
    z = torch.randn(2, 8)
    labels = torch.tensor([3, 4]) if num_classes else None
    assert G(z, labels).shape == (2, 1, 28, 28)


def test_training_learns_something(tiny_cfg):
    """D's loss on real data falls below chance early in training on easy synthetic digits."""
    cfg = tiny_cfg("mlp", epochs=3)
    result = train(cfg, progress=False)
    assert result.history[0]["d_loss"] < 2 * 0.6932  # below two chance-level BCE terms


def test_deterministic_on_cpu(tiny_cfg, tmp_path):
    a, b = tiny_cfg("dcgan", rotate=15.0), tiny_cfg("dcgan", rotate=15.0, run_dir=str(tmp_path / "b"))
    train(a, progress=False)
    train(b, progress=False)
    _assert_same(_g_weights(a.run_dir), _g_weights(b.run_dir))


def test_resume_after_epoch_equals_uninterrupted(tiny_cfg, tmp_path, capsys):
    """A run extended on resume equals one trained that long with a constant learning rate; with the
    default decay (a fraction of the run's length) resuming with a new length says it stretches it."""
    full = tiny_cfg("dcgan", 10, epochs=2, lr_decay_start=1.0)
    train(full, progress=False)
    part = tiny_cfg("dcgan", 10, epochs=1, run_dir=str(tmp_path / "part"), lr_decay_start=1.0)
    train(part, progress=False)
    decayed = tiny_cfg("dcgan", 10, epochs=1, run_dir=str(tmp_path / "decayed"))
    train(decayed, progress=False)
    capsys.readouterr()
    resume(decayed.run_dir, {"epochs": 2}, progress=False)
    assert "stretches the learning-rate decay" in capsys.readouterr().err
    result = resume(part.run_dir, {"epochs": 2}, progress=False)
    assert "stretches" not in capsys.readouterr().err
    assert result.epochs_done == 2
    _assert_same(_g_weights(full.run_dir), _g_weights(part.run_dir))
    assert len(load_checkpoint(part.run_dir).state["history"]) == 2


def test_ctrl_c_mid_epoch_checkpoints_and_resumes_exactly(tiny_cfg, tmp_path):
    full = tiny_cfg("mlp", epochs=2)
    train(full, progress=False)
    cut = tiny_cfg("mlp", epochs=2, run_dir=str(tmp_path / "cut"))

    def press_ctrl_c(trainer):
        if trainer.step == 7:  # mid-way through epoch 2 (5 steps per epoch)
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(TrainingInterrupted) as exc:
        train(cut, progress=False, on_step=press_ctrl_c)
    ckpt = load_checkpoint(exc.value.checkpoint)
    assert (ckpt.step, ckpt.state["epoch"], ckpt.state["batch_in_epoch"]) == (7, 1, 2)
    resume(cut.run_dir, progress=False)
    _assert_same(_g_weights(full.run_dir), _g_weights(cut.run_dir))


def test_time_budget_stops_early(tiny_cfg):
    cfg = tiny_cfg("mlp", epochs=1000, minutes=0.0005)  # 30 ms
    result = train(cfg, progress=False)
    assert result.stopped_by == "time" and result.epochs_done < 1000
    assert load_checkpoint(cfg.run_dir).step == result.steps


def test_refuses_to_overwrite_existing_run(tiny_cfg):
    cfg = tiny_cfg("mlp", epochs=1)
    train(cfg, progress=False)
    before = (Path(cfg.run_dir) / "checkpoints" / "last.pt").read_bytes()
    with pytest.raises(GantoolError, match="already holds a run"):
        train(cfg, progress=False)
    assert (Path(cfg.run_dir) / "checkpoints" / "last.pt").read_bytes() == before


def test_unwritable_run_dir(tiny_cfg, tmp_path):
    if os.geteuid() == 0:
        target = "/proc/gantool-run"  # not writable even for root
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = str(locked / "run")
    with pytest.raises(GantoolError, match="not writable"):
        train(tiny_cfg("mlp", run_dir=target), progress=False)


def test_invalid_configs(tiny_cfg):
    with pytest.raises(GantoolError, match="epochs must be >= 1"):
        train(tiny_cfg("mlp", epochs=-1), progress=False)
    with pytest.raises(GantoolError, match="unknown loss"):
        train(tiny_cfg("mlp", loss="wgan"), progress=False)
    with pytest.raises(GantoolError, match="unknown model"):
        train(tiny_cfg("vae"), progress=False)


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/gantool-pwned",))


def test_checkpoint_loading_refuses_code_and_foreign_files(tmp_path):
    evil = tmp_path / "evil.pt"
    torch.save({"format": "gantool-checkpoint", "x": _Evil()}, evil)
    with pytest.raises(GantoolError, match="refusing to load"):
        load_checkpoint(evil)
    assert not Path("/tmp/gantool-pwned").exists()
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, foreign)
    with pytest.raises(GantoolError, match="not a gantool checkpoint"):
        load_checkpoint(foreign)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"this is not a checkpoint")
    with pytest.raises(GantoolError, match="not a readable gantool checkpoint"):
        load_checkpoint(garbage)
    with pytest.raises(GantoolError, match="not a gantool run directory"):
        load_checkpoint(tmp_path)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")


def test_checkpoint_from_other_architecture(tiny_cfg, tmp_path):
    cfg = tiny_cfg("mlp", epochs=1)
    train(cfg, progress=False)
    ckpt = load_checkpoint(cfg.run_dir)
    ckpt.model.arch = "dcgan"  # weights no longer fit the architecture
    with pytest.raises(GantoolError, match="do not fit architecture 'dcgan'"):
        ckpt.generator()


def test_eval_every_logs_fid_and_keeps_best(tiny_cfg, idx_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("GANTOOL_CACHE", str(tmp_path / "cache"))
    cfg = tiny_cfg("mlp", 10, epochs=3, eval_every=1, eval_n=100)
    train(cfg, progress=False)
    lines = [json.loads(s) for s in (Path(cfg.run_dir) / "metrics.jsonl").read_text().splitlines()]
    fids = [r["fid"] for r in lines]
    assert len(fids) == 3 and all(f > 0 for f in fids)
    assert all(0 <= r["coverage"] <= 1 and 0 <= r["class_accuracy"] <= 1 for r in lines)
    # the training's arithmetic and the samples' precision are two keys, neither overwriting the other
    assert all(r["precision"] in ("fp32", "bf16") and 0 <= r["sample_precision"] <= 1 for r in lines)
    best = load_checkpoint(Path(cfg.run_dir) / "checkpoints" / "best.pt")
    assert best.state["best_fid"] == min(fids)
    assert best.state["epoch"] == 1 + fids.index(min(fids))


def test_diffaug_and_r1_options_train(tiny_cfg):
    cfg = tiny_cfg("dcgan", 10, epochs=1, diffaug="translation,cutout,brightness,contrast", r1_gamma=1.0, r1_every=2)
    cfg.model.d_norm, cfg.model.d_mbstd = "spectral", True
    result = train(cfg, progress=False)
    assert result.steps == 5 and math.isfinite(result.history[0]["d_loss"])
    with pytest.raises(GantoolError, match="unknown DiffAugment policy 'flip'"):
        train(tiny_cfg("mlp", diffaug="flip"), progress=False)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_training_with_bf16_autocast(tiny_cfg):
    cfg = tiny_cfg("dcgan", 10, epochs=1, device="cuda", amp=True)
    result = train(cfg, progress=False)
    assert result.steps == 5 and math.isfinite(result.history[0]["g_loss"])
    G = load_checkpoint(cfg.run_dir).generator()  # loads on the CPU
    assert next(G.parameters()).device.type == "cpu"


def test_compile_option_wires_torch_compile(tiny_cfg, monkeypatch):
    """--compile hands G and D to torch.compile (the real compile is exercised on GPUs,
    where it pays; on 2 CPU cores inductor's start-up takes longer than these tests)."""
    compiled = []

    def fake_compile(module, *args, **kwargs):
        compiled.append(type(module).__name__)
        return module

    monkeypatch.setattr(torch, "compile", fake_compile)
    train(tiny_cfg("mlp", epochs=1, compile=True), progress=False)
    assert compiled.count("MLPGenerator") == 1 and compiled.count("MLPDiscriminator") == 1


def test_cond_warmup_ramps_label_strength(tiny_cfg):
    seen = []
    cfg = tiny_cfg("mlp", 10, epochs=2, cond_warmup=8)
    train(cfg, progress=False, on_step=lambda t: seen.append(float(t.G.cond.strength)))
    # Set before each step from the steps already taken: 0/8, 1/8, … then 1.
    assert seen[:3] == [0.0, 0.125, 0.25] and seen[-1] == 1.0


def test_the_loss_plot_shows_what_training_prints(tiny_cfg):
    """Each loss_log point is the mean of the 10 steps before it, as each epoch line prints the mean
    of its steps: two epochs of 5 steps give one point equal to the mean of the two epoch means."""
    from gantool.toolkit import train
    from gantool.toolkit.checkpoint import load_checkpoint

    cfg = tiny_cfg("dcgan", 0, epochs=2)  # 320 digits / 64 = 5 steps an epoch
    result = train(cfg, progress=False)
    log = load_checkpoint(result.run_dir).state["loss_log"]
    assert [r["step"] for r in log] == [10]
    for key in ("d_loss", "g_loss"):
        assert log[0][key] == pytest.approx(sum(h[key] for h in result.history) / 2, rel=1e-5)
    assert (result.run_dir / "losses.png").stat().st_size > 0


@pytest.mark.parametrize("limit", ["epochs", "neither"])
def test_default_learning_rate_is_constant_then_falls_to_zero(tiny_cfg, monkeypatch, limit):
    """The default recipe: both learning rates constant for the first half of the run, then linearly
    down to 0 (recipe_search.md); with neither --epochs nor --minutes the default epoch count is the
    run's length (that case once reached the clock's branch with no budget)."""
    import gantool.toolkit.config as config

    monkeypatch.setattr(config, "DEFAULT_EPOCHS", 2)
    cfg = tiny_cfg("mlp", epochs=2 if limit == "epochs" else None)
    assert cfg.lr_decay_start == 0.5
    seen = []
    train(cfg, progress=False, on_step=lambda t: seen.append(t.gan.opt_g.param_groups[0]["lr"] / cfg.lr_g))
    half = len(seen) // 2
    assert all(s == 1.0 for s in seen[: half - 1]) and seen[-1] < 0.2 and seen == sorted(seen, reverse=True)
