"""int8 files run their heavy layers in integer kernels (checked in onnxruntime's optimized graph)."""

from __future__ import annotations

import pytest

pytest.importorskip("onnx")

from gantool.assess.int8 import FLOAT_OPS, integer_mac_share, optimized_graph  # noqa: E402


@pytest.mark.parametrize("arch, k", [("dcgan", 10), ("dcgan", 0), ("mlp", 10)])
def test_int8_graph_has_no_float_heavy_ops(exported, tmp_path, arch, k):
    model, _ = optimized_graph(exported(arch, k) / "model.int8.onnx", tmp_path)
    ops = {n.op_type for n in model.graph.node}
    assert not ops & {"Conv", "ConvTranspose", "Gemm", "MatMul", "FusedConv", "FusedGemm", "FusedMatMul"}, ops
    share = integer_mac_share(exported(arch, k) / "model.int8.onnx")
    assert share["share"] == 1.0 and share["float_macs"] == 0 and share["integer_macs"] > 0


def test_fp32_file_is_all_float(exported):
    share = integer_mac_share(exported("dcgan", 10) / "model.onnx")
    assert share["share"] == 0.0 and set(share["float_ops"]) <= FLOAT_OPS and share["float_macs"] > 0


def test_sub_pixel_form_equals_conv_transpose():
    import torch

    from gantool.toolkit.models.subpixel import SubPixelConv

    torch.manual_seed(0)
    ct, bn = torch.nn.ConvTranspose2d(6, 5, 4, 2, 1, bias=True), torch.nn.BatchNorm2d(5)
    bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2), bn.weight.data.uniform_(0.5, 2)
    bn.eval()
    x = torch.randn(3, 6, 7, 9)
    with torch.no_grad():
        assert torch.allclose(SubPixelConv(ct, bn)(x), bn(ct(x)), atol=1e-5)
        assert torch.allclose(SubPixelConv(ct)(x), ct(x), atol=1e-5)
    with pytest.raises(ValueError, match="sub-pixel"):
        SubPixelConv(torch.nn.ConvTranspose2d(4, 4, 3, 2, 1))


def test_unrewritable_model_says_why(trained_run, tmp_path, monkeypatch):
    from gantool.export import ExportConfig, export
    from gantool.toolkit.models.dcgan import DCGANGenerator

    def refuse(self):
        raise ValueError("ConvTranspose2d(kernel (3, 3), stride (2, 2)) has no sub-pixel form here")

    monkeypatch.setattr(DCGANGenerator, "for_quantization", refuse)
    result = export(
        trained_run("dcgan", 0),
        ExportConfig(out_dir=str(tmp_path / "o"), formats=("onnx",), variants=("int8",), fid=False),
        progress=False,
    )
    note = result.report.notes["model.int8.onnx"].say or ""
    assert "no sub-pixel form" in note and "will not be faster" in note and "\n" not in note
    assert integer_mac_share(result.files["int8"])["share"] < 0.5  # ConvTranspose stayed float


def _int8_weights(path):
    import numpy as np
    import onnx
    from onnx import TensorProto, numpy_helper

    model = onnx.load(str(path))
    return [
        np.abs(numpy_helper.to_array(i).astype(np.int16)).max()
        for i in model.graph.initializer
        if i.data_type == TensorProto.INT8
    ]


@pytest.mark.parametrize("arch, k", [("dcgan", 10), ("mlp", 10)])
def test_int8_weights_are_7_bit_so_no_cpu_saturates_them(exported, arch, k):
    """onnxruntime's AVX2 (no VNNI) u8 x s8 kernels add product pairs in int16: |w| <= 64 keeps them exact."""
    from gantool.export.makers.variants import WEIGHT_LIMIT

    weights = _int8_weights(exported(arch, k) / "model.int8.onnx")
    assert weights and max(weights) <= WEIGHT_LIMIT == 64


def test_bundled_nano_weights_are_7_bit():
    from gantool.runtime.bundled import bundled_for_size

    weights = _int8_weights(bundled_for_size("nano"))
    assert weights and max(weights) <= 64


def test_an_int8_file_with_8_bit_weights_is_refused():
    import numpy as np
    from onnx import helper, numpy_helper

    from gantool.core.errors import GantoolError
    from gantool.export.makers.variants import check_weight_range

    w = numpy_helper.from_array(np.array([3, -100, 7], dtype=np.int8), "conv.weight_quantized")
    graph = helper.make_graph([], "g", [], [], initializer=[w])
    with pytest.raises(GantoolError, match="'conv.weight_quantized' reaches 100, past 64"):
        check_weight_range(helper.make_model(graph))
    check_weight_range(
        helper.make_model(
            helper.make_graph(
                [], "g", [], [], initializer=[numpy_helper.from_array(np.array([64, -64], dtype=np.int8), "ok")]
            )
        )
    )


def test_int8_file_fused_kernels_agree_with_its_unfused_graph(exported):
    """The integer kernels onnxruntime fuses on this CPU compute what the QDQ graph says (float DQ -> op -> Q):
    on an AVX2-only CPU 8-bit weights saturated and drew pixels up to 139 levels off."""
    import numpy as np
    import onnxruntime as ort

    from gantool.runtime.latents import seeded_inputs

    path = exported("dcgan", 10) / "model.int8.onnx"
    feeds = seeded_inputs(64, 8, 10, seed=3)
    out = []
    for level in (ort.GraphOptimizationLevel.ORT_DISABLE_ALL, ort.GraphOptimizationLevel.ORT_ENABLE_ALL):
        so = ort.SessionOptions()
        so.graph_optimization_level = level
        out.append(ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"]).run(None, feeds)[0])
    diff = np.abs(np.round(out[0] * 255) - np.round(out[1] * 255))
    assert diff.max() <= 16 and (diff == 0).mean() > 0.99, (diff.max(), (diff == 0).mean())
