"""The C lowering on the bundled nano int8 file (no training): typed layers in order, every linear
layer requantized, MACs and buffers as the header states; the layer types' own rules on tiny arrays."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from gantool.core.errors import GantoolError  # noqa: E402
from gantool.export.c.layers import (  # noqa: E402
    ConvLayer,
    GemmLayer,
    InputLayer,
    LinearLayer,
    PhaseLayer,
    Requant,
    TableLayer,
)
from gantool.export.c.lower import lower  # noqa: E402
from gantool.export.c.source import generate  # noqa: E402
from gantool.runtime.bundled import bundled_for_size  # noqa: E402


@pytest.fixture(scope="module")
def nano():
    return lower(onnx.load(str(bundled_for_size("nano"))))


def test_the_nano_model_lowers_to_typed_layers_in_order(nano):
    kinds = [type(layer) for layer in nano.layers]
    assert kinds[0] is InputLayer and kinds[1] is GemmLayer and kinds[-1] is TableLayer
    assert nano.layers[-1].pixels and not any(getattr(layer, "pixels", False) for layer in nano.layers[:-1])
    phases = [layer for layer in nano.layers if isinstance(layer, PhaseLayer)]
    assert len(phases) == 2 and all(
        sorted((a, b) for a, b, _ in p.phases) == [(0, 0), (0, 1), (1, 0), (1, 1)] for p in phases
    )
    for p in phases:  # each phase fills a quarter of the interleaved output: a 2x2 kernel
        c, h, w = p.shape_out
        assert all(conv.shape_out == (c, h // 2, w // 2) and conv.weight.shape[2:] == (2, 2) for _, _, conv in p.phases)
    assert (nano.latent_dim, nano.num_classes, nano.image_shape) == (16, 10, (1, 28, 28))
    image = nano.layers[-2]  # the file's block convolution, lowered to the 3x3 kernel it holds: no zero taps
    assert isinstance(image, ConvLayer) and image.weight.shape == (1, 8, 3, 3) and image.strides == (1, 1)
    assert image.shape_out == (1, 28, 28) and image.macs == 28 * 28 * 8 * 9


def test_every_linear_layer_is_requantized_and_the_macs_are_the_headers(nano):
    linear = [layer for layer in nano.layers if isinstance(layer, LinearLayer)] + nano.convolutions()
    assert all(layer.out is not None and layer.requant.multiplier.dtype == np.float32 for layer in linear)
    assert all(len(layer.requant.multiplier) == layer.weight.shape[0] for layer in linear)
    files = generate(nano, model_name="dcgan")
    assert f"Work:   {nano.macs} multiply-accumulates per image." in files.header and files.macs == nano.macs
    assert nano.macs == sum(layer.macs for layer in nano.layers) > 0


def test_the_same_layers_give_the_same_bytes(nano):
    assert generate(nano).source == generate(nano).source


def test_a_non_finite_scale_never_reaches_the_c_text(nano):
    bad = dataclasses.replace(nano, layers=list(nano.layers))
    first = bad.layers[0]
    assert isinstance(first, InputLayer)
    bad.layers[0] = dataclasses.replace(first, scale=np.float32("inf"))
    with pytest.raises(GantoolError, match="scale that is not finite"):
        generate(bad)


def _conv(c_out: int = 4) -> ConvLayer:
    w = np.arange(c_out * 2 * 3 * 3, dtype=np.int8).reshape(c_out, 2, 3, 3)
    return ConvLayer(
        shape_in=(2, 5, 5),
        shape_out=(c_out, 5, 5),
        weight=w,
        bias=np.arange(c_out, dtype=np.int32),
        x_zp=3,
        x_scale=np.float32(0.5),
        w_scale=np.array([0.25], np.float32),
        pads=(1, 1, 1, 1),
        strides=(1, 1),
    )


def test_requantization_is_computed_in_onnxruntimes_float_order():
    conv = _conv()
    with pytest.raises(GantoolError, match="no QuantizeLinear after it"):
        _ = conv.requant
    conv.requantize_to(np.float32(0.3), 7)
    want = (np.float32(0.5) * np.full(4, 0.25, np.float32)) / np.float32(0.3)
    assert np.array_equal(conv.requant.multiplier, want.astype(np.float32)) and conv.requant.y_zp == 7
    assert conv.macs == 4 * 5 * 5 * 2 * 3 * 3


def test_keeping_the_first_channels_shrinks_weights_bias_and_multipliers():
    conv = _conv(16)
    conv.out = Requant(np.arange(16, dtype=np.float32), 5)
    conv.keep_channels(1)
    assert conv.weight.shape == (1, 2, 3, 3) and conv.bias.tolist() == [0] and conv.requant.multiplier.tolist() == [0.0]
    assert conv.shape_out == (1, 5, 5) and conv.requant.y_zp == 5


def test_keeping_a_phases_channels_takes_them_from_its_first_one():
    conv = _conv(16)
    conv.w_scale = np.arange(16, dtype=np.float32)
    conv.out = Requant(np.arange(16, dtype=np.float32), 5)
    conv.keep_channels(4, first=8)
    assert conv.bias.tolist() == [8, 9, 10, 11] and conv.requant.multiplier.tolist() == [8.0, 9.0, 10.0, 11.0]
    assert conv.w_scale.tolist() == [8.0, 9.0, 10.0, 11.0] and np.array_equal(conv.weight, _conv(16).weight[8:12])


def _row_conv(a: int, b: int) -> ConvLayer:
    w = np.arange(1, 4 * 2 * 2 * 3 + 1, dtype=np.int8).reshape(4, 2, 2, 3)
    w[..., 2 if b == 0 else 0] = 0  # the column this phase does not read
    conv = _conv()
    return dataclasses.replace(conv, weight=w, pads=(1 - a, 1, a, 1), shape_out=(4, 5, 5))


@pytest.mark.parametrize("a,b", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_a_row_phase_convolution_gives_its_column_phases_2x2_kernel(a, b):
    conv = _row_conv(a, b)
    full = conv.weight.copy()
    conv.column_phase(b)
    assert conv.pads == (1 - a, 1 - b, a, b) and conv.weight.shape == (4, 2, 2, 2)
    assert np.array_equal(conv.weight, full[..., [0, 1] if b == 0 else [1, 2]])


def test_a_row_phase_convolution_with_weights_in_its_unused_column_is_refused():
    conv = _row_conv(0, 0)
    conv.weight[0, 0, 0, 2] = 1
    with pytest.raises(GantoolError, match="unused kernel column"):
        conv.column_phase(0)


def _block_conv(kernel: np.ndarray) -> ConvLayer:
    """The block form of a 1-output 3x3 convolution of a (2, 8, 8) input (gantool.export.makers.int8_narrow)."""
    w = np.zeros((16, 2, 6, 6), np.int8)
    for i in range(16):
        w[i, :, i // 4 : i // 4 + 3, i % 4 : i % 4 + 3] = kernel
    conv = dataclasses.replace(
        _conv(), weight=w, bias=np.full(16, 7, np.int32), shape_in=(2, 8, 8), shape_out=(16, 2, 2), strides=(4, 4)
    )
    conv.requantize_to(np.float32(0.3), 7)
    return conv


def test_a_block_convolution_is_lowered_to_the_3x3_kernel_it_holds():
    kernel = np.arange(18, dtype=np.int8).reshape(2, 3, 3) - 9
    plain = _block_conv(kernel).unblocked(4)
    assert plain is not None and np.array_equal(plain.weight, kernel[None]) and plain.bias.tolist() == [7]
    assert plain.shape_out == (1, 8, 8) and plain.pads == (1, 1, 1, 1) and plain.strides == (1, 1)
    assert plain.macs * 4 == _block_conv(kernel).macs  # the 6x6 kernels' zero taps are gone


def test_a_strided_convolution_that_is_not_a_block_form_stays_one():
    kernel = np.arange(18, dtype=np.int8).reshape(2, 3, 3) - 9
    conv = _block_conv(kernel)
    conv.weight[5, 0, 0, 0] = 1  # output 5's kernel is not the others' shifted
    assert conv.unblocked(4) is None
    other = _block_conv(kernel)
    other.bias[3] = 0
    assert other.unblocked(4) is None and _block_conv(kernel).unblocked(2) is None
