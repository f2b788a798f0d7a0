"""The float forms benchmarks/fp32_forms.py measures equal what they replace to float rounding: the
phase forms of a stride-2 ConvTranspose (BatchNorm folded in), and the NHWC matrix-product generator."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

_spec = importlib.util.spec_from_file_location(
    "float_forms", Path(__file__).resolve().parents[1] / "benchmarks" / "float_forms.py"
)
assert _spec is not None and _spec.loader is not None
float_forms = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(float_forms)
FORMS, PhaseConvShared, rewrite_phases = float_forms.FORMS, float_forms.PhaseConvShared, float_forms.rewrite_phases


def _layer(c_in: int = 6, c_out: int = 5, seed: int = 0) -> tuple[nn.ConvTranspose2d, nn.BatchNorm2d]:
    torch.manual_seed(seed)
    ct, bn = nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out)
    with torch.no_grad():
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.normal_()
        bn.bias.normal_()
    return ct, bn.eval()


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("hw", [(7, 7), (14, 14), (5, 9)])
def test_the_phase_form_equals_the_conv_transpose(form, hw):
    ct, bn = _layer()
    x = torch.randn(3, 6, *hw)
    with torch.no_grad():
        want, got = bn(ct(x)), FORMS[form](ct, bn)(x)
    assert got.shape == want.shape == (3, 5, 2 * hw[0], 2 * hw[1])
    assert (got - want).abs().max() < 1e-5


def test_only_kernel_4_stride_2_padding_1_has_a_phase_form():
    with pytest.raises(ValueError, match="phase form"):
        PhaseConvShared(nn.ConvTranspose2d(4, 4, 3, 2, 1))


def test_a_layer_list_is_rewritten_with_its_batchnorm_folded():
    ct, bn = _layer()
    other = nn.ConvTranspose2d(6, 6, 7, 1, 0)  # the projection: not a stride-2 layer, kept
    layers = rewrite_phases([other, nn.ReLU(), ct, bn, nn.ReLU()], "shared")
    assert [type(m).__name__ for m in layers] == ["ConvTranspose2d", "ReLU", "PhaseConvShared", "ReLU"]


def test_the_nhwc_generator_equals_the_trained_one():
    from gantool.toolkit.config import ModelConfig
    from gantool.toolkit.models.dcgan import DCGANGenerator

    torch.manual_seed(0)
    g = DCGANGenerator(ModelConfig(arch="dcgan", num_classes=10, width=4, latent_dim=8)).eval()
    for m in g.modules():  # eval statistics that are not the identity
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 2.0)
    z, label = torch.randn(5, 8), torch.arange(5) % 10
    with torch.no_grad():
        assert (float_forms.DCGANMatMul(g.for_export())(z, label) - g(z, label)).abs().max() < 1e-5
