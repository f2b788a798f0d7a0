from __future__ import annotations

import math

import pytest
import torch

from gantool.core.errors import GantoolError
from gantool.toolkit.augment import random_rotate
from gantool.toolkit.ema import EMA
from gantool.toolkit.losses import BCELoss, HingeLoss, create_loss


def test_bce_values_and_smoothing():
    zero = torch.zeros(4)
    loss = BCELoss()
    assert loss.d_real(zero).item() == pytest.approx(math.log(2))
    assert loss.g(torch.full((4,), 10.0)).item() < 1e-3  # D fooled -> small G loss
    smooth = BCELoss(label_smoothing=0.1)
    # Smoothed real target 0.9: the optimum logit is log(0.9/0.1), not +inf.
    best = torch.full((1,), math.log(9.0))
    assert smooth.d_real(best) < smooth.d_real(best + 2) and smooth.d_real(best) < smooth.d_real(best - 2)
    # One-sided: fake targets stay 0.
    assert smooth.d_fake(zero).item() == pytest.approx(math.log(2))


def test_hinge_values():
    loss = HingeLoss()
    assert loss.d_real(torch.tensor([2.0, 0.0])).item() == pytest.approx(0.5)
    assert loss.d_fake(torch.tensor([-2.0, 0.0])).item() == pytest.approx(0.5)
    assert loss.g(torch.tensor([1.0, 3.0])).item() == pytest.approx(-2.0)
    with pytest.raises(GantoolError):
        create_loss("wgan")


def test_ema_tracks_weights_and_bn_buffers():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    ema = EMA(net, decay=0.5)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    net(torch.randn(16, 3) * 5 + 3)  # moves BN running stats
    before = [t.clone() for t in ema.model.state_dict().values()]
    ema.update(net)
    w = 1 - min(0.5, 1 / 10)  # first update uses the warm-up decay 0.1
    for (name, now), old, cur in zip(ema.model.state_dict().items(), before, net.state_dict().values(), strict=True):
        if now.dtype.is_floating_point:
            torch.testing.assert_close(now, old + w * (cur - old), msg=name)
        else:
            assert torch.equal(now, cur)
    assert ema.num_updates == 1 and not any(p.requires_grad for p in ema.model.parameters())


def test_rotation():
    x = -torch.ones(2, 1, 28, 28)
    x[:, :, 4:24, 13:15] = 1.0  # vertical bar
    same = random_rotate(x, 0.0, torch.Generator().manual_seed(0))
    torch.testing.assert_close(same, x, atol=1e-5, rtol=0)
    a = random_rotate(x, 45.0, torch.Generator().manual_seed(1))
    b = random_rotate(x, 45.0, torch.Generator().manual_seed(1))
    assert torch.equal(a, b)  # reproducible from the generator
    assert not torch.allclose(a, x)
    assert a.min() >= -1 - 1e-5 and a.max() <= 1 + 1e-5
    assert torch.allclose(a[:, :, 0, 0], -torch.ones(2, 1))  # background stays background


def test_diff_augment_is_differentiable_and_reproducible():
    from gantool.toolkit.augment import diff_augment, parse_policy

    x = (torch.rand(6, 1, 28, 28) * 2 - 1).requires_grad_(True)
    policy = parse_policy("translation,cutout,brightness,contrast")
    a = diff_augment(x, policy, torch.Generator().manual_seed(3))
    b = diff_augment(x, policy, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.shape == x.shape and not torch.equal(a, x)
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert diff_augment(x, (), torch.Generator()) is x
    cut = diff_augment(torch.ones(4, 1, 28, 28), parse_policy("cutout"), torch.Generator().manual_seed(0))
    assert ((cut == -1).float().mean(dim=(1, 2, 3)) > 0.05).all()  # a background hole in each image


def test_minibatch_stddev_feature():
    from gantool.toolkit.models.conditioning import MinibatchStdDev

    layer = MinibatchStdDev(group=4)
    same = torch.ones(8, 3, 2, 2)
    out = layer(same)
    assert out.shape == (8, 4, 2, 2) and out[:, 3].max() < 1e-3  # identical samples: ~zero std
    assert layer(torch.randn(8, 3, 2, 2))[:, 3].min() > 0.3
    assert layer(torch.randn(6, 3, 2, 2)).shape == (6, 4, 2, 2)  # batch not divisible by the group
