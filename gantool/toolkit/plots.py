"""Loss curves as a PNG a person opens (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gantool.core.fileio import atomic_path


def plot_losses(loss_log: list[dict], path: str | Path) -> None:
    """Write D and G loss curves against the training step as a PNG."""
    if not loss_log:
        return
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    steps = np.array([r["step"] for r in loss_log])
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.plot(steps, [r["d_loss"] for r in loss_log], label="D loss", lw=1.2)
    ax.plot(steps, [r["g_loss"] for r in loss_log], label="G loss", lw=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("gantool training losses")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)

