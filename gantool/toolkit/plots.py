"""Loss curves as a PNG a person opens (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gantool.core.fileio import atomic_path


def plot_losses(loss_log: list[dict], path: str | Path, history: list[dict] | None = None) -> None:
    """Write D and G loss curves against the training step as a PNG: the mean of every LOG_EVERY
    steps as lines, and each epoch's mean (the numbers training prints) as dots on them."""
    if not loss_log:
        return
    import matplotlib

    matplotlib.use("Agg")  # no display needed
    import matplotlib.pyplot as plt

    steps = np.array([r["step"] for r in loss_log])
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for key, name in (("d_loss", "D loss"), ("g_loss", "G loss")):
        (line,) = ax.plot(steps, [r[key] for r in loss_log], label=f"{name} (mean of 10 steps)", lw=1.0, alpha=0.8)
        if history:
            ax.plot(
                [h["step"] for h in history],
                [h[key] for h in history],
                "o",
                color=line.get_color(),
                ms=4,
                label=f"{name}, epoch mean (as printed)",
            )
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("gantool training losses")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
