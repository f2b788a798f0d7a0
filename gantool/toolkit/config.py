"""One dataclass config per stage. Checkpoints store `asdict(config)` and rebuild from it."""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from gantool.core.configs import check_finite, from_dict
from gantool.core.errors import GantoolError

LOSSES = ("bce", "hinge")
DEFAULT_EPOCHS = 20  # when neither --epochs nor --minutes is given
MAX_DIM = 1 << 16  # latent size and width: anything larger is a typo, not a model


@dataclass
class ModelConfig:
    arch: str = "dcgan"  # registered name: "mlp" | "dcgan"
    latent_dim: int = 64
    num_classes: int = (
        10  # class-conditional by default (measured best: benchmarks/results/quality.md); 0 = unconditional
    )
    width: int = 32  # base width: channels (dcgan) or hidden units / 8 (mlp)
    d_width: Optional[int] = None  # the discriminator's width (None: `width`); only G is exported
    image_size: int = 28
    channels: int = 1
    d_norm: str = "batch"  # discriminator normalisation: "batch" | "spectral" (SNGAN)
    d_mbstd: bool = False  # minibatch standard-deviation feature in D (ProGAN): fights mode collapse
    size: Optional[str] = None  # the SIZES preset these fields came from (None: set field by field)

    def validate(self) -> "ModelConfig":
        """Ranges only; the architecture name is checked where models are created (create_models)."""
        _positive(self, "latent_dim", "width", "channels")
        if self.d_width is not None and not 0 < self.d_width <= MAX_DIM:
            raise GantoolError(f"d width must be in 1..{MAX_DIM}, got {self.d_width}")
        if self.latent_dim > MAX_DIM or self.width > MAX_DIM or self.channels > 4:
            raise GantoolError(f"latent dim and width must be <= {MAX_DIM} and channels <= 4")
        if not 0 <= self.num_classes <= 1000:
            raise GantoolError(f"num_classes must be in 0..1000, got {self.num_classes}")
        if self.d_norm not in ("batch", "spectral"):
            raise GantoolError(f"unknown discriminator norm {self.d_norm!r}; choose batch or spectral")
        if self.size is not None and self.size not in SIZES:
            raise GantoolError(f"unknown size {self.size!r}; choose one of: {', '.join(SIZES)}")
        if self.image_size != 28:
            raise GantoolError(f"only 28x28 images are supported, got image_size={self.image_size}")
        return self

    @property
    def conditional(self) -> bool:
        return self.num_classes > 0

    @property
    def critic_width(self) -> int:
        return self.width if self.d_width is None else self.d_width


# The family of generator sizes (Ultralytics' n/s/m idea): presets of the fields above, for the dcgan.
# nano fits a Cortex-M4: <= 100 KB of int8 weights, <= 32 KB of activations at batch 1 (gantool export
# --c reports both); the critic stays wide (d_width 32) because only G ships, and a width-8 critic
# taught it worse (benchmarks/results/sizes.md).
SIZES: dict[str, dict[str, Any]] = {
    "nano": {"arch": "dcgan", "width": 8, "latent_dim": 16, "d_width": 32},
    "small": {"arch": "dcgan", "width": 16, "latent_dim": 32, "d_width": 32},
    "base": {"arch": "dcgan", "width": 32, "latent_dim": 64, "d_width": None},
}


def model_config(size: Optional[str] = None, **fields: Any) -> ModelConfig:
    """A ModelConfig from a size preset; fields given explicitly win over the preset's."""
    if size is None:
        return ModelConfig(**fields)
    if size not in SIZES:
        raise GantoolError(f"unknown size {size!r}; choose one of: {', '.join(SIZES)}")
    return ModelConfig(**{**SIZES[size], **fields, "size": size})


@dataclass
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    dataset: str = "mnist"  # registered name: mnist | fashion-mnist | mnist-sample | idx
    data_dir: Optional[str] = None
    download: bool = True  # let torchvision fetch MNIST when files are missing
    run_dir: str = "runs/gantool"
    epochs: Optional[int] = None  # None: DEFAULT_EPOCHS, or no limit when `minutes` is set
    minutes: Optional[float] = None  # wall-clock budget; stops at the first step past it
    batch_size: int = 128
    # 4e-4 measured better than DCGAN's 2e-4 on a 5-minute budget (FID 19.6 against 22.0; 8e-4 gave 20.8,
    # and batch 32 or 64 gained no more: benchmarks/results/recipe_search.md)
    lr_g: float = 4e-4
    lr_d: float = 4e-4
    beta1: float = 0.5
    beta2: float = 0.999
    loss: str = "bce"  # "bce" (non-saturating) | "hinge"
    label_smoothing: float = 0.0  # one-sided: real targets become 1 - smoothing
    ema: bool = True
    ema_decay: float = 0.999
    rotate: float = 0.0  # random rotation augmentation of real digits, in degrees
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    amp: bool = True  # allow bf16 autocast (False: fp32 whatever --precision says)
    precision: str = "auto"  # auto (bf16 where the device has bf16 units: CUDA, AVX512-BF16/AMX CPUs) | fp32 | bf16
    threads: Optional[int] = None  # CPU intra-op threads (None: the cores other processes leave free)
    compile: bool = False
    # channels_last (NHWC) memory for the convolutions (None: auto, on for bf16 on a CPU at batch >= 128,
    # where oneDNN's bf16 kernels ran 9-12% faster in it; at batch 64 14-20% slower, in fp32 no gain:
    # benchmarks/results/recipe_search.md). Checkpoints store plain (NCHW) tensors either way.
    channels_last: Optional[bool] = None
    sample_every: int = 1  # epochs between sample grids
    cond_warmup: int = 0  # conditional models: steps over which the label's weight ramps 0 -> 1 (0 = off)
    diffaug: str = ""  # DiffAugment policy for D's inputs, e.g. "translation,cutout"
    r1_gamma: float = 1.0  # R1 gradient penalty on real images (0 = off); measured best, see recipe_search.md
    r1_every: int = 4  # lazy regularisation: apply R1 every N steps, scaled by N
    # Fraction of training (epochs, else the --minutes budget) after which both learning rates fall
    # linearly to 0 (1 = constant). 0.5 measured better on a 10-minute budget: FID 21.3 against 22.6
    # (benchmarks/results/recipe_search.md); it also made the bundled model (make pretrained).
    lr_decay_start: float = 0.5
    eval_every: int = 0  # epochs between FID evaluations (0 = off); keeps checkpoints/best.pt
    eval_n: int = 2000  # generated samples per evaluation during training

    @property
    def max_epochs(self) -> int:
        """The epoch limit: `epochs`, else DEFAULT_EPOCHS, else (a time budget alone) no limit."""
        if self.epochs is not None:
            return self.epochs
        return 1 << 62 if self.minutes is not None else DEFAULT_EPOCHS

    def validate(self) -> "TrainConfig":
        self.model.validate()
        check_finite(
            self,
            "minutes",
            "lr_g",
            "lr_d",
            "beta1",
            "beta2",
            "label_smoothing",
            "ema_decay",
            "rotate",
            "r1_gamma",
            "lr_decay_start",
        )
        if self.epochs is not None and self.epochs < 1:
            raise GantoolError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise GantoolError(f"batch size must be >= 1, got {self.batch_size}")
        if self.minutes is not None and not (0 < self.minutes <= MAX_MINUTES and math.isfinite(self.minutes)):
            raise GantoolError(
                f"minutes must be a positive number of at most {MAX_MINUTES} (a year), got {self.minutes}"
            )
        if self.loss not in LOSSES:
            raise GantoolError(f"unknown loss {self.loss!r}; choose one of: {', '.join(LOSSES)}")
        if not 0.0 <= self.label_smoothing < 0.5:
            raise GantoolError(f"label smoothing must be in [0, 0.5), got {self.label_smoothing}")
        if not 0.0 < self.ema_decay < 1.0:
            raise GantoolError(f"ema decay must be in (0, 1), got {self.ema_decay}")
        if self.rotate < 0 or self.rotate > 180:
            raise GantoolError(f"rotate must be in [0, 180] degrees, got {self.rotate}")
        _positive(self, "lr_g", "lr_d", "sample_every", "r1_every")
        from gantool.toolkit.augment import parse_policy

        parse_policy(self.diffaug)
        if not 0.0 <= self.lr_decay_start <= 1.0:
            raise GantoolError(f"lr decay start must be a fraction in [0, 1], got {self.lr_decay_start}")
        if self.r1_gamma < 0:
            raise GantoolError(f"r1 gamma must be >= 0, got {self.r1_gamma}")
        if self.cond_warmup < 0:
            raise GantoolError(f"cond warmup must be >= 0 steps, got {self.cond_warmup}")
        if self.precision not in PRECISIONS:
            raise GantoolError(f"unknown precision {self.precision!r}; choose one of: {', '.join(PRECISIONS)}")
        if self.threads is not None and not 1 <= self.threads <= 1024:
            raise GantoolError(f"threads must be in 1..1024, got {self.threads}")
        if self.eval_every < 0 or self.eval_n < 2:
            raise GantoolError("eval every must be >= 0 and eval n >= 2")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        return from_dict(cls, d)


PRECISIONS = ("auto", "fp32", "bf16")
MAX_MINUTES = 525_600  # a year: a larger budget is a typo, and time arithmetic on it would overflow


def default_run_dir(arch: str) -> str:
    """runs/ARCH-YYYYmmdd-HHMMSS: where a run goes when no --run-dir is given."""
    return str(Path("runs") / f"{arch}-{time.strftime('%Y%m%d-%H%M%S')}")


def _positive(cfg: object, *names: str) -> None:
    for name in names:
        value = getattr(cfg, name)
        if not value > 0:
            raise GantoolError(f"{name.replace('_', ' ')} must be > 0, got {value}")
