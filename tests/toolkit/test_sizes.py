"""The size family: presets of ModelConfig fields, recorded in the run's config, with explicit fields
winning; nano within a microcontroller's budget; the bundled nano model from `gantool sample --size`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from gantool.cli import app
from gantool.core.errors import GantoolError
from gantool.toolkit.config import SIZES, ModelConfig, model_config

runner = CliRunner()


@pytest.mark.parametrize("size", list(SIZES))
def test_each_size_is_a_preset_of_model_fields_and_is_recorded(size):
    cfg = model_config(size).validate()
    assert cfg.size == size and all(getattr(cfg, k) == v for k, v in SIZES[size].items())
    assert model_config(size, width=6).width == 6  # explicit fields win


def test_base_is_todays_default_and_unknown_sizes_are_refused():
    base, default = model_config("base"), ModelConfig()
    assert (base.width, base.latent_dim, base.critic_width) == (default.width, default.latent_dim, default.critic_width)
    with pytest.raises(GantoolError, match="unknown size 'huge'; choose one of: nano, small, base"):
        model_config("huge")
    with pytest.raises(GantoolError, match="unknown size"):
        ModelConfig(size="huge").validate()


def test_nano_fits_a_microcontroller_budget():
    """<= 100 KB of int8 weights (one byte per generator parameter) and <= 32 KB of activations at batch 1."""
    import torch

    from gantool.toolkit.models import create_models

    pair = create_models(model_config("nano"))
    params = sum(p.numel() for p in pair.generator.parameters())
    assert params <= 100 * 1024, params
    acts = []
    hooks = [m.register_forward_hook(lambda m, i, o: acts.append(o.numel())) for m in pair.generator.net]
    pair.generator.eval()(torch.zeros(1, 16), torch.zeros(1, dtype=torch.long))
    for h in hooks:
        h.remove()
    assert max(acts) * 2 <= 32 * 1024  # two uint8 buffers of the largest activation


def test_train_cli_size_records_the_preset_and_typed_fields_win(idx_dir, tmp_path):
    run = tmp_path / "run"
    res = runner.invoke(
        app,
        [
            "train",
            "--dataset",
            "idx",
            "--data-dir",
            str(idx_dir),
            "--size",
            "nano",
            "--latent-dim",
            "12",
            "--epochs",
            "1",
            "--batch-size",
            "32",
            "--run-dir",
            str(run),
            "--device",
            "cpu",
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    model = json.loads((run / "config.json").read_text())["model"]
    assert model["size"] == "nano" and model["width"] == 8 and model["d_width"] == 32 and model["latent_dim"] == 12
    res = runner.invoke(app, ["train", "--size", "huge", "--run-dir", str(tmp_path / "x")])
    assert res.exit_code == 2 and "unknown size 'huge'" in res.stderr and not (tmp_path / "x").exists()


def test_sample_size_nano_uses_the_bundled_nano_model(tmp_path):
    from gantool.runtime.sampler import Sampler

    out = tmp_path / "nano.png"
    res = runner.invoke(
        app,
        ["sample", "--size", "nano", "--n", "10", "--labels", "0,1,2,3,4,5,6,7,8,9", "--seed", "3", "--out", str(out)],
    )
    assert res.exit_code == 0 and out.is_file(), res.output
    nano = Sampler.bundled("nano")
    assert nano.latent_dim == 16 and nano.metadata.variant == "int8" and nano.seeded
    a, b = nano.sample(4, seed=11, labels=[1, 2, 3, 4]), Sampler.bundled("nano").sample(4, seed=11, labels=[1, 2, 3, 4])
    assert (a == b).all() and a.std() > 20
    res = runner.invoke(app, ["sample", str(out), "--size", "nano"])
    assert res.exit_code == 2 and "not both" in res.stderr
    res = runner.invoke(app, ["sample", "--size", "huge"])
    assert res.exit_code == 2 and "no bundled model of size 'huge'" in res.stderr
    assert np.asarray(Sampler.bundled("base").sample(1, seed=1, labels=1)).shape == (1, 28, 28)
