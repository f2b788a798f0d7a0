"""Seeded models: one int64 seed per image gives the same latent (and digit) in every runtime."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gantool.core.errors import GantoolError
from gantool.runtime import Sampler
from gantool.runtime.seeded import seeded_latents

pytest.importorskip("onnx")


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def test_latents_are_standard_normal_and_independent():
    z = seeded_latents(np.arange(4000, dtype=np.int64), 64).astype(np.float64)  # (4000, 64)
    flat = np.sort(z.ravel())
    assert abs(flat.mean()) < 0.01 and abs(flat.std() - 1) < 0.01
    # Kolmogorov-Smirnov against N(0, 1): 256,000 values, 1% critical value 1.63 / sqrt(n).
    ks = np.max(np.abs(_normal_cdf(flat) - np.arange(1, flat.size + 1) / flat.size))
    assert ks < 1.63 / math.sqrt(flat.size), ks
    # Neighbouring seeds and neighbouring latent dimensions are uncorrelated (|r| < 4 / sqrt(n)).
    r_seeds = np.corrcoef(z[:-1].ravel(), z[1:].ravel())[0, 1]
    r_dims = np.corrcoef(z[:, :-1].ravel(), z[:, 1:].ravel())[0, 1]
    assert abs(r_seeds) < 4 / math.sqrt(z[:-1].size) and abs(r_dims) < 4 / math.sqrt(z[:, :-1].size)
    per_dim = np.corrcoef(z.T)[np.triu_indices(64, 1)]  # any two dimensions
    assert np.abs(per_dim).max() < 5 / math.sqrt(len(z))


def test_truncated_latents_stay_in_range():
    z = seeded_latents(np.arange(500, dtype=np.int64), 64, truncation=0.5)
    assert np.abs(z).max() <= 0.5 and z.std() < 0.35
    assert np.array_equal(seeded_latents(np.arange(5), 8), seeded_latents(np.arange(5), 8, truncation=None))


@pytest.fixture(scope="module")
def seeded_export(trained_run, tmp_path_factory):
    from gantool.export import ExportConfig, export

    out = tmp_path_factory.mktemp("seeded")
    export(
        trained_run("dcgan", 10),
        ExportConfig(out_dir=str(out), formats=("seeded",), variants=("int8",), fid=False),
        progress=False,
    )
    return out


def test_graph_latents_equal_numpy_bit_for_bit(seeded_export):
    import onnx

    from gantool.export.makers.seeded import latent_model
    from gantool.runtime.session import open_session

    seeds = np.concatenate(
        [np.arange(4000), [2**31 - 1, 2**31, 2**32, 2**62, 2**63 - 1, 2**40 + 3, 12345678901234, -1, -(2**63), 99]]
    ).astype(np.int64)  # 4,010 seeds, negatives wrap
    session = open_session(latent_model(8, 18).SerializeToString())
    for trunc in (None, 0.6):
        feeds = {"seed": seeds} if trunc is None else {"seed": seeds, "truncation": np.array([trunc], np.float32)}
        assert np.array_equal(session.run(None, feeds)[0], seeded_latents(seeds, 8, trunc))
    from onnx.reference import ReferenceEvaluator  # the spec's interpreter agrees too

    ref = ReferenceEvaluator(onnx.load(str(seeded_export / "model.seeded.onnx")))
    sampler = Sampler(seeded_export / "model.seeded.onnx")
    few = seeds[[0, 1, 4000, 4004, 4007]]
    got = ref.run(None, {"seed": few, "label": np.arange(5, dtype=np.int64)})[0]
    want = sampler.generator.run_seeds(few, np.arange(5))
    assert np.abs(got - want).max() <= 1e-5


def test_sampler_on_a_seeded_file(seeded_export):
    s = Sampler(seeded_export / "model.seeded.onnx")
    assert s.seeded and s.metadata.get("latent_algorithm") == "gantool-seeded-v1"
    batch = s.sample(6, seed=40, labels=3)
    for k in range(6):  # image k of a request is reproducible on its own: seed 40 + k
        assert np.array_equal(batch[k], s.sample(1, seed=40 + k, labels=3)[0])
    plain = Sampler(seeded_export / "model.onnx")
    z = seeded_latents(np.arange(40, 46), plain.latent_dim)
    assert np.abs(plain.generate(z, 3).astype(int) - batch.astype(int)).max() <= 1
    int8 = Sampler(seeded_export / "model.seeded.int8.onnx")
    assert np.abs(int8.sample(6, seed=40, labels=3).astype(int) - batch.astype(int)).mean() < 3
    t = s.sample(4, seed=1, truncation=0.5)
    assert t.shape == (4, 28, 28)


def test_seeded_bad_input(seeded_export):
    s = Sampler(seeded_export / "model.seeded.onnx")
    for seed, message in ((-1, "seed must be between 0"), (2**63, "seed must be between 0"), (1.5, "integer")):
        with pytest.raises(ValueError, match=message):
            s.sample(2, seed=seed)
    with pytest.raises(ValueError, match="within int64"):
        s.sample(3, seed=2**63 - 2)
    with pytest.raises(ValueError, match="seeded model: it takes seeds, not latents"):
        s.generate(np.zeros((2, 8), np.float32), [1, 2])
    plain = Sampler(seeded_export / "model.onnx")
    with pytest.raises(GantoolError, match="takes latents, not seeds"):
        plain.generator.run_seeds(np.arange(2), np.arange(2))


def test_cli_samples_a_seeded_file(seeded_export, tmp_path):
    from typer.testing import CliRunner

    from gantool.cli import app

    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "sample",
            str(seeded_export / "model.seeded.onnx"),
            "--n",
            "5",
            "--seed",
            "9",
            "--digit",
            "4",
            "--out",
            str(tmp_path / "x.npy"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert np.array_equal(
        np.load(tmp_path / "x.npy"), Sampler(seeded_export / "model.seeded.onnx").sample(5, seed=9, labels=4)
    )
    res = runner.invoke(app, ["sample", str(seeded_export / "model.seeded.onnx"), "--seed", "-3"])
    assert res.exit_code == 2 and res.stderr.count("\n") == 1 and "seed must be between 0" in res.stderr
