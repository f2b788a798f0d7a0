from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")

from gantool.cli import app  # noqa: E402

runner = CliRunner()


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


def test_train_then_resume(idx_dir, tmp_path):
    run = tmp_path / "run"
    res = runner.invoke(app, _args(idx_dir, run, "--arch", "mlp", "--epochs", "1", "--conditional"))
    assert res.exit_code == 0, res.output
    assert "trained 1 epoch(s)" in res.output
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["model"]["num_classes"] == 10 and cfg["model"]["arch"] == "mlp" and cfg["epochs"] == 1
    res = runner.invoke(app, ["train", "--resume", str(run), "--epochs", "2", "--quiet"])
    assert res.exit_code == 0, res.output
    assert "trained 2 epoch(s)" in res.output


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--arch", "resnet"], "unknown model 'resnet'"),
        (["--dataset", "cifar"], "unknown dataset 'cifar'"),
        (["--loss", "wgan"], "unknown loss"),
        (["--device", "cuda:7"], None),  # only an error where CUDA is absent
    ],
)
def test_bad_input_is_one_line_exit_2(idx_dir, tmp_path, extra, message):
    import torch

    if extra[0] == "--device":
        if torch.cuda.is_available():
            pytest.skip("CUDA present")
        message = "no CUDA GPU"
    args = _args(idx_dir, tmp_path / "r", "--epochs", "1")
    args[args.index("--device") : args.index("--device") + 2] = []
    res = runner.invoke(app, args + extra)
    assert res.exit_code == 2
    assert message in res.stderr
    assert res.stderr.strip().count("\n") == 0 and "Traceback" not in res.output


def test_negative_epochs_and_resume_errors(idx_dir, tmp_path):
    res = runner.invoke(app, _args(idx_dir, tmp_path / "r", "--epochs", "-3"))
    assert res.exit_code == 2 and "--epochs" in res.stderr
    res = runner.invoke(app, ["train", "--resume", str(tmp_path)])
    assert res.exit_code == 2 and "not a gantool run directory" in res.stderr
    bogus = tmp_path / "bogus.pt"
    bogus.write_text("hello")
    res = runner.invoke(app, ["train", "--resume", str(bogus)])
    assert res.exit_code == 2 and "not a readable gantool checkpoint" in res.stderr


def test_resume_with_other_architecture_refused(idx_dir, tmp_path):
    run = tmp_path / "run"
    assert runner.invoke(app, _args(idx_dir, run, "--arch", "mlp", "--epochs", "1")).exit_code == 0
    before = (run / "checkpoints" / "last.pt").read_bytes()
    res = runner.invoke(app, ["train", "--resume", str(run), "--arch", "dcgan"])
    assert res.exit_code == 2 and "arch is 'mlp', not 'dcgan'" in res.stderr
    assert (run / "checkpoints" / "last.pt").read_bytes() == before


def test_missing_data_dir(tmp_path):
    res = runner.invoke(
        app, ["train", "--dataset", "idx", "--data-dir", str(tmp_path / "nope"), "--run-dir", str(tmp_path / "r")]
    )
    assert res.exit_code == 2 and "does not exist" in res.stderr
