"""A torch.export archive inspected before anything from torch reads it (no torch needed).

`torch.export.load` is not a safe loader: an archive can carry pickled weights and constants
(loaded with `weights_only=False`), sample inputs that fall back to a full unpickle, Python guard
expressions that are `exec`'d when the program becomes a module, and compiled AOTInductor libraries
that are loaded as native code. A file gantool wrote holds none of that, so the check is an
allow-list of what it does hold: fixed member names, raw tensor payloads, JSON configs that pickle
nothing, a graph of `torch.ops.aten` operators only, shape guards of one plain form, and sample
inputs whose pickle names only tensor-rebuilding functions. Anything else is a one-line refusal.
"""

from __future__ import annotations

import ast
import io
import json
import pickletools
import re
import zipfile
from pathlib import Path
from typing import Any

from gantool.core.errors import GantoolError

MEMBERS = {
    "archive_format",
    "archive_version",
    "byteorder",
    ".data/version",
    ".data/serialization_id",
    "models/model.json",
    "data/weights/model_weights_config.json",
    "data/constants/model_constants_config.json",
    "data/sample_inputs/model.pt",
    "extra/gantool.json",
}
WEIGHT = re.compile(r"data/weights/weight_\d{1,6}")
MAX_MEMBERS, MAX_JSON_BYTES, MAX_TOTAL_BYTES = 4096, 64 << 20, 2 << 30
# What the sample inputs' pickle may name: tensors rebuilt from raw storages (torch.load's own
# weights_only set includes these, so torch never falls back to a full unpickle for them).
PICKLE_GLOBALS = {"torch._utils._rebuild_tensor_v2", "collections.OrderedDict"} | {
    f"torch.{t}Storage" for t in ("Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool")
}
SAMPLE_MEMBERS = re.compile(
    r"[^/]+/(data\.pkl|data/\d{1,6}|version|byteorder|\.format_version|\.storage_alignment|"
    r"\.data/serialization_id)"
)


def check_archive(path: Path) -> None:
    """Raise a one-line GantoolError unless `path` holds only what the torch.export archives gantool writes hold."""
    where = repr(str(path))
    try:
        with zipfile.ZipFile(path) as zf:
            members = _members(zf, where)
            _check_payloads(zf, members, where)
            _check_graph(_json(zf, members["models/model.json"], where), where)
            _check_sample_inputs(zf.read(members["data/sample_inputs/model.pt"]), where)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, KeyError, ValueError) as e:
        if isinstance(e, GantoolError):
            raise
        raise GantoolError(
            f"{where} is not a loadable torch.export archive ({type(e).__name__}); export it again"
        ) from None


def _members(zf: zipfile.ZipFile, where: str) -> dict[str, zipfile.ZipInfo]:
    infos = zf.infolist()
    if not infos or len(infos) > MAX_MEMBERS:
        raise GantoolError(f"{where} holds {len(infos)} members, not a torch.export archive gantool wrote")
    root = infos[0].filename.split("/")[0]
    out: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        name = info.filename
        rest = name[len(root) + 1 :] if name.startswith(root + "/") else None
        if rest is None or not (rest in MEMBERS or WEIGHT.fullmatch(rest)) or rest in out:
            raise GantoolError(
                f"{where} holds {name[:80]!r}, which a torch.export archive written by gantool "
                "never contains (it could run code when loaded); refusing to load it"
            )
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            raise GantoolError(f"{where}: member {rest!r} is compressed or encrypted; gantool's archives never are")
        total += info.file_size
        out[rest] = info
    if total > MAX_TOTAL_BYTES:
        raise GantoolError(f"{where} unpacks to {total >> 20} MiB, far more than a gantool generator")
    missing = sorted(MEMBERS - {"extra/gantool.json"} - set(out))
    if missing:
        raise GantoolError(f"{where} is an incomplete torch.export archive (no {missing[0]}); export it again")
    return out


def _json(zf: zipfile.ZipFile, info: zipfile.ZipInfo, where: str) -> Any:
    if info.file_size > MAX_JSON_BYTES:
        raise GantoolError(f"{where}: {info.filename[:60]} is too large")
    try:
        return json.loads(zf.read(info).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise GantoolError(f"{where}: {info.filename[:60]} is not valid JSON; export it again") from None


def _check_payloads(zf: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], where: str) -> None:
    """Weights are raw tensor payloads named weight_N; there are no constants at all."""
    weights = _json(zf, members["data/weights/model_weights_config.json"], where)
    constants = _json(zf, members["data/constants/model_constants_config.json"], where)
    if not isinstance(weights, dict) or not isinstance(weights.get("config"), dict):
        raise GantoolError(f"{where}: its weights config is malformed")
    for fqn, meta in weights["config"].items():
        if (
            not isinstance(meta, dict)
            or meta.get("use_pickle") is not False
            or not WEIGHT.fullmatch(f"data/weights/{meta.get('path_name')}")
            or f"data/weights/{meta.get('path_name')}" not in members
        ):
            raise GantoolError(
                f"{where}: weight {str(fqn)[:60]!r} is not a raw tensor payload (a pickled weight "
                "would run code when loaded); refusing to load it"
            )
    if constants != {"config": {}}:
        raise GantoolError(
            f"{where} carries constants (pickled objects or tensors), which gantool's "
            "torch.export archives never do; refusing to load it"
        )


def _check_graph(program: Any, where: str) -> None:
    """Only aten operators, and guards that compare input sizes with integers."""
    try:
        nodes = program["graph_module"]["graph"]["nodes"]
        guards = program.get("guards_code", [])
        if not isinstance(nodes, list) or not isinstance(guards, list):
            raise TypeError
    except (TypeError, KeyError, AttributeError):
        raise GantoolError(f"{where}: its program is malformed; export it again") from None
    for node in nodes:
        target = node.get("target") if isinstance(node, dict) else None
        if not isinstance(target, str) or not target.startswith("torch.ops.aten."):
            raise GantoolError(f"{where} calls {str(target)[:60]!r}, not an aten operator; refusing to load it")
    for guard in guards:
        if not (isinstance(guard, str) and len(guard) < 500 and _plain_guard(guard)):
            raise GantoolError(
                f"{where} holds a guard that is not a plain size comparison ({str(guard)[:60]!r}); "
                "torch would execute it: refusing to load it"
            )


def _plain_guard(text: str) -> bool:
    """`L['z'].size()[0] == L['label'].size()[0]`, `2 <= L['z'].size()[0]`, joined by and/or/not."""
    try:
        tree = ast.parse(text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return False

    def ok(n: ast.AST) -> bool:
        if isinstance(n, ast.BoolOp):
            return all(ok(v) for v in n.values)
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.Not):
            return ok(n.operand)
        if isinstance(n, ast.Compare):
            return all(term(v) for v in [n.left, *n.comparators])
        return False

    def term(n: ast.AST) -> bool:
        if isinstance(n, ast.Constant):
            return type(n.value) is int
        if isinstance(n, ast.BinOp) and isinstance(n.op, (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod)):
            return term(n.left) and term(n.right)
        return (
            isinstance(n, ast.Subscript)
            and isinstance(n.slice, ast.Constant)
            and type(n.slice.value) is int
            and isinstance(n.value, ast.Call)
            and not n.value.args
            and not n.value.keywords
            and isinstance(n.value.func, ast.Attribute)
            and n.value.func.attr == "size"
            and isinstance(n.value.func.value, ast.Subscript)
            and isinstance(n.value.func.value.value, ast.Name)
            and n.value.func.value.value.id == "L"
            and isinstance(n.value.func.value.slice, ast.Constant)
            and isinstance(n.value.func.value.slice.value, str)
        )

    return ok(tree)


def _check_sample_inputs(data: bytes, where: str) -> None:
    """The sample inputs are a torch.save archive whose pickle rebuilds tensors and nothing else."""
    with zipfile.ZipFile(io.BytesIO(data)) as inner:
        names = inner.namelist()
        bad = [n for n in names if not SAMPLE_MEMBERS.fullmatch(n)]
        pkl = [n for n in names if n.endswith("/data.pkl")]
        if bad or len(pkl) != 1:
            raise GantoolError(f"{where}: its sample inputs hold {(bad or names)[0][:60]!r}; refusing to load it")
        strings: list[str] = []
        for op, arg, _ in pickletools.genops(inner.read(pkl[0])):
            if op.name == "GLOBAL":
                name = str(arg).replace(" ", ".")
            elif op.name == "STACK_GLOBAL":
                name = ".".join(strings[-2:])
            else:
                if isinstance(arg, str):
                    strings.append(arg)
                continue
            if name not in PICKLE_GLOBALS:
                raise GantoolError(
                    f"{where}: its sample inputs' pickle would call {name[:60]!r} (it could run code); "
                    "refusing to load it"
                )
