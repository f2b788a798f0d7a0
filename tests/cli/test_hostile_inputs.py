"""A table of hostile and mistaken inputs, per command. Every case must end in exit 2 (1 for a
failed verification), exactly one line on stderr, no traceback, within a time bound, and must
leave no file changed outside the paths the user named (nor run any code a file carries)."""

from __future__ import annotations

import contextlib
import functools
import re
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
from typer.testing import CliRunner

pytest.importorskip("torch")
pytest.importorskip("onnx")

from gantool.cli import app  # noqa: E402
from tests.cli import hostile as H  # noqa: E402

runner = CliRunner()
TIME_LIMIT_S = 60  # per case; a hang fails the case instead of the suite


class Env:
    """Copies of good artifacts in a per-case folder, made on first use."""

    def __init__(self, tmp: Path, exported, trained_run, idx_dir: Path) -> None:
        self.tmp, self._exported, self._trained, self.idx = tmp, exported, trained_run, idx_dir

    def _copy(self, src: Path, name: str) -> Path:
        dst = self.tmp / name
        if not dst.exists():
            shutil.copytree(src, dst)
        return dst

    @functools.cached_property
    def export(self) -> Path:  # conditional dcgan, every format and variant
        return self._copy(self._exported("dcgan", 10), "export")

    @functools.cached_property
    def run(self) -> Path:
        return self._copy(self._trained("dcgan", 10), "run")

    @property
    def onnx(self) -> Path:
        return self.export / "model.onnx"

    @property
    def ckpt(self) -> Path:
        return self.run / "checkpoints" / "last.pt"

    def p(self, name: str) -> Path:
        return self.tmp / name

    def train_args(self, *extra: str) -> list[str]:
        return [
            "train",
            "--dataset",
            "idx",
            "--data-dir",
            str(self.idx),
            "--width",
            "4",
            "--latent-dim",
            "8",
            "--device",
            "cpu",
            "--quiet",
            "--run-dir",
            str(self.tmp / "newrun"),
            *extra,
        ]


@dataclass
class Case:
    id: str
    build: Callable[[Env], list[str]]
    match: str = ""
    code: int = 2
    named: Callable[[Env], list[Path]] = lambda env: []  # outputs the user named: these may change


@contextlib.contextmanager
def time_limit(seconds: int):
    def fail(signum, frame):
        raise TimeoutError(f"case took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def snapshot(root: Path) -> dict[str, tuple]:
    """Every file's size and mtime, every directory's existence (a probe file may touch its mtime)."""
    return {
        str(p.relative_to(root)): ("dir",) if p.is_dir() else (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
    }


def run_case(case: Case, env: Env, monkeypatch) -> None:
    monkeypatch.chdir(env.tmp)
    args = case.build(env)
    before = snapshot(env.tmp)
    with time_limit(TIME_LIMIT_S):
        res = runner.invoke(app, [str(a) for a in args])
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert res.exit_code == case.code, (res.exit_code, res.output)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert "Traceback" not in res.output
    # The expected text must be the message's own, not part of the case's folder name in it.
    assert re.search(case.match, lines[0].replace(str(env.tmp), "<tmp>")), lines[0]
    after = snapshot(env.tmp)
    named = [str(p.relative_to(env.tmp)) for p in case.named(env)]
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    outside = {k for k in changed if not any(k == n or k.startswith(n + "/") for n in named)}
    assert not outside, f"files changed outside the named paths: {sorted(outside)}"
    assert not H.PWNED.exists(), "a hostile file ran code"


@pytest.fixture
def env(tmp_path, exported, trained_run, idx_dir):
    work = tmp_path / "work"
    work.mkdir()
    return Env(work, exported, trained_run, idx_dir)


def _meta(change):
    return lambda env: ["sample", H.onnx_meta(env.onnx, env.p("m.onnx"), change), "--out", env.p("o.png")]


def _set(key, value):
    return lambda meta: {**meta, key: value}


# ----- sample ----------------------------------------------------------------------------------
SAMPLE = [
    Case("missing-model", lambda e: ["sample", e.p("missing.onnx")], "does not exist"),
    Case(
        "text-file",
        lambda e: ["sample", e.p("t.onnx")] if e.p("t.onnx").write_text("hello") else [],
        "not a loadable ONNX model",
    ),
    Case(
        "empty-file",
        lambda e: ["sample", e.p("e.onnx")] if e.p("e.onnx").touch() is None else [],
        "not a loadable ONNX model",
    ),
    Case(
        "truncated",
        lambda e: ["sample", e.p("t.onnx")] if e.p("t.onnx").write_bytes(e.onnx.read_bytes()[:5000]) else [],
        "not a loadable ONNX model",
    ),
    Case("latent-huge", _meta(_set("latent_dim", 10**9)), "latent_dim.*1..1024"),
    Case("latent-negative", _meta(_set("latent_dim", -3)), "latent_dim"),
    Case("latent-string", _meta(_set("latent_dim", "8")), "latent_dim"),
    Case("latent-float", _meta(_set("latent_dim", 8.0)), "latent_dim"),
    Case("classes-negative", _meta(_set("num_classes", -1)), "num_classes"),
    Case("classes-huge", _meta(_set("num_classes", 10**12)), "num_classes"),
    Case("classes-disagree", _meta(_set("num_classes", 0)), "num_classes=0"),
    Case("shape-short", _meta(_set("image_shape", [1, 28])), "image_shape"),
    Case("shape-huge", _meta(_set("image_shape", [1, 10**6, 10**6])), "image_shape"),
    Case("shape-disagrees", _meta(_set("image_shape", [1, 14, 14])), "graph output"),
    Case("meta-not-json", _meta(lambda m: "{not json"), "unreadable gantool metadata"),
    Case("meta-list", _meta(lambda m: "[1, 2]"), "not a JSON object"),
    Case("meta-deep", _meta(lambda m: "[" * 100000), "unreadable"),
    Case("meta-no-inputs", _meta(lambda m: {k: v for k, v in m.items() if k != "inputs"}), "no 'inputs'"),
    Case("inputs-unknown", _meta(_set("inputs", ["x", "label"])), "inputs"),
    Case("inputs-swapped", _meta(_set("inputs", ["label", "z"])), "graph inputs"),
    Case("outputs-wrong", _meta(_set("outputs", ["pixels"])), "outputs"),
    Case("value-range", _meta(_set("value_range", [-1, 1])), "value_range"),
    Case("newer-format", _meta(_set("format_version", 99)), "newer gantool"),
    Case("truncation-input-lie", _meta(_set("truncation_input", "z")), "'truncation_input' must be 'truncation'"),
    Case(
        "huge-buffer",
        lambda e: ["sample", H.huge_buffer_onnx(e.p("h.onnx")), "--out", e.p("o.png")],
        "could not run the model",
    ),
    Case(
        "graph-shape",
        lambda e: ["sample", H.wrong_graph_shape_onnx(e.p("w.onnx")), "--out", e.p("o.png")],
        "graph output",
    ),
    Case("nan-output", lambda e: ["sample", H.nan_onnx(e.p("n.onnx")), "--out", e.p("o.png")], "NaN"),
    Case("seed-negative", lambda e: ["sample", e.onnx, "--seed", "-1"], "seed must be between 0"),
    Case("seed-beyond-int64", lambda e: ["sample", e.onnx, "--seed", str(2**64)], "seed must be between 0"),
    Case("digit-beyond-int64", lambda e: ["sample", e.onnx, "--digit", str(2**70)], r"--digit must be in 0\.\.9"),
    Case("digit-negative", lambda e: ["sample", e.onnx, "--digit", "-1"], r"--digit must be in 0\.\.9"),
    Case("digit-too-big", lambda e: ["sample", e.onnx, "--digit", "12"], r"--digit must be in 0\.\.9, got 12"),
    Case(
        "grid-huge",
        lambda e: ["sample", e.onnx, "--n", "100000", "--scale", "16", "--out", e.p("g.png")],
        "would take .* MiB",
    ),
    Case("scale-zero", lambda e: ["sample", e.onnx, "--scale", "0"], "--scale"),
    Case("scale-huge", lambda e: ["sample", e.onnx, "--scale", "1000"], "scale must be an integer in 1..16"),
    Case("seeds-junk", lambda e: ["sample", e.onnx, "--seeds", "1-x"], "--seeds takes seeds and ranges"),
    Case("seeds-backwards", lambda e: ["sample", e.onnx, "--seeds", "9-3"], "low to high"),
    Case("seeds-too-many", lambda e: ["sample", e.onnx, "--seeds", f"0-{2**62}"], "more than 100000 seeds"),
    Case("seeds-and-seed", lambda e: ["sample", e.onnx, "--seeds", "1-3", "--seed", "4"], "not both"),
    Case("n-zero", lambda e: ["sample", e.onnx, "--n", "0"], "between 1 and"),
    Case("n-huge", lambda e: ["sample", e.onnx, "--n", str(10**12)], "between 1 and"),
    Case("n-text", lambda e: ["sample", e.onnx, "--n", "lots"], "--n"),
    Case("labels-junk", lambda e: ["sample", e.onnx, "--labels", "1,,x"], "comma-separated"),
    Case("labels-empty", lambda e: ["sample", e.onnx, "--labels", ","], "empty"),
    Case("labels-not-multiple", lambda e: ["sample", e.onnx, "--labels", "1,2,3", "--n", "4"], "not a multiple"),
    Case("truncation-tiny", lambda e: ["sample", e.onnx, "--truncation", "1e-9"], "truncation"),
    Case("truncation-nan", lambda e: ["sample", e.onnx, "--truncation", "nan"], "truncation"),
    Case("truncation-inf", lambda e: ["sample", e.onnx, "--truncation", "inf"], "truncation"),
    Case(
        "out-file-as-dir",
        lambda e: ["sample", e.onnx, "--out", f"{e.p('x.png')}/"] if e.p("x.png").write_text("x") else [],
        "is a file",
    ),
    Case("out-unwritable", lambda e: ["sample", e.onnx, "--out", "/proc/gantool.png"], "could not write|not writable"),
    Case("out-missing-dir", lambda e: ["sample", e.onnx, "--out", e.p("no/such/x.png")], "does not exist"),
    Case("out-bad-suffix", lambda e: ["sample", e.onnx, "--out", e.p("x.jpg")], "use a .png"),
    Case("threads-zero", lambda e: ["sample", e.onnx, "--threads", "0"], "--threads"),
    Case("dir-without-manifest", lambda e: ["sample", e.run], "not a gantool export directory"),
    Case(
        "dir-primary-symlink",
        lambda e: ["sample", H.symlink_member(e.export, "model.onnx", e.p("x.onnx")), "--out", e.p("o.png")],
        "is a symbolic link",
    ),
    Case("export-dir-bad-manifest", lambda e: ["sample", H.edit_manifest(e.export, lambda m: [])], "malformed"),
]

# ----- info ------------------------------------------------------------------------------------
INFO = [
    Case("missing", lambda e: ["info", e.p("nope.onnx")], "does not exist"),
    Case(
        "garbage",
        lambda e: ["info", e.p("g.onnx")] if e.p("g.onnx").write_bytes(b"\x08\x01garbage") else [],
        "not a loadable",
    ),
    Case(
        "latent-negative", lambda e: ["info", H.onnx_meta(e.onnx, e.p("m.onnx"), _set("latent_dim", -3))], "latent_dim"
    ),
    Case(
        "shape-strings",
        lambda e: ["info", H.onnx_meta(e.onnx, e.p("m.onnx"), _set("image_shape", ["a", 2, 3]))],
        "image_shape",
    ),
    Case(
        "ts-bad-json",
        lambda e: [
            "info",
            H.edit_zip_member(
                shutil.copy(e.export / "model.ts.pt", e.p("m.ts.pt")), "gantool.json", lambda b: b"{oops"
            ),
        ],
        "unreadable",
    ),
    Case(
        "ts-no-metadata",
        lambda e: [
            "info",
            H.edit_zip_member(shutil.copy(e.export / "model.ts.pt", e.p("m.ts.pt")), "gantool.json", lambda b: b""),
        ],
        "no gantool metadata",
    ),
    Case(
        "broken-zip",
        lambda e: (
            ["info", e.p("b.ts.pt")]
            if e.p("b.ts.pt").write_bytes((e.export / "model.ts.pt").read_bytes()[:3000] + b"PK\x05\x06" + b"\0" * 18)
            else []
        ),
        "not a loadable|damaged|no gantool metadata",
    ),
    Case("dir-no-manifest", lambda e: ["info", e.run], "not a gantool export directory"),
    Case("manifest-list", lambda e: ["info", H.edit_manifest(e.export, lambda m: [1])], "malformed"),
    Case(
        "manifest-escape",
        lambda e: [
            "info",
            H.edit_manifest(
                e.export, lambda m: {**m, "files": {"../run/checkpoints/last.pt": next(iter(m["files"].values()))}}
            ),
        ],
        "not a file inside its folder",
    ),
]

# ----- eval ------------------------------------------------------------------------------------
EVAL = [
    Case("n-one", lambda e: ["eval", e.run, "--n", "1"], "between 2 and"),
    Case("n-huge", lambda e: ["eval", e.run, "--n", str(10**7)], "between 2 and"),
    Case("seed-negative", lambda e: ["eval", e.run, "--seed", "-5"], "seed must be between 0"),
    Case(
        "bad-metadata",
        lambda e: ["eval", H.onnx_meta(e.onnx, e.p("m.onnx"), _set("num_classes", "ten"))],
        "num_classes",
    ),
    Case("garbage-onnx", lambda e: ["eval", e.p("g.onnx")] if e.p("g.onnx").write_text("x") else [], "not a loadable"),
    Case(
        "unknown-suffix",
        lambda e: ["eval", e.p("g.bin")] if e.p("g.bin").write_text("x") else [],
        "not a file gantool knows",
    ),
    Case(
        "empty-dir",
        lambda e: ["eval", e.p("empty")] if e.p("empty").mkdir() is None else [],
        "not a gantool run directory",
    ),
    Case("json-is-dir", lambda e: ["eval", e.run, "--json", e.export], "is a directory"),
    Case("json-missing-dir", lambda e: ["eval", e.run, "--json", e.p("no/where.json")], "does not exist"),
    Case("unknown-dataset", lambda e: ["eval", e.run, "--dataset", "cifar", "--n", "20"], "unknown dataset"),
    Case(
        "nan-model",
        lambda e: [
            "eval",
            H.nan_onnx(e.p("n.onnx")),
            "--n",
            "20",
            "--dataset",
            "idx",
            "--data-dir",
            e.idx,
            "--json",
            e.p("r.json"),
        ],
        "NaN",
    ),
]


# ----- export ----------------------------------------------------------------------------------
def _ckpt(change):
    return lambda e: ["export", H.edit_checkpoint(e.ckpt, e.p("c.pt"), change), "--out", e.p("o")]


def _drop(*keys):
    return lambda raw: [raw.pop(k) for k in keys]


def _nan_weights(raw):
    name = next(iter(raw["ema"]["model"]))
    raw["ema"]["model"][name].fill_(float("nan"))


EXPORT = [
    Case("missing", lambda e: ["export", e.p("nope.pt")], "does not exist"),
    Case(
        "garbage",
        lambda e: ["export", e.p("g.pt"), "--out", e.p("o")] if e.p("g.pt").write_text("junk") else [],
        "not a readable gantool checkpoint",
    ),
    Case(
        "evil-plain-pickle",
        lambda e: ["export", H.evil_plain_pickle(e.p("evil.pt")), "--out", e.p("o")],
        r"refusing to load .*run code \(posix\.system\)",
    ),
    Case(
        "evil-zip",
        lambda e: ["export", H.evil_zip_checkpoint(e.p("evil.pt")), "--out", e.p("o")],
        r"run code \(posix\.system\)",
    ),
    Case("no-generator", _ckpt(_drop("generator")), "no 'generator'"),
    Case("no-configs", _ckpt(_drop("model_config")), "no 'model_config'"),
    Case("config-mistyped", _ckpt(lambda r: r["model_config"].update(latent_dim="eight")), "latent_dim"),
    Case("config-list", _ckpt(lambda r: r.update(train_config=[1, 2])), "train_config"),
    Case("unknown-arch", _ckpt(lambda r: r["model_config"].update(arch="stylegan9")), "unknown model"),
    Case("nan-weights", _ckpt(_nan_weights), "NaN"),
    Case("weights-mistyped", _ckpt(lambda r: r["ema"].update(model={"w": 1})), "weights"),
    Case("newer-format", _ckpt(lambda r: r.update(format_version=99)), "newer gantool"),
    Case("opset-low", lambda e: ["export", e.run, "--out", e.p("o"), "--opset", "9"], "outside the working range"),
    Case("atol-nan", lambda e: ["export", e.run, "--out", e.p("o"), "--atol", "nan"], "atol"),
    Case("atol-negative", lambda e: ["export", e.run, "--out", e.p("o"), "--atol", "-1"], "atol"),
    Case("gate-zero", lambda e: ["export", e.run, "--out", e.p("o"), "--max-pixel-error", "0"], "max pixel error"),
    Case(
        "out-is-file", lambda e: ["export", e.run, "--out", e.p("f")] if e.p("f").write_text("x") else [], "is a file"
    ),
    Case(
        "out-foreign-dir", lambda e: ["export", e.run, "--out", e.run / "samples", "--force"], "holds no gantool export"
    ),
    Case("out-unwritable", lambda e: ["export", e.run, "--out", "/proc/gantool-export"], "not writable"),
    Case("unknown-format", lambda e: ["export", e.run, "--out", e.p("o"), "--format", "coreml"], "unknown format"),
    Case(
        "variant-without-format",
        lambda e: ["export", e.run, "--out", e.p("o"), "--torchscript", "--int8"],
        "add one of .*--onnx",
    ),
    Case(
        "other-model-no-force",
        lambda e: [
            "export",
            e.run,
            "--out",
            H.edit_manifest(e.export, lambda m: {**m, "checkpoint": {"path": "/x", "sha256": "0" * 64}}),
        ],
        "different model",
    ),
]


# ----- verify ----------------------------------------------------------------------------------
def _manifest(change, code=2):
    return lambda e: ["verify", H.edit_manifest(e.export, change)]


def _entry(m):
    return next(iter(m["files"].values()))


VERIFY = [
    Case("missing", lambda e: ["verify", e.p("nope")], "does not exist"),
    Case(
        "member-symlink",
        lambda e: ["verify", H.symlink_member(e.export, "model.onnx", e.p("elsewhere.onnx"))],
        "is a symbolic link; an export's files are never links",
    ),
    Case(
        "manifest-symlink",
        lambda e: ["verify", H.symlink_member(e.export, "manifest.json", e.p("m.json"))],
        "manifest.json' is a symbolic link",
    ),
    Case(
        "kind-contradicts-name",
        _manifest(
            lambda m: {**m, "files": {**m["files"], "model.onnx": {**m["files"]["model.onnx"], "kind": "torchscript"}}}
        ),
        "which its name contradicts",
    ),
    Case("no-manifest", lambda e: ["verify", e.run], "not a gantool export directory"),
    Case("manifest-empty-object", _manifest(lambda m: {}), "malformed"),
    Case("manifest-list", _manifest(lambda m: []), "malformed"),
    Case("manifest-text", _manifest(lambda m: "not json"), "unreadable"),
    Case("manifest-no-files", _manifest(lambda m: {k: v for k, v in m.items() if k != "files"}), "malformed"),
    Case(
        "manifest-parent-path",
        _manifest(lambda m: {**m, "files": {"../run/checkpoints/last.pt": _entry(m)}}),
        "not a file inside its folder",
    ),
    Case(
        "manifest-absolute",
        _manifest(lambda m: {**m, "files": {"/etc/passwd": _entry(m)}}),
        "not a file inside its folder",
    ),
    Case(
        "manifest-bad-kind",
        _manifest(lambda m: {**m, "files": {"model.onnx": {**_entry(m), "kind": "exe"}}}),
        "unknown kind",
    ),
    Case(
        "manifest-bad-sha", _manifest(lambda m: {**m, "files": {"model.onnx": {**_entry(m), "sha256": 5}}}), "malformed"
    ),
    Case(
        "export-config-mistyped",
        _manifest(lambda m: {**m, "export_config": {**m["export_config"], "atol": "x"}}),
        "atol",
    ),
    Case("export-config-list", _manifest(lambda m: {**m, "export_config": [1]}), "export_config"),
    Case(
        "checkpoint-missing",
        _manifest(lambda m: {**m, "checkpoint": {"path": "/nope.pt", "sha256": "0" * 64}}),
        "is missing",
    ),
    Case(
        "checkpoint-other",
        lambda e: [
            "verify",
            e.export,
            "--checkpoint",
            H.edit_checkpoint(e.ckpt, e.p("c.pt"), lambda r: r.update(step=123456)),
        ],
        "not the one this export came from",
    ),
    Case(
        "file-missing", lambda e: ["verify", e.export] if (e.export / "model.ts.pt").unlink() is None else [], "missing"
    ),
    Case(
        "flipped-weight-byte",
        lambda e: ["verify", e.export] if H.flip_byte(e.onnx) else [],
        "model.onnx changed since export",
        code=1,
        named=lambda e: [e.export],
    ),
    Case(
        "flipped-int8-byte",
        lambda e: ["verify", e.export] if H.flip_byte(e.export / "model.int8.onnx") else [],
        "model.int8.onnx changed since export",
        code=1,
        named=lambda e: [e.export],
    ),
    Case(
        "flipped-fp16-byte",
        lambda e: ["verify", e.export] if H.flip_byte(e.export / "model.fp16.onnx") else [],
        "model.fp16.onnx changed since export",
        code=1,
        named=lambda e: [e.export],
    ),
    Case(
        "edited-onnx-metadata",
        lambda e: ["verify", e.export] if H.onnx_meta(e.onnx, e.onnx, _set("model", "dcgan2")) else [],
        "model.onnx changed since export",
        code=1,
        named=lambda e: [e.export],
    ),
    Case(
        "edited-ts-member",
        lambda e: (
            ["verify", e.export]
            if H.edit_zip_member(e.export / "model.ts.pt", "gantool.json", lambda b: b.replace(b'"dcgan"', b'"dcgan2"'))
            else []
        ),
        "model.ts.pt changed since export",
        code=1,
        named=lambda e: [e.export],
    ),
    Case(
        "rezipped-ts",
        lambda e: ["verify", e.export] if H.rezip(e.export / "model.ts.pt") else [],
        "model.ts.pt changed since export",
        code=1,
        named=lambda e: [e.export],
    ),
]

# ----- train -----------------------------------------------------------------------------------
TRAIN = [
    Case("lr-inf", lambda e: e.train_args("--lr-g", "inf"), "lr g must be a finite number"),
    Case("lr-nan", lambda e: e.train_args("--lr-d", "nan"), "lr d must be a finite number"),
    Case("rotate-nan", lambda e: e.train_args("--rotate", "nan"), "rotate"),
    Case("r1-nan", lambda e: e.train_args("--r1-gamma", "nan"), "r1 gamma"),
    Case("minutes-inf", lambda e: e.train_args("--minutes", "inf"), "minutes"),
    Case("minutes-nan", lambda e: e.train_args("--minutes", "nan"), "minutes"),
    Case("minutes-zero", lambda e: e.train_args("--minutes", "0"), "minutes"),
    Case("minutes-negative", lambda e: e.train_args("--minutes", "-5"), "minutes"),
    Case("minutes-absurd", lambda e: e.train_args("--minutes", "1e300"), "minutes"),
    Case("precision-unknown", lambda e: e.train_args("--precision", "fp8"), "unknown precision 'fp8'"),
    Case("threads-zero", lambda e: e.train_args("--threads", "0"), "--threads"),
    Case("epochs-zero", lambda e: e.train_args("--epochs", "0"), "--epochs"),
    Case("batch-zero", lambda e: e.train_args("--batch-size", "0"), "--batch-size"),
    Case("seed-negative", lambda e: e.train_args("--seed", "-1"), "--seed"),
    Case("latent-huge", lambda e: e.train_args("--latent-dim", str(10**9)), "latent dim"),
    Case("label-smoothing", lambda e: e.train_args("--label-smoothing", "0.7"), "label smoothing"),
    Case("ema-decay", lambda e: e.train_args("--ema-decay", "1.5"), "ema decay"),
    Case("unknown-arch", lambda e: e.train_args("--arch", "resnet"), "unknown model"),
    Case("unknown-dataset", lambda e: e.train_args("--dataset", "cifar"), "unknown dataset"),
    Case("bad-diffaug", lambda e: e.train_args("--diffaug", "flip"), "DiffAugment"),
    Case("data-dir-missing", lambda e: e.train_args("--data-dir", str(e.p("nodata"))), "does not exist"),
    Case("idx-zero-images", lambda e: e.train_args("--data-dir", H.idx_dir(e.p("d"), "zero-images")), "no images"),
    Case("idx-overflow", lambda e: e.train_args("--data-dir", H.idx_dir(e.p("d"), "overflow")), "header promises"),
    Case("idx-labels", lambda e: e.train_args("--data-dir", H.idx_dir(e.p("d"), "labels-out-of-range")), "classes"),
    Case("idx-corrupt-gz", lambda e: e.train_args("--data-dir", H.idx_dir(e.p("d"), "corrupt-gz")), "corrupt IDX"),
    Case(
        "run-dir-is-file",
        lambda e: e.train_args("--run-dir", e.p("f")) if e.p("f").write_text("x") else [],
        "not writable",
    ),
    Case("run-dir-unwritable", lambda e: e.train_args("--run-dir", "/proc/gantool-run"), "not writable"),
    Case("existing-run", lambda e: e.train_args("--run-dir", e.run), "already holds a run"),
]


# ----- resume ----------------------------------------------------------------------------------
def _resume(change):
    # --epochs past the run's own: a complete run would be refused before its states are loaded
    return lambda e: ["train", "--resume", H.edit_checkpoint(e.ckpt, e.ckpt, change), "--epochs", "13"]


RESUME = [
    Case(
        "no-checkpoint",
        lambda e: ["train", "--resume", e.p("empty")] if e.p("empty").mkdir() is None else [],
        "not a gantool run directory",
    ),
    Case(
        "garbage",
        lambda e: ["train", "--resume", e.p("g.pt")] if e.p("g.pt").write_text("x") else [],
        "not a readable gantool checkpoint",
    ),
    Case("evil", lambda e: ["train", "--resume", H.evil_plain_pickle(e.p("evil.pt"))], "run code"),
    Case("no-discriminator", _resume(_drop("discriminator")), "'discriminator' is missing"),
    Case("no-optimizer", _resume(_drop("opt_g")), "'opt_g' is missing"),
    Case("no-rng", _resume(_drop("rng")), "'rng' is missing"),
    Case("step-mistyped", _resume(lambda r: r.update(step="7")), "'step' is missing or malformed"),
    Case("optimizer-mistyped", _resume(lambda r: r.update(opt_d={"state": {}, "param_groups": "x"})), "optimizer"),
    Case("config-mistyped", _resume(lambda r: r["train_config"].update(lr_g="fast")), "lr_g"),
    Case("other-arch", lambda e: ["train", "--resume", e.run, "--arch", "mlp"], "arch is 'dcgan', not 'mlp'"),
    Case("other-loss", lambda e: ["train", "--resume", e.run, "--loss", "hinge"], "only --epochs"),
]

# ----- bench -----------------------------------------------------------------------------------
BENCH = [
    Case("missing", lambda e: ["bench", e.p("nope")], "does not exist"),
    Case("calls-low", lambda e: ["bench", e.export, "--calls", "10"], "calls"),
    Case("fid-n-low", lambda e: ["bench", e.export, "--fid-n", "1"], "fid n"),
    Case("markdown-missing-dir", lambda e: ["bench", e.export, "--markdown", e.p("no/t.md")], "does not exist"),
    Case("json-is-dir", lambda e: ["bench", e.export, "--json", e.run], "is a directory"),
    Case("bad-manifest", lambda e: ["bench", H.edit_manifest(e.export, lambda m: {"files": 3})], "malformed"),
    Case(
        "checkpoint-gone",
        lambda e: [
            "bench",
            H.edit_manifest(e.export, lambda m: {**m, "checkpoint": {"path": str(e.p("gone.pt")), "sha256": "0" * 64}}),
        ],
        "is missing",
    ),
    Case("threads-zero", lambda e: ["bench", e.export, "--threads", "0"], "--threads"),
]

TABLE = {
    "sample": SAMPLE,
    "info": INFO,
    "eval": EVAL,
    "export": EXPORT,
    "verify": VERIFY,
    "train": TRAIN,
    "resume": RESUME,
    "bench": BENCH,
}


def test_table_size():
    assert sum(len(cases) for cases in TABLE.values()) >= 100


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=f"{command}-{c.id}") for command, cases in TABLE.items() for c in cases]
)
def test_hostile_input(case, env, monkeypatch):
    """One case of the table: the command's one-line error and exit code, nothing of the user's lost."""
    run_case(case, env, monkeypatch)
