from __future__ import annotations

import pytest
import torch

from gantool.core.errors import GantoolError
from gantool.toolkit import ModelConfig, create_models
from gantool.toolkit.models import MODELS, ModelPair


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
@pytest.mark.parametrize("num_classes", [0, 10])
def test_shapes_and_range(arch, num_classes):
    cfg = ModelConfig(arch=arch, num_classes=num_classes, width=4, latent_dim=16)
    G, D = create_models(cfg)
    z = torch.randn(5, 16)
    labels = torch.arange(5) if num_classes else None
    x = G(z, labels)
    assert x.shape == (5, 1, 28, 28)
    assert x.min() >= -1 and x.max() <= 1  # Tanh output
    logits = D(x, labels)
    assert logits.shape == (5,)


def test_conditional_generator_uses_label():
    G = create_models(ModelConfig(arch="mlp", num_classes=10, width=4)).generator.eval()
    z = torch.randn(2, 64)
    a, b = G(z, torch.tensor([1, 1])), G(z, torch.tensor([7, 7]))
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match="conditional"):
        G(z)


def test_latent_dim_configurable():
    G = create_models(ModelConfig(arch="dcgan", latent_dim=100, width=4, num_classes=0)).generator
    assert G(torch.randn(3, 100)).shape == (3, 1, 28, 28)


def test_unknown_arch_is_gantool_error():
    with pytest.raises(GantoolError, match="unknown model 'resnet'; choose one of: dcgan, mlp"):
        create_models(ModelConfig(arch="resnet"))


def test_adding_a_model_is_one_function():
    name = "test-linear"
    if name not in MODELS:

        @MODELS.register(name)
        def _linear(cfg):
            g = torch.nn.Sequential(
                torch.nn.Linear(cfg.latent_dim, 784), torch.nn.Tanh(), torch.nn.Unflatten(1, (1, 28, 28))
            )
            return ModelPair(g, torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 1)))

    pair = create_models(ModelConfig(arch=name))
    assert pair.generator(torch.randn(2, 64)).shape == (2, 1, 28, 28)


def test_only_standard_ops():
    """Exportability: generators are built from stock torch.nn layers."""
    for arch in ("mlp", "dcgan"):
        G = create_models(ModelConfig(arch=arch, num_classes=10, width=4)).generator
        custom = {type(m).__module__ for m in G.modules() if not list(m.children())}
        assert custom <= {
            "torch.nn.modules." + s for s in ("linear", "activation", "conv", "batchnorm", "sparse", "flatten")
        } | {"torch.nn.modules.container"}, custom


@pytest.mark.parametrize("num_classes", [0, 10])
def test_dcgan_inference_form_is_equivalent(num_classes):
    G = create_models(ModelConfig(arch="dcgan", num_classes=num_classes, width=8)).generator
    G.train()
    for _ in range(3):  # move BN running stats away from their defaults
        G(torch.randn(16, 64), torch.randint(0, 10, (16,)) if num_classes else None)
    G.eval()
    fast = G.for_export()
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.project.modules())
    z = torch.randn(9, 64)
    labels = torch.arange(9) if num_classes else None
    with torch.no_grad():
        torch.testing.assert_close(fast(z, labels), G(z, labels), atol=1e-6, rtol=0)
    before = G(z, labels).detach()
    with torch.no_grad():
        fast.project.linear.weight.zero_()  # a copy: the training generator is untouched
    assert isinstance(G.net[0], torch.nn.ConvTranspose2d) and torch.equal(G(z, labels).detach(), before)


def test_condition_strength_zero_ignores_labels():
    from gantool.toolkit.models.conditioning import set_condition_strength

    G, D = create_models(ModelConfig(arch="mlp", num_classes=10, width=4))
    G.eval()
    D.eval()
    z, x = torch.randn(3, 64), torch.randn(3, 1, 28, 28)
    set_condition_strength(G, 0.0)
    set_condition_strength(D, 0.0)
    with torch.no_grad():
        assert torch.equal(G(z, torch.tensor([1, 2, 3])), G(z, torch.tensor([7, 7, 7])))
        assert torch.equal(D(x, torch.tensor([1, 2, 3])), D(x, torch.tensor([7, 7, 7])))
        set_condition_strength(G, 1.0)
        assert not torch.equal(G(z, torch.tensor([1, 2, 3])), G(z, torch.tensor([7, 7, 7])))
    assert float(G.cond.strength) == 1.0 and "cond.strength" in G.state_dict()
