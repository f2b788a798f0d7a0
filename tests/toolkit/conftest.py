from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")


@pytest.fixture
def tiny_cfg(idx_dir, tmp_path):
    """A TrainConfig that trains in well under a second on 2 CPU cores."""
    from gantool.toolkit import ModelConfig, TrainConfig

    def make(arch="dcgan", num_classes=0, **kw):
        base = dict(
            dataset="idx",
            data_dir=str(idx_dir),
            epochs=2,
            batch_size=64,
            run_dir=str(tmp_path / f"run-{arch}-{num_classes}"),
            device="cpu",
            seed=3,
        )
        base.update(kw)
        return TrainConfig(model=ModelConfig(arch=arch, num_classes=num_classes, width=4, latent_dim=8), **base)

    return make
