"""Training toolkit (needs torch): data, models, losses, the training loop, metrics.

    from gantool.toolkit import TrainConfig, ModelConfig, train
    train(TrainConfig(model=ModelConfig(arch="dcgan"), dataset="mnist-sample", epochs=5))

Names load lazily so `import gantool.toolkit` stays cheap until used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gantool.core.lazy import lazy_getattr

_EXPORTS = {
    "ModelConfig": "gantool.toolkit.config",
    "TrainConfig": "gantool.toolkit.config",
    "train": "gantool.toolkit.runs",
    "resume": "gantool.toolkit.runs",
    "TrainResult": "gantool.toolkit.results",
    "TrainingInterrupted": "gantool.toolkit.results",
    "Checkpoint": "gantool.toolkit.checkpoint",
    "create_models": "gantool.toolkit.models",
    "create_generator": "gantool.toolkit.models",
    "create_discriminator": "gantool.toolkit.models",
    "MODELS": "gantool.toolkit.models",
    "DATASETS": "gantool.toolkit.data",
    "load_dataset": "gantool.toolkit.data",
    "load_checkpoint": "gantool.toolkit.checkpoint",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from gantool.toolkit.checkpoint import Checkpoint, load_checkpoint
    from gantool.toolkit.config import ModelConfig, TrainConfig
    from gantool.toolkit.data import DATASETS, load_dataset
    from gantool.toolkit.models import MODELS, create_discriminator, create_generator, create_models
    from gantool.toolkit.results import TrainingInterrupted, TrainResult
    from gantool.toolkit.runs import resume, train


__getattr__ = lazy_getattr(__name__, _EXPORTS)
