import pytest

pytest.importorskip("torch")
pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def tflite_export(trained_run, tmp_path_factory):
    """model.tflite and model.int8.tflite of the conditional dcgan (needs gantool[litert])."""
    from gantool.export import ExportConfig, export

    out = tmp_path_factory.mktemp("tflite")
    export(
        trained_run("dcgan", 10),
        ExportConfig(out_dir=str(out), formats=("tflite",), variants=("int8",), fid=False),
        progress=False,
    )
    return out


@pytest.fixture(scope="module")
def c_export(trained_run, tmp_path_factory):
    """c_export(k): the C export of a dcgan with k classes (made once per module)."""
    from gantool.export import ExportConfig, export

    def make(num_classes: int = 10):
        out = tmp_path_factory.mktemp(f"c-{num_classes}")
        export(
            trained_run("dcgan", num_classes), ExportConfig(out_dir=str(out), formats=("c",), fid=False), progress=False
        )
        return out

    cache = {}
    return lambda k=10: cache.setdefault(k, make(k))
