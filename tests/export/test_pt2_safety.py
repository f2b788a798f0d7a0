"""A crafted .pt2 never runs code: gantool inspects the archive before torch.export.load sees it.

Each case rewrites one member kind that torch's loader would unpickle, exec or load as native code
(or that a gantool archive never holds), and checks the refusal is one line and nothing ran.
"""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gantool.artifacts import open_generator
from gantool.cli import app
from gantool.core.errors import GantoolError
from tests.cli.hostile import PWNED, Evil

torch = pytest.importorskip("torch")
runner = CliRunner()
SHELL = f"__import__('os').system('touch {PWNED}')"


@pytest.fixture(scope="module")
def pt2(trained_run, tmp_path_factory) -> Path:
    from gantool.export import ExportConfig, export

    out = tmp_path_factory.mktemp("pt2")
    export(trained_run("dcgan", 10), ExportConfig(out_dir=str(out), formats=("pt2",), fid=False), progress=False)
    return out / "model.pt2"


def rewrite(src: Path, dst: Path, change, compress: int = zipfile.ZIP_STORED) -> Path:
    """Copy the archive, letting change(members) edit {name-without-root: bytes} (None drops one)."""
    with zipfile.ZipFile(src) as zf:
        root = zf.namelist()[0].split("/")[0]
        members = {n[len(root) + 1 :]: zf.read(n) for n in zf.namelist()}
    change(members)
    with zipfile.ZipFile(dst, "w", compression=compress) as zf:
        for name, data in members.items():
            if data is not None:
                zf.writestr(name if name.startswith(("/", "..")) else f"{root}/{name}", data)
    return dst


def _json_edit(name, edit):
    def change(m):
        obj = json.loads(m[name])
        edit(obj)
        m[name] = json.dumps(obj).encode()

    return change


def _pickled_weight(m):
    cfg = json.loads(m["data/weights/model_weights_config.json"])
    fqn = next(iter(cfg["config"]))
    cfg["config"][fqn]["use_pickle"] = True
    m["data/weights/model_weights_config.json"] = json.dumps(cfg).encode()
    m["data/weights/" + cfg["config"][fqn]["path_name"]] = pickle.dumps(Evil())


def _evil_sample_inputs(m):
    buf = io.BytesIO()
    torch.save(Evil(), buf)  # torch.load(weights_only=True) refuses it, then torch retries with weights_only=False
    m["data/sample_inputs/model.pt"] = buf.getvalue()


def _constant(kind):
    def change(m):
        m["data/constants/model_constants_config.json"] = json.dumps(
            {"config": {"c": {"path_name": f"{kind}0", "is_param": False, "use_pickle": True}}}
        ).encode()
        m[f"data/constants/{kind}0"] = pickle.dumps(Evil())

    return change


CASES = {
    "pickled-weight": (_pickled_weight, "not a raw tensor payload"),
    "aoti-library": (
        lambda m: m.update({"data/aotinductor/model/model.so": b"\x7fELF" + b"\0" * 60}),
        "data/aotinductor/model/model.so",
    ),
    "legacy-weights": (lambda m: m.update({"data/weights/model.pt": pickle.dumps(Evil())}), "data/weights/model.pt"),
    "custom-object": (_constant("custom_obj_"), "never contains|carries constants"),
    "opaque-object": (_constant("opaque_obj_"), "never contains|carries constants"),
    "tensor-constant": (_constant("tensor_constant"), "never contains|carries constants"),
    "sample-inputs": (_evil_sample_inputs, "sample inputs' pickle would call 'posix.system'"),
    "guard-code": (_json_edit("models/model.json", lambda p: p["guards_code"].append(SHELL)), "not a plain size"),
    "foreign-op": (
        _json_edit(
            "models/model.json", lambda p: p["graph_module"]["graph"]["nodes"][0].update(target="builtins.eval")
        ),
        "calls 'builtins.eval', not an aten operator",
    ),
    "extra-member": (lambda m: m.update({"extra/notes.txt": b"hi"}), "extra/notes.txt"),
    "dotdot-member": (lambda m: m.update({"../escape": b"x"}), "never contains"),
    "no-graph": (lambda m: m.update({"models/model.json": None}), "never contains|incomplete"),
    "bad-json": (lambda m: m.update({"models/model.json": b"{nope"}), "not valid JSON"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_crafted_pt2_is_refused_before_torch_loads_it(pt2, tmp_path, case):
    change, message = CASES[case]
    PWNED.unlink(missing_ok=True)
    bad = rewrite(pt2, tmp_path / "model.pt2", change)
    with pytest.raises(GantoolError, match=message) as exc:
        open_generator(bad)
    assert "\n" not in str(exc.value)
    assert not PWNED.exists()


def test_a_compressed_archive_is_refused(pt2, tmp_path):
    bad = rewrite(pt2, tmp_path / "model.pt2", lambda m: None, compress=zipfile.ZIP_DEFLATED)
    with pytest.raises(GantoolError, match="compressed or encrypted"):
        open_generator(bad)


def test_eval_and_bench_refuse_it_in_one_line(pt2, tmp_path):
    PWNED.unlink(missing_ok=True)
    bad = rewrite(pt2, tmp_path / "model.pt2", CASES["guard-code"][0])
    for args in (["eval", str(bad), "--n", "10", "--json", str(tmp_path / "e.json")], ["info", str(bad)]):
        res = runner.invoke(app, args)
        if args[0] == "info":  # reading metadata touches no loader: it may succeed
            assert res.exit_code in (0, 2)
            continue
        assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1, res.output
        assert "not a plain size comparison" in res.stderr
    assert not PWNED.exists()


def test_the_intact_file_still_loads(pt2):
    g = open_generator(pt2)
    assert g(torch.zeros(3, 8).numpy(), torch.arange(3).numpy()).shape == (3, 1, 28, 28)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["sample-inputs", "guard-code"])
def test_torch_itself_would_have_run_the_code(pt2, tmp_path, case):
    """What the check prevents is real: torch.export.load (+ .module()) on the same file runs it."""
    PWNED.unlink(missing_ok=True)
    bad = rewrite(pt2, tmp_path / "model.pt2", CASES[case][0])
    code = textwrap.dedent(f"""
        import torch
        try:
            torch.export.load({str(bad)!r}).module()(torch.zeros(2, 8), torch.arange(2))
        except Exception as e:
            print(type(e).__name__, e)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    ran = PWNED.exists()
    PWNED.unlink(missing_ok=True)
    assert ran, f"torch did not run the {case} payload (so this check's premise changed): {proc.stdout[-300:]}"


def test_pt2_loads_without_gantool(pt2):
    """An intact file is a plain torch.export archive: torch loads it with gantool not importable."""
    code = textwrap.dedent(f"""
        import sys, torch
        sys.modules["gantool"] = None  # gantool cannot be imported
        m = torch.export.load({str(pt2)!r}).module()
        y = m(torch.zeros(5, 8), torch.arange(5))
        print(tuple(y.shape), float(y.min()) >= 0, float(y.max()) <= 1)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert proc.stdout.strip().endswith("(5, 1, 28, 28) True True")


def test_ort_file_lists_its_required_operators(trained_run, tmp_path):
    from gantool.export import ExportConfig, export

    result = export(trained_run("mlp", 0), ExportConfig(out_dir=str(tmp_path / "o"), formats=("ort",)), progress=False)
    ops = result.report.notes["model.ort"].facts["required_operators"]
    assert any("Gemm" in line or "MatMul" in line for line in ops)
    assert (tmp_path / "o" / "model.required_operators.config").is_file()
