from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from gantool.core.errors import GantoolError
from gantool.toolkit.data import DATASETS, load_dataset
from gantool.toolkit.data.idx import read_idx
from tests.conftest import synthetic_digits, write_idx


def test_idx_roundtrip_plain_and_gz(tmp_path):
    images, _ = synthetic_digits(7)
    for compress in (False, True):
        p = write_idx(tmp_path / (f"x{int(compress)}" + (".gz" if compress else "")), images, compress)
        np.testing.assert_array_equal(read_idx(p), images)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda b: b[:-10], "header promises"),
        (lambda b: b"\x01\x02" + b[2:], "bad magic"),
        (lambda b: b[:2] + b"\x0d" + b[3:], "data type"),
        (lambda b: b[:6], "truncated header"),
    ],
)
def test_corrupt_idx_is_one_line_error(tmp_path, damage, message):
    images, _ = synthetic_digits(3)
    raw = (write_idx(tmp_path / "ok", images, compress=False)).read_bytes()
    bad = tmp_path / "bad-images-idx3-ubyte"
    bad.write_bytes(damage(raw))
    with pytest.raises(GantoolError, match=message) as exc:
        read_idx(bad)
    assert "\n" not in str(exc.value)


def test_corrupt_gzip_is_error(tmp_path):
    bad = tmp_path / "train-images-idx3-ubyte.gz"
    bad.write_bytes(gzip.compress(b"\x00" * 100)[:20])
    with pytest.raises(GantoolError, match="corrupt IDX"):
        read_idx(bad)


def test_idx_dataset_and_split(idx_dir):
    train = load_dataset("idx", "train", str(idx_dir))
    test = load_dataset("idx", "test", str(idx_dir))
    assert train.images.shape == (320, 28, 28) and train.images.dtype == np.uint8
    assert test.images.shape == (100, 28, 28)
    assert train.num_classes == 10 and train.labels.dtype == np.int64


def test_mnist_reads_real_test_files(shared_mnist):
    data = load_dataset("mnist", "test", str(shared_mnist), download=False)
    assert data.images.shape == (10000, 28, 28)
    # Label counts published with MNIST (see shared/README.md).
    assert np.bincount(data.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_mnist_finds_torchvision_layout(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    images, labels = synthetic_digits(20)
    write_idx(raw / "train-images-idx3-ubyte", images, compress=False)
    write_idx(raw / "train-labels-idx1-ubyte", labels, compress=False)
    data = load_dataset("mnist", "train", str(tmp_path), download=False)
    np.testing.assert_array_equal(data.images, images)


def test_mnist_falls_back_to_sample_with_warning(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # no --data-dir: the cache, which is empty
    data = load_dataset("mnist", "train", None, download=False)
    err = capsys.readouterr().err
    assert data.name == "mnist-sample" and len(data) == 5000
    assert err.count("\n") == 1 and "mnist-sample" in err


def test_a_named_data_dir_without_the_split_names_the_files_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    """A folder holding only the test split: one line naming the missing training files, no substitute
    data, and a failed download leaves no MNIST/raw folder or partial file behind."""
    import torchvision.datasets as tvd

    images, labels = synthetic_digits(20)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)

    def offline(root, train, download):  # what torchvision does offline: folders, a partial file, an error
        raw = Path(root) / "MNIST" / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        (raw / "train-images-idx3-ubyte.gz").write_bytes(b"partial")
        raise OSError("network unreachable")

    monkeypatch.setattr(tvd, "MNIST", offline)
    with pytest.raises(
        GantoolError,
        match=r"no train-images-idx3-ubyte\[.gz\] and train-labels-idx1-ubyte\[.gz\] "
        r"in .* \(it holds the t10k files only\)",
    ):
        load_dataset("mnist", "train", str(tmp_path), download=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert capsys.readouterr().err == ""


def test_mnist_sample_is_balanced_real_digits():
    data = load_dataset("mnist-sample")
    assert data.images.shape == (5000, 28, 28)
    assert np.bincount(data.labels).tolist() == [500] * 10
    # Real digits: mostly background with bright strokes.
    assert 0.05 < (data.images > 128).mean() < 0.3
    with pytest.raises(GantoolError, match="no test split"):
        load_dataset("mnist-sample", "test")


def test_fashion_mnist_from_debian_package():
    from gantool.toolkit.data import FASHION_DEBIAN_DIR

    if not (FASHION_DEBIAN_DIR / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip("Debian's dataset-fashion-mnist is not installed")
    data = load_dataset("fashion-mnist", "test")
    assert data.images.shape == (10000, 28, 28) and data.num_classes == 10


def test_unknown_dataset_lists_choices():
    with pytest.raises(GantoolError, match="unknown dataset 'cifar'.*mnist-sample"):
        load_dataset("cifar")
    assert {"mnist", "fashion-mnist", "mnist-sample", "idx"} <= set(DATASETS.names())


def test_missing_data_dir_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dataset("idx", "train", str(tmp_path / "nope"))
    with pytest.raises(GantoolError, match="no train-images"):
        load_dataset("idx", "train", str(tmp_path))
