"""The plain-C row: `gantool_generator.c` / `.h` made from the verified seeded int8 ONNX file, and
its verification (built with the host's C compiler, run for seeds, compared pixel by pixel).

The C file runs the int8 file's integer arithmetic (gantool.export.c.lower), so its pixels are
verified against that file's: the share of images that are identical and the largest difference in
8-bit levels, over `variant_samples` seeds. Budgets (`--max-flash`, `--max-sram`) are checked
before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from gantool.core.errors import GantoolError, first_line
from gantool.export.c.source import HEADER, CFiles, generate_from_onnx
from gantool.export.job import ExportJob, MakerNote, Target
from gantool.export.seeds import c_check_seeds
from gantool.export.verification.results import GateCheck, IdenticalImages, PixelErrors

MIN_IDENTICAL = 0.99  # share of seeds whose image is identical to the int8 ONNX file's
MAX_LEVELS = 2  # largest single-pixel difference allowed, in 8-bit levels


def write_bundled(size: str, out_dir: Path) -> CFiles:
    """The C pair of a bundled model (examples/mcu/generated holds nano's): `make -C examples/mcu generated`."""
    from gantool.runtime.bundled import bundled_for_size

    files = generate_from_onnx(bundled_for_size(size))
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "gantool_generator.c").write_text(files.source)
    (out_dir / HEADER).write_text(files.header)
    return files


def check_budget(files: CFiles, max_flash: Optional[int], max_sram: Optional[int]) -> None:
    if max_flash is not None and files.flash_bytes > max_flash:
        raise GantoolError(
            f"the C generator needs {files.flash_bytes:,} bytes of flash for its weights and tables, "
            f"over --max-flash {max_flash:,}; train a smaller model (gantool train --size nano)"
        )
    if max_sram is not None and files.sram_bytes > max_sram:
        raise GantoolError(
            f"the C generator needs {files.sram_bytes:,} bytes of SRAM for its buffers, over "
            f"--max-sram {max_sram:,}; train a smaller model (gantool train --size nano)"
        )


def precheck_c(generator, cfg) -> None:
    """--max-flash from the model's size, before any conversion: its weights alone (at least one int8
    byte per weight and embedding value) must fit; the exact figure is checked again once generated."""
    max_flash = cfg.c.max_flash
    if max_flash is None:
        return
    weights = sum(int(p.numel()) for p in generator.parameters() if p.dim() >= 2)
    if weights > max_flash:
        raise GantoolError(
            f"this model has {weights:,} weights, so its C generator needs at least {weights:,} bytes "
            f"of flash, over --max-flash {max_flash:,}; train a smaller model "
            "(gantool train --size nano)"
        )


def export_c(job: ExportJob, target: Target) -> MakerNote:
    """Maker: the C pair from the seeded int8 file (target.source), within the config's budgets."""
    files = generate_from_onnx(target.source_file())
    check_budget(files, job.cfg.c.max_flash, job.cfg.c.max_sram)
    target.path.write_text(files.source)
    target.path.with_name(HEADER).write_text(files.header)
    target.metadata["c_source_file"] = target.source_file().name
    return MakerNote(facts={"flash_bytes": files.flash_bytes, "sram_bytes": files.sram_bytes, "macs": files.macs})


def verify_c(kind, path: Path, source: Path, cfg) -> list[GateCheck]:
    """The host build against the seeded int8 file, seed by seed; without a C compiler, a note."""
    from gantool.artifacts import ARTIFACTS, open_backend
    from gantool.export.c.backend import host_compiler
    from gantool.runtime.generator import to_uint8
    from gantool.runtime.latents import cycle_labels

    def check(samples: int, passed: bool, **found: Any) -> GateCheck:
        return GateCheck(kind.name, path.name, kind.backends[0], samples, passed, **found)

    if host_compiler() is None:
        return [check(0, True, note="not built: no C compiler here (cc, gcc or clang)")]
    try:
        built = open_backend(kind.backends[0], path)
        onnx_file = open_backend(ARTIFACTS[kind.source].backends[0], source)
        n = cfg.variant_samples
        seeds = c_check_seeds(cfg.seed, n)
        labels = cycle_labels(n, built.num_classes) if built.conditional else None
        want = to_uint8(onnx_file.run_seeds(seeds, labels)).reshape(n, -1).astype(np.int16)
        got = to_uint8(built.run_seeds(seeds, labels)).reshape(n, -1).astype(np.int16)
    except GantoolError as e:
        return [check(0, False, error=first_line(e, 200))]
    diff = np.abs(got - want)
    identical = float((diff.max(axis=1) == 0).mean())
    worst = int(diff.max())
    passed = identical >= MIN_IDENTICAL and worst <= MAX_LEVELS
    why = (
        None
        if passed
        else f"{identical:.1%} of {n} images identical to {source.name}'s (gate {MIN_IDENTICAL:.0%}), "
        f"pixels up to {worst} levels apart (gate {MAX_LEVELS})"
    )
    mean = float(diff.mean() / 255)
    return [
        check(
            n,
            bool(passed),
            pixels=PixelErrors(mean, worst / 255, worst / 255, mean * 255),
            identical=IdenticalImages(identical, worst, MIN_IDENTICAL, MAX_LEVELS),
            why=why,
        )
    ]
