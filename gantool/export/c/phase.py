"""Phase groups of an int8 graph, found for the C lowering (gantool.export.c.lower).

A phase group is what gantool.export.makers.int8_phase writes for each stride-2 up-sampling layer:
four 2x2 convolutions of one input (or, for a narrow layer, two row-phase 2x3 convolutions, each
holding two column phases as its two halves of channels), each quantized with the same scale and
zero point, then uint8 moves (Transpose, Unsqueeze, Concat, Reshape) that interleave the phases into
one image of twice the height and width; a narrow layer's convolutions may be widened to 16 outputs
and Sliced back to the real channels first (the Slice is one of the moves). The C file runs each
phase's 2x2 convolution and places its plane straight into the interleaved output, so the moves cost
nothing there. A group is taken as one only when the moves, run in numpy on numbered values, put
phase (a, b)'s pixel (c, m, n) at (c, 2m + a, 2n + b) and its convolution pads [1 - a, 1 - b, a, b]
(a 2x3 one: [1 - a, 1, a, 1]): any other graph of these operators is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from gantool.core.errors import GantoolError

MOVE_OPS = {"Transpose", "Unsqueeze", "Concat", "Reshape", "Slice"}


@dataclass
class PhaseGroup:
    convs: dict[tuple[int, int], Any]  # (a, b) -> the Conv node computing it (a row conv: two phases)
    quants: dict[tuple[int, int], Any]  # (a, b) -> the QuantizeLinear after it
    first: dict[tuple[int, int], int]  # (a, b) -> its first output channel in that convolution
    members: set[int]  # id() of every node of the group (convs, quants, moves)
    output: str  # the interleaved tensor's name
    channels: int  # the interleaved image's channels


KERNELS = {4: (2, 2), 2: (2, 3)}  # convolutions in a group -> their kernel (phase, row-phase)


def phase_group(
    conv,
    consumers: dict[str, list],
    inits: dict[str, np.ndarray],
    weights: dict[str, np.ndarray],
    shape: tuple[int, ...],
) -> Optional[PhaseGroup]:
    """The phase group `conv` belongs to (its input, of per-image `shape` (C, H, W), read by four 2x2
    or two 2x3 convolutions and nothing else), or None when it is an ordinary convolution. `weights`:
    the convolutions' dequantized weight tensors by name (int8 values)."""
    users = consumers.get(conv.input[0], [])
    kernel = KERNELS.get(len(users))
    convs = [u for u in users if u.op_type == "Conv" and _kernel(u, weights) == kernel]
    if kernel is None or len(convs) != len(users) or len(shape) != 3:
        return None
    try:
        return _group(convs, consumers, inits, [int(weights[c.input[1]].shape[0]) for c in convs], shape)
    except GantoolError:
        raise
    except (ValueError, IndexError, KeyError, TypeError) as e:  # numpy on a malformed move
        raise GantoolError(f"the C backend cannot follow the moves after Conv {conv.output[0]!r} ({e})") from None


def _kernel(conv, weights: dict) -> Optional[tuple[int, int]]:
    w = weights.get(conv.input[1]) if len(conv.input) > 1 else None
    return tuple(w.shape[2:]) if w is not None and w.ndim == 4 else None


def _group(convs: list, consumers: dict, inits: dict, c_outs: list[int], shape: tuple[int, ...]) -> PhaseGroup:
    quants = []
    for conv in convs:
        users = consumers.get(conv.output[0], [])
        if len(users) != 1 or users[0].op_type != "QuantizeLinear":
            raise GantoolError(f"Conv {conv.output[0]!r}: a phase convolution must be quantized once")
        quants.append(users[0])
    if len({tuple(q.input[1:]) for q in quants}) != 1:
        raise GantoolError("the phase convolutions are quantized with different parameters")
    members, values = {id(n) for n in convs + quants}, {}
    _, h, w = shape
    start = np.cumsum([0] + [c * h * w for c in c_outs])  # conv p's values: start[p] + its own flat index
    for p, q in enumerate(quants):
        values[q.output[0]] = (start[p] + np.arange(c_outs[p] * h * w)).reshape(1, c_outs[p], h, w)
    output = _run_moves(values, consumers, members, inits)
    got = values[output]
    channels = got.shape[1] if got.ndim == 4 else 0
    if not 1 <= channels <= min(c_outs) or got.shape != (1, channels, 2 * h, 2 * w):
        raise GantoolError(f"the phase interleave gives shape {got.shape}, not (1, C, {2 * h}, {2 * w})")
    group = PhaseGroup({}, {}, {}, members, output, channels)
    for a in (0, 1):
        for b in (0, 1):
            block = got[0, :, a::2, b::2]
            p = int(np.searchsorted(start, block.flat[0], side="right")) - 1
            first = int(block.flat[0] - start[p]) // (h * w)
            want = (start[p] + np.arange(c_outs[p] * h * w)).reshape(c_outs[p], h, w)[first : first + channels]
            if not np.array_equal(block, want) or (p, first) in {(convs.index(c), f) for c, f in _used(group)}:
                raise GantoolError("the uint8 moves after the phase convolutions are not a phase interleave")
            group.convs[a, b], group.quants[a, b], group.first[a, b] = convs[p], quants[p], first
            pads, kernel = _pads(convs[p]), KERNELS[len(convs)]
            want_pads = [1 - a, 1 - b, a, b] if kernel == (2, 2) else [1 - a, 1, a, 1]
            if pads != want_pads:
                raise GantoolError(f"phase ({a}, {b})'s convolution pads {pads}, not {want_pads}")
    return group


def _used(group: PhaseGroup) -> list[tuple[Any, int]]:
    return [(group.convs[k], group.first[k]) for k in group.convs]


def _pads(conv) -> list[int]:
    from onnx import helper

    attrs = {a.name: helper.get_attribute_value(a) for a in conv.attribute}
    return int_attribute(attrs.get("pads", [0, 0, 0, 0]), 4, 0, "pads", conv)


def _run_moves(values: dict[str, np.ndarray], consumers: dict, members: set[int], inits: dict) -> str:
    """Run the move nodes reachable from `values` in numpy until one tensor is read by something else."""
    from onnx import helper

    pending = True
    while pending:
        pending = False
        for name in list(values):
            for node in consumers.get(name, []):
                if id(node) in members or node.op_type not in MOVE_OPS:
                    continue
                if not all(i in values or i in inits for i in node.input):
                    continue
                attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
                values[node.output[0]] = _move(node, [values.get(i) for i in node.input], attrs, inits)
                members.add(id(node))
                pending = True
    ends = [n for n in values if not any(id(u) in members for u in consumers.get(n, []))]
    if len(ends) != 1:
        raise GantoolError(f"the 2x2 phase convolutions' outputs end in {len(ends)} tensors, not one image")
    return ends[0]


def _move(node, inputs: list, attrs: dict, inits: dict) -> np.ndarray:
    """One move op on numbered values (batch 1); a malformed one raises (caught by the caller)."""
    op = node.op_type
    if op == "Transpose":
        return np.transpose(inputs[0], attrs["perm"])
    if op == "Concat":
        return np.concatenate(inputs, axis=int(attrs["axis"]))
    if op == "Unsqueeze":
        out = inputs[0]
        for axis in sorted(int(v) for v in inits[node.input[1]].reshape(-1)):
            out = np.expand_dims(out, axis)
        return out
    if op == "Slice":  # constant starts, ends, axes [, steps]
        starts, ends, axes = (inits[i].reshape(-1) for i in list(node.input)[1:4])  # a missing one: KeyError
        index = [slice(None)] * inputs[0].ndim
        steps = inits[node.input[4]].reshape(-1) if len(node.input) > 4 and node.input[4] else [1] * len(starts)
        for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
            index[int(axis)] = slice(int(start), int(end), int(step))
        return inputs[0][tuple(index)]
    shape = [int(v) for v in inits[node.input[1]].reshape(-1)]  # Reshape: 0 copies that dimension
    shape = [inputs[0].shape[i] if v == 0 and not attrs.get("allowzero", 0) else v for i, v in enumerate(shape)]
    return inputs[0].reshape(shape)


def int_attribute(value: Any, n: int, lo: int, what: str, node) -> list[int]:
    """An attribute that must be n integers in lo..4096 (they become C source text)."""
    if not (
        isinstance(value, (list, tuple))
        and len(value) == n
        and all(isinstance(v, int) and not isinstance(v, bool) and lo <= v <= 4096 for v in value)
    ):
        raise GantoolError(
            f"{node.op_type} {node.output[0]!r}: attribute {what} must be {n} integer(s) in "
            f"{lo}..4096, got {str(value)[:40]}"
        )
    return [int(v) for v in value]
