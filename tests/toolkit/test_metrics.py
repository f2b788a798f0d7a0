from __future__ import annotations

import json

import numpy as np
import pytest

from gantool.toolkit.data import load_dataset
from gantool.toolkit.metrics import scores
from gantool.toolkit.metrics.features import FeatureExtractor, accuracy, load_or_train, train_feature_net


def test_frechet_distance_closed_form():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    b = rng.normal(size=(4000, 3)) * 2 + 1  # mean +1, std 2 in each of 3 dims
    # FID of N(0, I) vs N(1, 4I): |mu|^2 + tr(I + 4I - 2*2I) = 3 + 3 = 6
    assert scores.fid(a, b) == pytest.approx(6.0, rel=0.1)
    assert scores.fid(a, a) == pytest.approx(0.0, abs=1e-6)


def test_inception_score_and_coverage_limits():
    confident_all = np.eye(10)[np.arange(1000) % 10]
    assert scores.inception_score(confident_all) == pytest.approx(10.0, rel=1e-3)
    assert scores.class_coverage(confident_all) == pytest.approx(1.0)
    one_class = np.eye(10)[np.zeros(1000, int)]
    assert scores.inception_score(one_class) == pytest.approx(1.0, rel=1e-3)
    assert scores.class_coverage(one_class) == pytest.approx(0.0)


def test_precision_recall():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(800, 8))
    assert min(scores.precision_recall(real, rng.normal(size=(800, 8)))) > 0.8
    far = rng.normal(size=(800, 8)) + 10
    assert scores.precision_recall(real, far) == (0.0, 0.0)
    collapsed = real[rng.integers(0, 5, 800)] + rng.normal(scale=0.001, size=(800, 8))  # five modes
    p, r = scores.precision_recall(real, collapsed)
    assert p > 0.9 and r < 0.3


def test_class_accuracy():
    probs = np.eye(3)[[0, 1, 2, 2]]
    acc = scores.class_accuracy(probs, np.array([0, 1, 1, 2]))
    assert acc["overall"] == 0.75 and acc["1"] == 0.5 and acc["2"] == 1.0


@pytest.fixture(scope="module")
def mnist_features(shared_mnist):
    """A feature net trained briefly on the 5k sample, applied to the real test set."""
    train = load_dataset("mnist-sample")
    net = train_feature_net(train.images, train.labels, seed=0, steps=80)
    test = load_dataset("mnist", "test", str(shared_mnist), download=False)
    return FeatureExtractor(net, None, {}), test


def test_metrics_on_real_data(mnist_features):
    ext, test = mnist_features
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(test.images))
    a, b = idx[:3000], idx[3000:6000]
    fa, pa = ext(test.images[a])
    fb, _ = ext(test.images[b])
    real_fid = scores.fid(fa, fb)
    noise = rng.integers(0, 256, (3000, 28, 28), dtype=np.uint8)
    noise_fid = scores.fid(fa, ext(noise)[0])
    assert real_fid < 5 and noise_fid > 50 * real_fid
    assert scores.class_coverage(pa) > 0.98
    ones = test.images[test.labels == 1][:800]
    assert scores.class_coverage(ext(ones)[1]) < 0.2  # one class: coverage near 0
    p, r = scores.precision_recall(fa, fb)
    assert p > 0.6 and r > 0.6


@pytest.mark.slow
def test_feature_net_recipe_accuracy_on_5k_sample(shared_mnist, tmp_path, monkeypatch):
    """The full recipe, trained on the 5,000-digit sample of MNIST's training split, reaches
    >= 98% on the 10,000 MNIST test digits (full MNIST is not available offline)."""
    monkeypatch.setenv("GANTOOL_CACHE", str(tmp_path))
    train = load_dataset("mnist-sample")
    test = load_dataset("mnist", "test", str(shared_mnist), download=False)
    ext = load_or_train(
        train.images, train.labels, dataset="mnist-sample", test=(test.images, test.labels), progress=False
    )
    assert ext.test_accuracy >= 0.98
    cached = load_or_train(train.images, train.labels, dataset="mnist-sample", progress=False)
    assert cached.test_accuracy == ext.test_accuracy  # from the cache, not retrained
    assert accuracy(cached.net, test.images[:1000], test.labels[:1000]) >= 0.975
    assert len(list(tmp_path.rglob("*.pt"))) == 1


def test_feature_net_cache_is_keyed_by_data(idx_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("GANTOOL_CACHE", str(tmp_path))
    data = load_dataset("idx", "train", str(idx_dir))
    first = load_or_train(data.images, data.labels, dataset="idx", progress=False)
    again = load_or_train(data.images, data.labels, dataset="idx", progress=False)
    assert json.dumps(first.info, sort_keys=True) == json.dumps(again.info, sort_keys=True)
    load_or_train(data.images[:200], data.labels[:200], dataset="idx", progress=False)
    assert len(list(tmp_path.rglob("*.pt"))) == 2
