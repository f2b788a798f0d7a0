"""What a training checkpoint holds beyond the networks: RNG streams, counters, logs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from gantool.core.errors import GantoolError, first_line

if TYPE_CHECKING:
    from gantool.toolkit import distributed as ddp
    from gantool.toolkit.config import TrainConfig
    from gantool.toolkit.gan_step import GANStep


class StateMixin:
    """state_dict / load_state_dict for the Trainer (which provides the attributes used here)."""

    cfg: TrainConfig
    gan: GANStep
    rng: torch.Generator
    info: ddp.DistInfo

    def seed(self, purpose: str, offset: int = 0) -> int:
        raise NotImplementedError  # the Trainer's

    def state_dict(self) -> dict[str, Any]:
        cfg = self.cfg.to_dict()
        return {
            "model_config": cfg["model"],
            "train_config": cfg,
            **self.gan.state_dict(),
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                "trainer": self.rng.get_state(),
            },
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "step": self.step,
            "elapsed_s": self.elapsed_s,
            "history": self.history,
            "loss_log": self.loss_log,
            "best_fid": self.best_fid,
            "precision": self.gan.precision,  # as resolved on the device ("bf16" | "fp32")
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.gan.load_state_dict(state)
        step = int(state["step"])
        if self.info.enabled:
            # Rank 0's states were saved; give every rank its own stream again.
            torch.manual_seed(self.seed("torch", 7 * step))
            self.rng.manual_seed(self.seed("draws", 7 * step))
        else:
            rng = state["rng"]
            try:
                torch.set_rng_state(rng["torch"])
                self.rng.set_state(rng["trainer"])
                if rng.get("cuda") and torch.cuda.is_available():
                    torch.cuda.set_rng_state_all(rng["cuda"])
            except (KeyError, TypeError, RuntimeError, ValueError) as e:
                raise GantoolError(
                    f"the checkpoint's RNG state is malformed ({first_line(e, 80)}); use another checkpoint"
                ) from None
        self.epoch, self.batch_in_epoch = int(state["epoch"]), int(state["batch_in_epoch"])
        self.step, self.elapsed_s = step, float(state["elapsed_s"])
        self.history, self.loss_log = list(state["history"]), list(state["loss_log"])
        self.best_fid = float(state.get("best_fid", float("inf")))
        started = state.get("precision", "fp32")  # checkpoints before this field were fp32 on CPU
        if started != self.gan.precision and self.info.is_main:
            import sys

            print(
                f"note: this run started in {started} and continues in {self.gan.precision} "
                "(this device or --precision differs); the weights carry over unchanged",
                file=sys.stderr,
            )
