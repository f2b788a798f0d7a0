"""Shared fixtures: tiny synthetic IDX data, the real MNIST test set from ../shared, trained runs.

On CI (CI=true) a test may not skip for a missing dependency (a system package, an extra, the
shared test set): every skip becomes a failure there, except for a missing CUDA GPU, which CI never
has. Locally a skip still shows its reason (-ra). `GANTOOL_TEST_FIXTURES` names a folder in which
trained runs are kept, so the two pytest processes of `make test` train them once.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist"
ON_CI = os.environ.get("CI", "").lower() == "true"
ALLOWED_ON_CI = ("CUDA",)  # skip reasons CI may show: it has no GPU


def _ci_refuses(report) -> None:
    reason = str(report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr)
    if (
        ON_CI
        and report.skipped
        and not any(word in reason for word in ALLOWED_ON_CI)
        and "xfail" not in getattr(report, "keywords", {})
    ):  # a module's skip is a CollectReport: no keywords
        report.outcome = "failed"
        report.longrepr = f"CI may not skip this test: {reason} (.ci/run must install what it needs)"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _ci_refuses(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _ci_refuses(outcome.get_result())


TRAINING_FIXTURES = {"trained_run", "tiny_cfg"}  # every fixture that trains uses one of these


def pytest_collection_modifyitems(config, items):
    """Tests that train a model first (through the fixtures above) are marked `trains`: `make
    test-fast` leaves them out, so it gives feedback in seconds, not minutes."""
    for item in items:
        if TRAINING_FIXTURES & set(getattr(item, "fixturenames", ())):  # the closure: indirect uses count
            item.add_marker(pytest.mark.trains)


def pytest_terminal_summary(terminalreporter):
    """Say plainly, last, what this machine did not run and what would run it (the -ra lines above
    are easy to miss among the durations)."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = str(longrepr[2] if isinstance(longrepr, tuple) else longrepr).removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    if not reasons:
        return
    write = terminalreporter.write_line
    write("")
    write(f"Not run on this machine ({sum(reasons.values())} tests), each with what would run it:", bold=True)
    for reason, n in sorted(reasons.items(), key=lambda kv: -kv[1]):
        write(f"  {n:3d}  {reason}")
    write("  make system-deps (as root) installs the Debian and npm packages these name.")


def _fixture_dir(tmp_path_factory, name: str) -> tuple[Path, bool]:
    """(folder, already made): under $GANTOOL_TEST_FIXTURES when set (shared by processes), else a temp dir."""
    shared = os.environ.get("GANTOOL_TEST_FIXTURES")
    if not shared:
        return tmp_path_factory.mktemp(name), False
    d = Path(shared) / name
    done = d / ".complete"
    if done.is_file():
        return d, True
    d.mkdir(parents=True, exist_ok=True)
    return d, False


def _mark_complete(d: Path) -> None:
    if os.environ.get("GANTOOL_TEST_FIXTURES"):
        (d / ".complete").write_text("ok\n")


@pytest.fixture(scope="session", autouse=True)
def _gantool_cache(tmp_path_factory):
    """Feature networks trained by tests are cached in a temp dir, not in ~/.cache."""
    patch = pytest.MonkeyPatch()
    patch.setenv("GANTOOL_CACHE", str(tmp_path_factory.mktemp("gantool-cache")))
    yield
    patch.undo()


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    """Write a uint8 array in IDX format (the inverse of gantool's reader)."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def synthetic_digits(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n blurry 'digits': a bright bar whose angle depends on the label."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    yy, xx = np.mgrid[0:28, 0:28] - 13.5
    images = np.zeros((n, 28, 28), np.uint8)
    for i, lab in enumerate(labels):
        angle = lab * np.pi / 10
        dist = np.abs(np.cos(angle) * yy - np.sin(angle) * xx)
        img = np.clip(255 * np.exp(-(dist**2) / 4) * (np.hypot(xx, yy) < 11), 0, 255)
        images[i] = np.clip(img + rng.normal(0, 10, img.shape), 0, 255).astype(np.uint8)
    return images, labels.astype(np.uint8)


@pytest.fixture(scope="session")
def idx_dir(tmp_path_factory) -> Path:
    """A folder with train/t10k IDX pairs of 320 / 100 synthetic digits."""
    d, made = _fixture_dir(tmp_path_factory, "idx")
    if not made:
        for prefix, n, seed in (("train", 320, 0), ("t10k", 100, 1)):
            images, labels = synthetic_digits(n, seed)
            write_idx(d / f"{prefix}-images-idx3-ubyte.gz", images)
            write_idx(d / f"{prefix}-labels-idx1-ubyte.gz", labels)
        _mark_complete(d)
    return d


@pytest.fixture(scope="session")
def shared_mnist() -> Path:
    if not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"real MNIST test set not found at {SHARED_MNIST}")
    return SHARED_MNIST


@pytest.fixture(scope="session")
def trained_run(idx_dir, tmp_path_factory):
    """Factory: a tiny run dir for (arch, num_classes), trained once per session.

    30 steps: enough for BatchNorm running stats and the EMA to leave their
    initial values, so the exported generator's output depends on z and label.
    """
    pytest.importorskip("torch")
    from gantool.toolkit import ModelConfig, TrainConfig, train

    cache: dict = {}

    def make(arch: str = "dcgan", num_classes: int = 0) -> Path:
        key = (arch, num_classes)
        if key not in cache:
            run, made = _fixture_dir(tmp_path_factory, f"run-{arch}-{num_classes}")
            if not made:
                cfg = TrainConfig(
                    model=ModelConfig(arch=arch, num_classes=num_classes, width=4, latent_dim=8),
                    dataset="idx",
                    data_dir=str(idx_dir),
                    epochs=3,
                    batch_size=32,
                    run_dir=str(run),
                    device="cpu",
                    seed=1,
                )
                train(cfg, progress=False, overwrite=True)
                _mark_complete(run)
            cache[key] = run
        return cache[key]

    return make


@pytest.fixture(scope="session")
def exported(trained_run, tmp_path_factory):
    """Factory: an export dir (onnx + torchscript + fp16 + int8) for (arch, num_classes)."""
    pytest.importorskip("onnx")
    from gantool.export import ExportConfig, export

    cache: dict = {}

    def make(arch: str = "dcgan", num_classes: int = 0) -> Path:
        key = (arch, num_classes)
        if key not in cache:
            out = tmp_path_factory.mktemp(f"export-{arch}-{num_classes}")
            export(
                trained_run(arch, num_classes), ExportConfig(out_dir=str(out), variants=("fp16", "int8"), force=True)
            )
            cache[key] = out
        return cache[key]

    return make
