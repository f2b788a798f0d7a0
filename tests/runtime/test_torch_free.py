"""The runtime and `gantool sample` / `gantool info` work where torch cannot be imported
(typer's test_rich_import pattern: run in a subprocess, check sys.modules)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

# Makes `import torch` (and onnx, which the runtime must not need either) fail in the child.
BLOCK = textwrap.dedent("""
    import sys
    class _Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "torchvision", "onnx"):
                raise ModuleNotFoundError(f"No module named {name!r} (blocked in this test)", name=name)
            return None
    sys.meta_path.insert(0, _Block())
""")


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BLOCK + textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_runtime_import_and_sample_without_torch(exported):
    path = exported("dcgan", 10) / "model.onnx"
    proc = _run(f"""
        from gantool.runtime import Sampler
        s = Sampler({str(path)!r})
        images = s.sample(10, seed=0, labels=3)
        s.grid(images)
        print(images.shape, "torch" in sys.modules, "onnx" in sys.modules)
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "(10, 28, 28) False False"


def test_cli_sample_and_info_without_torch(exported, tmp_path):
    path = exported("mlp", 0) / "model.onnx"
    out = tmp_path / "grid.png"
    proc = _run(f"""
        from gantool.cli import app
        for args in (["sample", {str(path)!r}, "--n", "9", "--seed", "1", "--out", {str(out)!r}],
                     ["info", {str(path)!r}], ["sample", "--help"]):
            print("@@", flush=True)
            try:
                app(args)
            except SystemExit as e:
                assert e.code in (0, None), (args, e.code)
        print("@@", flush=True)
        print("TORCH" if "torch" in sys.modules else "NO-TORCH")
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("NO-TORCH")
    assert out.is_file()
    meta = json.loads(proc.stdout.split("@@")[2])  # the output of `gantool info`
    assert meta["model"] == "mlp"


def test_sample_help_is_fast_and_light():
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gantool", "sample", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "torch" not in imported and "onnxruntime" not in imported and "numpy" not in imported


def test_ort_file_samples_without_torch(tmp_path, trained_run):
    pytest.importorskip("onnx")
    from gantool.export import ExportConfig, export

    out = tmp_path / "ort"
    export(trained_run("mlp", 10), ExportConfig(out_dir=str(out), formats=("ort",)), progress=False)
    proc = _run(f"""
        from gantool.runtime import Sampler
        s = Sampler({str(out / "model.ort")!r})
        print(s.sample(6, seed=1, labels=2).shape, s.metadata.artifact_format, "torch" in sys.modules)
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "(6, 28, 28) ort False"


def test_bundled_model_samples_without_torch(tmp_path):
    """`gantool sample --digit 7` with no model argument uses the model inside the package."""
    out = tmp_path / "sevens.png"
    proc = _run(f"""
        from gantool.cli import app
        from gantool.runtime import Sampler
        s = Sampler.default()
        print(s.seeded, s.conditional, s.metadata.variant, s.sample(4, seed=7, labels=7).shape)
        try:
            app(["sample", "--digit", "7", "--n", "16", "--out", {str(out)!r}])
        except SystemExit as e:
            assert e.code in (0, None), e.code
        print("TORCH" if "torch" in sys.modules else "NO-TORCH")
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0] == "True True fp16 (4, 28, 28)"
    assert proc.stdout.strip().endswith("NO-TORCH") and out.is_file()


def test_verify_checks_hashes_without_torch(exported, tmp_path):
    import shutil

    out = tmp_path / "e"
    shutil.copytree(exported("mlp", 0), out)
    proc = _run(f"""
        from gantool.cli import app
        try:
            app(["verify", {str(out)!r}])
        except SystemExit as e:
            print("EXIT", e.code)
        print("TORCH" if "torch" in sys.modules else "NO-TORCH")
    """)
    assert "EXIT 0" in proc.stdout and proc.stdout.strip().endswith("NO-TORCH"), proc.stdout + proc.stderr
    assert "numbers not re-checked: pip install 'gantool[export]'" in proc.stdout
    data = bytearray((out / "model.onnx").read_bytes())
    data[len(data) // 2] ^= 1
    (out / "model.onnx").write_bytes(bytes(data))
    proc = _run(f"""
        from gantool.cli import app
        app(["verify", {str(out)!r}])
    """)
    assert proc.returncode == 1 and "model.onnx changed since export" in proc.stderr


def test_train_without_torch_names_the_train_extra():
    proc = _run("""
        from gantool.cli import app
        app(["train", "--epochs", "1"])
    """)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: this command needs torch; pip install 'gantool[train]'"


def test_sample_info_verify_write_nothing_under_home(exported, tmp_path):
    """onnxruntime's telemetry ID (~/.cache/Microsoft/DeveloperTools) is not written. CI=true hides
    it (onnxruntime skips telemetry on CI), so the child runs without CI and ORT_DISABLE_TELEMETRY."""
    import os
    import shutil

    home, cache = tmp_path / "home", tmp_path / "gantool-cache"
    home.mkdir()
    export_dir = tmp_path / "e"
    shutil.copytree(exported("mlp", 0), export_dir)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "ORT_DISABLE_TELEMETRY", "XDG_CACHE_HOME")}
    env.update(HOME=str(home), GANTOOL_CACHE=str(cache))
    for args in (
        ["sample", "--n", "4", "--seed", "1", "--out", str(tmp_path / "s.png")],
        ["info"],
        ["info", str(export_dir / "model.onnx")],
        ["verify", str(export_dir), "--hashes-only"],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "gantool", *args], capture_output=True, text=True, timeout=120, env=env
        )
        assert proc.returncode == 0, (args, proc.stderr)
        assert list(home.rglob("*")) == [], (args, sorted(str(p) for p in home.rglob("*")))


def test_cli_start_imports_only_what_the_command_needs(tmp_path):
    """A fast start (benchmarks/cli_start.py): `gantool --help` loads no numpy or onnxruntime, and no
    command loads rich, pygments or pydantic (the CLI is typer-slim + click, not full typer) or pillow
    (gantool writes its PNGs itself: the base install has no pillow)."""
    heavy = ("rich", "pygments", "pydantic", "PIL")
    proc = _run(f"""
        from gantool.cli import app
        for argv in (["--help"], ["sample", "--n", "1", "--seed", "0", "--out", {str(tmp_path / "x.png")!r}]):
            try:
                app(argv)
            except SystemExit as e:
                assert e.code in (0, None), e.code
            print("LOADED", argv[0], *sorted(m for m in ("numpy", "onnxruntime") + {heavy!r} if m in sys.modules))
    """)
    assert proc.returncode == 0, proc.stderr
    loaded = [line.split()[1:] for line in proc.stdout.splitlines() if line.startswith("LOADED")]
    assert loaded == [["--help"], ["sample", "numpy", "onnxruntime"]], proc.stdout
    assert (tmp_path / "x.png").is_file()
