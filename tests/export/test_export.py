from __future__ import annotations

import json
import shutil
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import numpy_helper

from gantool import __version__
from gantool.core.errors import GantoolError, VerificationError
from gantool.core.fileio import sha256_file
from gantool.export import ExportConfig, export, read_metadata, verify
from gantool.runtime.latents import seeded_inputs

MODELS = [("mlp", 0), ("mlp", 10), ("dcgan", 0), ("dcgan", 10)]
# Ops that onnxruntime-web's WASM backend implements (a superset of what gantool emits).
WASM_OPS = {
    "Add",
    "Cast",
    "Clip",
    "Concat",
    "Conv",
    "ConvTranspose",
    "DequantizeLinear",
    "Div",
    "Gather",
    "Gemm",
    "LeakyRelu",
    "MatMul",
    "Mul",
    "QuantizeLinear",
    "Relu",
    "Reshape",
    "Sigmoid",
    "Sub",
    "Tanh",
    "Unsqueeze",
    "Flatten",
    "BatchNormalization",
    "Identity",
    "Shape",
    "Squeeze",
    "Transpose",
    "Expand",
}


@pytest.mark.parametrize("arch, k", MODELS)
def test_every_format_and_variant_verified(exported, trained_run, arch, k):
    out = exported(arch, k)
    report = json.loads((out / "verification.json").read_text())
    assert report["passed"] is True and report["atol"] == 1e-4
    seen = {(r["backend"], r["batch"]) for r in report["results"]}
    assert seen == {
        ("torchscript", 1),
        ("torchscript", 3),
        ("torchscript", 64),
        ("onnxruntime", 1),
        ("onnxruntime", 3),
        ("onnxruntime", 64),
        ("onnx.reference", 1),
    }
    for r in report["results"]:
        assert r["max_abs_error"] <= 1e-4 and r["mean_abs_error"] <= r["max_abs_error"]
    variants = {v["variant"]: v for v in report["variants"]}
    assert set(variants) == {"fp16", "int8"}
    for v in variants.values():
        assert v["samples"] == 1000 and v["passed"]
        # The FID change is measured (the fixture's idx data has a test split) on the same latents.
        assert v["fid_change"] == pytest.approx(v["fid"] - v["fid_fp32"]) and v["fid_fp32"] > 0
        assert 0 < v["mean_pixel_error"] <= 0.02 and v["mean_pixel_error"] <= v["max_pixel_error"] <= 0.5
    # The variants really are reduced precision.
    fp16 = onnx.load(str(out / "model.fp16.onnx"))
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in fp16.graph.initializer)
    assert [i.type.tensor_type.elem_type for i in fp16.graph.input][0] == onnx.TensorProto.FLOAT  # io stays fp32
    int8 = onnx.load(str(out / "model.int8.onnx"))
    assert any(t.data_type == onnx.TensorProto.INT8 for t in int8.graph.initializer)
    int8_ops = {n.op_type for n in int8.graph.node}  # static QDQ (convolutions) or dynamic (matmul-only mlp)
    assert {"QuantizeLinear", "DequantizeLinear"} <= int8_ops or {"DynamicQuantizeLinear", "MatMulInteger"} <= int8_ops
    assert ("MatMulInteger" in int8_ops) == (arch == "mlp")
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == {"model.onnx", "model.ts.pt", "model.fp16.onnx", "model.int8.onnx"}
    for name, entry in manifest["files"].items():
        assert entry["sha256"] == sha256_file(out / name) and entry["size"] == (out / name).stat().st_size
    assert manifest["checkpoint"]["sha256"] == sha256_file(trained_run(arch, k) / "checkpoints" / "last.pt")
    assert not list(out.glob(".gantool-tmp-*"))  # staging cleaned up


@pytest.mark.parametrize("arch, k", MODELS)
def test_metadata_in_every_artifact(exported, arch, k):
    out = exported(arch, k)
    for name, fmt, variant in [
        ("model.onnx", "onnx", "fp32"),
        ("model.ts.pt", "torchscript", "fp32"),
        ("model.fp16.onnx", "onnx", "fp16"),
        ("model.int8.onnx", "onnx", "int8"),
    ]:
        meta = read_metadata(out / name)
        assert meta.get("format_version") == 1 and meta.get("gantool_version") == __version__
        assert (meta.artifact_format, meta.variant, meta.model) == (fmt, variant, arch)
        assert meta.latent_dim == 8 and meta.num_classes == k
        assert meta.image_shape == (1, 28, 28) and meta.get("value_range") == [0.0, 1.0]
        assert meta.inputs == (("z", "label") if k else ("z",)) and meta.outputs == ("image",)
        assert meta.get("opset") == (None if fmt == "torchscript" else 18)
        assert meta.train_config["model"]["arch"] == arch and len(meta.get("checkpoint_sha256")) == 64


@pytest.mark.parametrize("arch, k", MODELS)
def test_dynamic_batch_and_io_contract(exported, arch, k):
    out = exported(arch, k)
    model = onnx.load(str(out / "model.onnx"))
    assert {n.op_type for n in model.graph.node} <= WASM_OPS
    inputs = {i.name: i.type.tensor_type for i in model.graph.input}
    assert inputs["z"].elem_type == onnx.TensorProto.FLOAT
    assert [d.dim_value for d in inputs["z"].shape.dim][1:] == [8] and inputs["z"].shape.dim[0].dim_param
    if k:
        assert inputs["label"].elem_type == onnx.TensorProto.INT64
    out_t = model.graph.output[0]
    assert out_t.name == "image" and [d.dim_value for d in out_t.type.tensor_type.shape.dim][1:] == [1, 28, 28]
    session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit is deprecated in 2.14 but still loads
        ts = torch.jit.load(str(out / "model.ts.pt"))
    for n in (1, 5, 64):
        feeds = seeded_inputs(n, 8, k, seed=n)
        image = session.run(["image"], feeds)[0]
        assert image.shape == (n, 1, 28, 28) and image.dtype == np.float32
        assert image.min() >= 0.0 and image.max() <= 1.0
        with torch.no_grad():
            ts_image = ts(*(torch.from_numpy(v) for v in feeds.values())).numpy()
        np.testing.assert_allclose(ts_image, image, atol=1e-4)


def test_corrupted_weight_fails_verification(exported, tmp_path):
    out = tmp_path / "corrupt"
    shutil.copytree(exported("dcgan", 10), out)
    model = onnx.load(str(out / "model.onnx"))
    init = max(model.graph.initializer, key=lambda t: np.prod(t.dims))
    w = numpy_helper.to_array(init).copy()
    w.flat[0] += 1.0  # one weight changed
    init.CopyFrom(numpy_helper.from_array(w, init.name))
    onnx.save(model, str(out / "model.onnx"))
    with pytest.raises(VerificationError, match="verification failed: model.onnx") as exc:
        verify(out)
    assert exc.value.exit_code == 1
    assert (out / "model.onnx.failed").is_file() and not (out / "model.onnx").exists()
    report = json.loads((out / "verification.json").read_text())
    assert report["passed"] is False
    # A file that failed its integrity check is never loaded: no numbers are run at all.
    assert report["numbers_checked"] is False and report["results"] == [] and report["variants"] == []
    assert report["changed_since_export"] == ["model.onnx"]
    assert report["sha256_matches_manifest"]["model.onnx"] is False
    assert report["sha256_matches_manifest"]["model.ts.pt"] is True


def test_verify_passes_on_intact_export(exported, tmp_path):
    out = tmp_path / "intact"
    shutil.copytree(exported("mlp", 0), out)
    report = verify(out)
    assert report.passed and report.sha256_matches_manifest and all(report.sha256_matches_manifest.values())
    assert report.numbers_checked and {r.file for r in report.results} >= {"model.onnx"}


@pytest.mark.parametrize("opset", [17, 23])
def test_opset_range(trained_run, tmp_path, opset):
    result = export(trained_run("mlp", 10), ExportConfig(out_dir=str(tmp_path / "o"), formats=("onnx",), opset=opset))
    model = onnx.load(str(result.files["onnx"]))
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [opset]
    assert result.report.passed


@pytest.mark.parametrize("opset", [11, 16, 24])
def test_opset_outside_range_refused(trained_run, tmp_path, opset):
    with pytest.raises(GantoolError, match=f"opset {opset} is outside the working range 17-23"):
        export(trained_run("mlp", 0), ExportConfig(out_dir=str(tmp_path / "o"), opset=opset))
    assert not (tmp_path / "o").exists()


def test_out_dir_with_different_model_needs_force(exported, trained_run, tmp_path):
    out = tmp_path / "shared"
    shutil.copytree(exported("mlp", 0), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(GantoolError, match="different model; pass --force"):
        export(trained_run("dcgan", 0), ExportConfig(out_dir=str(out)))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # untouched
    export(trained_run("dcgan", 0), ExportConfig(out_dir=str(out), force=True))
    assert read_metadata(out / "model.onnx").model == "dcgan"
    assert not (out / "model.int8.onnx").exists()  # the old export's variants are gone


def test_same_model_can_be_re_exported(trained_run, tmp_path):
    out = tmp_path / "again"
    export(trained_run("mlp", 0), ExportConfig(out_dir=str(out), formats=("onnx",)))
    export(trained_run("mlp", 0), ExportConfig(out_dir=str(out), formats=("onnx",)))
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "model.onnx", "verification.json"]


def test_fid_gate(trained_run, tmp_path):
    out = tmp_path / "fidgate"
    with pytest.raises(GantoolError, match="FID change"):
        export(
            trained_run("mlp", 10),
            ExportConfig(out_dir=str(out), variants=("int8",), formats=("onnx",), max_fid_change=-1e6),
        )
    assert not out.exists()  # nothing written
    result = export(
        trained_run("mlp", 10), ExportConfig(out_dir=str(out), variants=("fp16",), formats=("onnx",), fid=False)
    )
    assert result.report.variants[0].fid is None and "--no-fid" in (result.report.fid_note or "")
    saved = json.loads((out / "verification.json").read_text())
    assert "fid_change" not in saved["variants"][0] and "--no-fid" in saved["fid_note"]


def test_int8_gate_failure_writes_nothing(trained_run, tmp_path):
    out = tmp_path / "gated"
    with pytest.raises(VerificationError, match="int8 variant misses the gate") as exc:
        export(trained_run("dcgan", 0), ExportConfig(out_dir=str(out), variants=("int8",), max_pixel_error=1e-9))
    assert exc.value.exit_code == 1  # a missed gate is a failed verification, at export as at verify
    assert not out.exists()  # nothing written


def test_bad_sources(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage")
    with pytest.raises(GantoolError, match="not a readable gantool checkpoint"):
        export(bad, ExportConfig(out_dir=str(tmp_path / "o")))
    torch.save({"weights": torch.zeros(1)}, tmp_path / "foreign.pt")
    with pytest.raises(GantoolError, match="not a gantool checkpoint"):
        export(tmp_path / "foreign.pt", ExportConfig(out_dir=str(tmp_path / "o")))


def test_unknown_architecture_in_checkpoint(trained_run, tmp_path):
    from gantool.toolkit.checkpoint import load_checkpoint, save_checkpoint

    ckpt = load_checkpoint(trained_run("mlp", 0))
    cfg = ckpt.train.to_dict()
    cfg["model"]["arch"] = "stylegan9"
    save_checkpoint({**ckpt.state, "model_config": cfg["model"], "train_config": cfg}, tmp_path / "odd.pt")
    with pytest.raises(GantoolError, match="unknown model 'stylegan9'"):
        export(tmp_path / "odd.pt", ExportConfig(out_dir=str(tmp_path / "o")))


def test_unwritable_out_dir(trained_run):
    with pytest.raises(GantoolError, match="not writable"):
        export(trained_run("mlp", 0), ExportConfig(out_dir="/proc/gantool-export"))


def test_export_into_a_locked_out_dir_is_refused(trained_run, tmp_path):
    from gantool.core.fileio import path_lock

    out = tmp_path / "locked"
    with path_lock(out, "held"):  # as a second `gantool export --out locked` would find it
        with pytest.raises(GantoolError, match="in use by another gantool process"):
            export(trained_run("mlp", 0), ExportConfig(out_dir=str(out), formats=("onnx",)))
    assert not out.exists()


def test_failed_export_leaves_the_previous_folder_whole(exported, trained_run, tmp_path, monkeypatch):
    """A crash (or disk full) half-way through `export --force` over another model's export leaves
    that export exactly as it was: the new folder is built beside it and swapped in only at the end."""
    import errno

    import gantool.export.makers.variants as variants

    out = tmp_path / "whole"
    shutil.copytree(exported("mlp", 0), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def disk_full(job, target):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(variants, "make_int8", disk_full)
    with pytest.raises(GantoolError, match="could not write the export.*unchanged"):
        export(trained_run("dcgan", 0), ExportConfig(out_dir=str(out), variants=("int8",), force=True))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["whole"]  # no staging folder left beside it


def test_stale_staging_from_a_dead_export_is_removed(trained_run, tmp_path):
    out = tmp_path / "exp"
    dead = tmp_path / ".gantool-tmp-exp-deadbeef"
    dead.mkdir()
    (dead / "model.onnx").write_bytes(b"half")
    export(trained_run("mlp", 0), ExportConfig(out_dir=str(out), formats=("onnx",)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp"]


@pytest.mark.parametrize("tamper", ["weight", "metadata", "ts-member", "rezip", "fp16", "int8"])
def test_verify_fails_a_file_that_changed_since_export(exported, tmp_path, tamper):
    from tests.cli import hostile as H

    out = tmp_path / "t"
    shutil.copytree(exported("dcgan", 10), out)
    target = {
        "weight": "model.onnx",
        "metadata": "model.onnx",
        "ts-member": "model.ts.pt",
        "rezip": "model.ts.pt",
        "fp16": "model.fp16.onnx",
        "int8": "model.int8.onnx",
    }[tamper]
    if tamper == "metadata":
        H.onnx_meta(out / target, out / target, lambda m: {**m, "trained_steps": m["trained_steps"] + 1})
    elif tamper == "ts-member":
        H.edit_zip_member(out / target, "gantool.json", lambda b: b.replace(b"gantool_version", b"gantool_versioN"))
    elif tamper == "rezip":
        H.rezip(out / target)
    else:
        H.flip_byte(out / target)  # one low bit of a weight
    with pytest.raises(VerificationError, match=f"{target} changed since export") as exc:
        verify(out)
    assert exc.value.exit_code == 1
    report = json.loads((out / "verification.json").read_text())
    assert report["passed"] is False and report["changed_since_export"] == [target]
    assert (out / (target + ".failed")).is_file()
