"""C99 source for a lowered int8 generator (gantool.export.c.lower): `gantool_generator.h` / `.c`.

No dynamic allocation, no OS calls, nothing beyond the C standard library (libm for the seeded
latent's log, cos and sqrt, and rintf): weights, biases and tables are `const` arrays (flash), the
two activation buffers are static and sized here. The latent comes from the seed by
gantool.runtime.seeded's algorithm, the pixels are the sampler's uint8 pixels. The text depends
only on the model, so the same int8 file always gives the same bytes (verification regenerates it).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from gantool.core.errors import GantoolError, first_line
from gantool.export.c.kernels import kernels_for
from gantool.export.c.layers import (
    ConvLayer,
    DepthToSpaceLayer,
    GemmLayer,
    InputLayer,
    Layer,
    LinearLayer,
    Lowered,
    PhaseLayer,
    TableLayer,
)
from gantool.runtime.seeded import GOLDEN, M31, MUL1, MUL2

HEADER = "gantool_generator.h"
SOURCE = "gantool_generator.c"
STACK_BYTES = 512  # gantool_generate -> gantool_generate_latent -> a kernel: ~350 B on a Cortex-M4
# (-fstack-usage, benchmarks/results/sizes.md), plus libm's log and cos


@dataclass
class CFiles:
    header: str
    source: str
    flash_bytes: int  # const data: weights, biases, tables
    sram_bytes: int  # static activation buffers
    macs: int


def generate_from_onnx(path: Path) -> CFiles:
    import onnx

    from gantool.export.c.lower import lower

    try:
        model = onnx.load(str(path), load_external_data=False)  # a hostile file's external data stays unread
    except Exception as e:
        raise GantoolError(f"{str(path)!r} is not a loadable ONNX file ({first_line(e)})") from None
    low = lower(model)
    return generate(low, model_name=_model_name(model, low))


# Text read from a file reaches the generated C only through this pattern (a plain identifier), and
# numbers only as Python ints and float32 values: a name holding "*/", a newline or a #define cannot.
SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
COMMENT_SAFE = re.compile(r"[A-Za-z0-9_.,() -]{1,120}")  # no "*", "/", "#", quote or line break


def _model_name(model, low: Lowered) -> str:
    """The comment's model name: the metadata's architecture when it is a plain identifier, with the
    latent size and class count the graph itself has (never the metadata's text)."""
    meta = {p.key: p.value for p in model.metadata_props}
    try:
        arch = json.loads(meta.get("gantool", "{}")).get("model")
    except (ValueError, TypeError, AttributeError, RecursionError):
        arch = None
    if not isinstance(arch, str) or not SAFE_NAME.fullmatch(arch):
        return "gantool generator"
    return f"{arch} (latent {low.latent_dim}, {low.num_classes} classes)"


def _check_numbers(low: Lowered) -> None:
    """Every integer the C text will hold is an int (shapes, zero points, pads, strides, block size)
    and every float is finite: what reaches the source is numbers, whatever the file said."""
    values: list = [low.latent_dim, low.num_classes, *low.image_shape]
    floats: list = []
    layers: list[Layer] = [*low.layers, *(c for c in low.convolutions() if c not in low.layers)]
    for layer in layers:
        values += [*layer.shape_in, *layer.shape_out]
        if isinstance(layer, InputLayer):
            values.append(layer.zp)
            floats.append(layer.scale)
        elif isinstance(layer, LinearLayer):
            values += [layer.x_zp, layer.requant.y_zp]
            floats.append(layer.requant.multiplier)
            if isinstance(layer, ConvLayer):
                values += [*layer.pads, *layer.strides]
        elif isinstance(layer, DepthToSpaceLayer):
            values.append(layer.block)
    if not all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in values):
        raise GantoolError(
            "the int8 file's graph gives a size or zero point that is not an integer; export it again with gantool"
        )
    if not all(np.isfinite(np.asarray(f, dtype=np.float64)).all() for f in floats):
        raise GantoolError("the int8 file's graph has a quantization scale that is not finite; export it again")


def _array(ctype: str, name: str, values: np.ndarray) -> str:
    flat = [str(int(v)) for v in np.asarray(values).reshape(-1)]
    rows = [", ".join(flat[i : i + 24]) for i in range(0, len(flat), 24)]
    return f"static const {ctype} {name}[{len(flat)}] = {{\n    " + ",\n    ".join(rows) + "\n};\n"


def _float(v) -> str:
    """A float32 constant that C reads back to the same bits."""
    return f"{float(np.float32(v)):.9g}f"


def generate(low: Lowered, model_name: str = "gantool generator") -> CFiles:
    if not COMMENT_SAFE.fullmatch(model_name):  # it goes into /* comments */
        raise GantoolError(f"model name {model_name[:40]!r} is not a plain identifier; it cannot go into C source")
    _check_numbers(low)
    data: list[str] = []
    calls: list[str] = []
    sizes = {"a": 0, "b": 0}
    flash, cur = 0, "a"
    for i, layer in enumerate(low.layers):
        code, nbytes, out = _layer(i, layer, cur, data)
        flash += nbytes
        if out is not None:
            sizes[out] = max(sizes[out], int(np.prod(layer.shape_out)))
            cur = out
        calls.append(code)
    phases = [conv for layer in low.layers if isinstance(layer, PhaseLayer) for _, _, conv in layer.phases]
    acc = max((int(np.prod(c.shape_out[1:])) for c in low.convolutions()), default=1)
    scratch = max((int(np.prod(c.shape_out)) for c in phases), default=0)  # one phase's output, before placing
    sram = sizes["a"] + sizes["b"] + 4 * acc + scratch
    image_size = int(np.prod(low.image_shape))
    header = _header(low, model_name, flash, sram, image_size, bool(phases))
    source = "\n".join(
        [
            f"/* {SOURCE}: {model_name}, generated by gantool from its int8 ONNX file. Do not edit: export again. */",
            f'#include "{HEADER}"',
            "",
            "#include <math.h>",
            "#include <string.h>",
            "",
            "/* ---- weights, biases and tables: const data (flash) ---- */",
            *data,
            "/* ---- activations: static buffers (SRAM), sized at export ---- */",
            f"static uint8_t buf_a[{max(sizes['a'], 1)}];",
            f"static uint8_t buf_b[{max(sizes['b'], 1)}];",
            f"static int32_t acc[{acc}]; /* one output plane's int32 sums */",
            "",
            *(
                [f"static uint8_t buf_s[{scratch}]; /* one phase's output, then placed in the interleaved image */", ""]
                if phases
                else []
            ),
            kernels_for(d2s=any(isinstance(layer, DepthToSpaceLayer) for layer in low.layers), phases=bool(phases)),
            _latent_code(low.latent_dim),
            _entry(low, calls),
            "",
        ]
    )
    return CFiles(header, source, flash, sram, low.macs)


def _layer(i: int, layer: Layer, cur: str, data: list[str]) -> tuple[str, int, Optional[str]]:
    """(the call, flash bytes, the buffer it writes or None when in place)."""
    other = "b" if cur == "a" else "a"
    if isinstance(layer, InputLayer):
        code = f"    quantize_latent(z, GANTOOL_LATENT_DIM, {_float(layer.scale)}, {layer.zp}, buf_a);\n"
        nbytes = 0
        if layer.embed is not None:
            data.append(_array("uint8_t", "embed", layer.embed))
            e = layer.embed.shape[1]
            code += f"    memcpy(buf_a + GANTOOL_LATENT_DIM, embed + (size_t)label * {e}, {e});\n"
            nbytes = layer.embed.size
        return code, nbytes, "a"
    if isinstance(layer, GemmLayer):
        nbytes = _weight_arrays(str(i), layer, data)
        n, k = layer.weight.shape
        call = f"    gemm(buf_{cur}, {k}, {n}, w{i}, b{i}, {layer.x_zp}, m{i}, {layer.requant.y_zp}, buf_{other});\n"
        return call, nbytes, other
    if isinstance(layer, ConvLayer):
        return _conv_call(str(i), layer, f"buf_{cur}", f"buf_{other}"), _weight_arrays(str(i), layer, data), other
    if isinstance(layer, PhaseLayer):  # each phase convolved into buf_s, then placed at (2m + a, 2n + b)
        code, nbytes = "", 0
        for a, b, conv in layer.phases:
            tag = f"{i}_{a}{b}"
            nbytes += _weight_arrays(tag, conv, data)
            c, h, w = conv.shape_out
            code += (
                _conv_call(tag, conv, f"buf_{cur}", "buf_s")
                + f"    place_phase(buf_s, {c}, {h}, {w}, {a}, {b}, buf_{other});\n"
            )
        return code, nbytes, other
    if isinstance(layer, DepthToSpaceLayer):
        c, h, w = layer.shape_in
        dcr = 1 if layer.mode == "DCR" else 0
        return f"    depth_to_space(buf_{cur}, {c}, {h}, {w}, {layer.block}, {dcr}, buf_{other});\n", 0, other
    assert isinstance(layer, TableLayer)  # in place, or into the caller's image for the final pixels
    data.append(_array("uint8_t", f"lut{i}", layer.table))
    n = int(np.prod(layer.shape_in))
    dst = "image" if layer.pixels else f"buf_{cur}"
    return f"    apply_table(buf_{cur}, {n}, lut{i}, {dst});\n", 256, None


def _weight_arrays(tag: str, layer: LinearLayer, data: list[str]) -> int:
    """w{tag}, b{tag} and m{tag}: a layer's int8 weights, int32 biases and float multipliers; their bytes."""
    multiplier = layer.requant.multiplier
    data.append(_array("int8_t", f"w{tag}", layer.weight))
    data.append(_array("int32_t", f"b{tag}", layer.bias))
    data.append(
        f"static const float m{tag}[{multiplier.size}] = {{\n    " + ", ".join(_float(v) for v in multiplier) + "\n};\n"
    )
    return layer.weight.size + 4 * layer.bias.size + 4 * multiplier.size


def _conv_call(tag: str, layer: ConvLayer, src: str, dst: str) -> str:
    c, h, w = layer.shape_in
    co, kh, kw = layer.weight.shape[0], layer.weight.shape[2], layer.weight.shape[3]
    (pt, pl, _, _), (sh, sw) = layer.pads, layer.strides
    oh, ow = layer.shape_out[1:]
    return (
        f"    conv2d({src}, {c}, {h}, {w}, w{tag}, b{tag}, {co}, {kh}, {kw}, {pt}, {pl}, {sh}, {sw}, {oh}, {ow},\n"
        f"           {layer.x_zp}, m{tag}, {layer.requant.y_zp}, {dst});\n"
    )


def _header(low: Lowered, model_name: str, flash: int, sram: int, image_size: int, phases: bool) -> str:
    c, h, w = low.image_shape
    scratch = ",\n *         one phase's output" if phases else ""
    classes = low.num_classes
    return f"""/* {HEADER}: {model_name}, generated by gantool. Plain C99, no allocation, no OS calls.
 *
 * Memory: {flash} bytes of const data (flash: weights, biases, tables) + the code;
 *         {sram} bytes of static buffers (SRAM: two activation buffers, one plane of int32 sums{scratch})
 *         + about {STACK_BYTES} bytes of stack.
 * Work:   {low.macs} multiply-accumulates per image.
 *
 * gantool_generate(seed, label, image) draws the latent from the seed exactly as gantool's seeded
 * files do, so a seed and label give the same digit here as in Python, Node.js and the browser.
 * Not reentrant (static buffers): call it from one thread at a time. Compile with C99 and
 * -ffp-contract=off (no fused multiply-add in the latent's arithmetic), link libm.
 */
#ifndef GANTOOL_GENERATOR_H
#define GANTOOL_GENERATOR_H

#include <stdint.h>

#define GANTOOL_IMAGE_SIZE   {image_size}  /* {c} x {h} x {w} uint8 pixels, row-major */
#define GANTOOL_IMAGE_HEIGHT {h}
#define GANTOOL_IMAGE_WIDTH  {w}
#define GANTOOL_NUM_CLASSES  {classes}  /* labels 0..{max(classes - 1, 0)}; 0: unconditional, pass GANTOOL_NO_LABEL */
#define GANTOOL_LATENT_DIM   {low.latent_dim}
#define GANTOOL_FLASH_BYTES  {flash}
#define GANTOOL_SRAM_BYTES   {sram}
#define GANTOOL_NO_LABEL     (-1)

#define GANTOOL_OK           0
#define GANTOOL_BAD_LABEL    (-1)  /* label outside 0..GANTOOL_NUM_CLASSES-1 (or a label for an unconditional model) */
#define GANTOOL_BAD_LATENT   (-2)  /* a latent value that is NaN or infinite */

#ifdef __cplusplus
extern "C" {{
#endif

/* One image for a seed (any int64; negative seeds wrap as in gantool). 0 = ok, < 0 = bad argument
 * (then image is not written). */
int gantool_generate(int64_t seed, int32_t label, uint8_t image[GANTOOL_IMAGE_SIZE]);

/* One image for your own latent z (GANTOOL_LATENT_DIM floats), as Sampler.generate does. */
int gantool_generate_latent(const float z[GANTOOL_LATENT_DIM], int32_t label, uint8_t image[GANTOOL_IMAGE_SIZE]);

#ifdef __cplusplus
}}
#endif

#endif /* GANTOOL_GENERATOR_H */
"""


def _latent_code(d: int) -> str:
    return f"""
/* ---- the seeded latent (gantool/runtime/seeded.py): 31-bit integer hashes, Box-Muller in double ---- */
#define M31 {M31}LL

static int64_t mix(int64_t x)
{{
    x ^= x >> 16;
    x = (x * {MUL1}LL) & M31;
    x ^= x >> 15;
    x = (x * {MUL2}LL) & M31;
    return x ^ (x >> 16);
}}

static void seeded_latent(int64_t seed, float z[GANTOOL_LATENT_DIM])
{{
    const int64_t s = seed & INT64_MAX;
    const int64_t key = mix((s & M31) ^ mix(((s >> 31) & M31) ^ mix(s >> 62)));
    int j;
    for (j = 0; j < GANTOOL_LATENT_DIM; ++j) {{
        const int64_t x1 = mix(key ^ (((int64_t)j + 1) * {GOLDEN}LL & M31));
        const int64_t x2 = mix(key ^ (((int64_t)j + 1 + GANTOOL_LATENT_DIM) * {GOLDEN}LL & M31));
        const double u1 = ((double)x1 + 0.5) * {1.0 / 2**31!r};
        const double u2 = ((double)x2 + 0.5) * {1.0 / 2**31!r};
        z[j] = (float)(sqrt(log(u1) * -2.0) * cos(u2 * {2.0 * math.pi!r}));
    }}
}}
"""


def _entry(low: Lowered, calls: list[str]) -> str:
    if low.num_classes:
        check = "    if (label < 0 || label >= GANTOOL_NUM_CLASSES) return GANTOOL_BAD_LABEL;\n"
    else:
        check = "    if (label != GANTOOL_NO_LABEL) return GANTOOL_BAD_LABEL;\n"
    return f"""
int gantool_generate_latent(const float z[GANTOOL_LATENT_DIM], int32_t label, uint8_t image[GANTOOL_IMAGE_SIZE])
{{
    int j;
{check}    for (j = 0; j < GANTOOL_LATENT_DIM; ++j)
        if (!(z[j] - z[j] == 0.0f)) return GANTOOL_BAD_LATENT; /* NaN or infinite */
{"".join(calls)}    return GANTOOL_OK;
}}

int gantool_generate(int64_t seed, int32_t label, uint8_t image[GANTOOL_IMAGE_SIZE])
{{
    float z[GANTOOL_LATENT_DIM];
{check}    seeded_latent(seed, z);
    return gantool_generate_latent(z, label, image);
}}
"""
