"""`gantool generate`: a labelled data set from any model gantool opens, streamed in shards.

    from gantool.scale.configs import GenerateConfig
    from gantool.scale.generate import generate
    result = generate(GenerateConfig(n=60_000, seed=0), out="synthetic")   # the bundled model

Memory stays bounded (one 256-image call for IDX, one shard for npz) whatever n is. A rerun of the same command
re-hashes the finished shards and makes only the missing or damaged ones; the engines (one process
here, Ray Data in ray_engine) run the same ShardJob, so they write the same bytes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from gantool.core.console import Progress
from gantool.core.errors import GantoolError
from gantool.core.fileio import dir_lock, remove_stale_temps, sha256_file, user_path
from gantool.scale.configs import GenerateConfig
from gantool.scale.dataset import (
    MANIFEST,
    Manifest,
    Part,
    ShardJob,
    finish_idx,
    foreign_entries,
    model_facts,
    open_sampler,
    parse_parts,
    prepare_idx,
    read_manifest,
    save_manifest,
    verify_parts,
)

ENGINES = ("local", "ray")
OnDone = Callable[[int, list[Part]], None]


class GenerateInterrupted(KeyboardInterrupt):
    """Ctrl-C during generation: the finished shards are recorded; the same command finishes the rest."""

    def __init__(self, out: Path, done: int, total: int) -> None:
        super().__init__(
            f"interrupted: {done} of {total} shard(s) are written and recorded in {out / MANIFEST}; "
            "run the same command to finish"
        )


@dataclass(frozen=True)
class GenerateResult:
    out: Path
    images: int
    made: int  # shards made by this run
    kept: int  # shards verified from an earlier run
    seconds: float
    files: dict[str, str]  # the data set's files -> SHA-256
    engine: str
    made_images: int = 0  # images in the shards made by this run

    def summary(self) -> str:
        rate = f", {self.made_images / max(self.seconds, 1e-9):,.0f} images/s" if self.made_images else ""
        kept = f", {self.kept} kept from an earlier run" if self.kept else ""
        return (
            f"wrote {self.images:,} images to {self.out}/ ({len(self.files)} file(s), {self.made} shard(s) made"
            f"{kept}) in {self.seconds:.1f} s{rate} [{self.engine}]; manifest: {self.out / MANIFEST}"
        )


def generate(
    config: GenerateConfig,
    out: str | Path,
    model: Optional[str | Path] = None,
    size: Optional[str] = None,
    engine: str = "local",
    workers: int = 1,
    threads: Optional[int] = None,
    address: Optional[str] = None,
    progress: bool = True,
) -> GenerateResult:
    """Make (or finish) the data set `config` in folder `out`; see the module docstring."""
    if engine not in ENGINES:
        raise GantoolError(f"unknown --engine {engine!r:.40}; choose one of {', '.join(ENGINES)}")
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 1024:
        raise GantoolError(f"--workers must be an integer in 1..1024, got {workers!r:.40}")
    if engine == "local" and (workers != 1 or address is not None):
        raise GantoolError("--workers and --address need --engine ray (the local engine is one process)")
    out = user_path(out, "--out")
    if engine == "ray":  # before the folder is touched: a missing Ray or a silent --address is one line
        from gantool.scale.ray_start import check_address, import_ray

        import_ray()
        if address is not None:
            check_address(address)
    size = size or ("base" if model is None else None)  # no model file: the bundled one
    sampler = open_sampler(model, size, threads)
    if config.mix is not None and not sampler.conditional:
        raise GantoolError("--mix needs a conditional model; this one draws no classes")
    if config.mix is not None and len(config.mix) != sampler.num_classes:
        raise GantoolError(f"--mix has {len(config.mix)} weights for a model of {sampler.num_classes} classes")
    job = ShardJob(config, model_facts(sampler, size), str(out))
    _check_folder(out)
    with dir_lock(out, f"data set folder {str(out)!r}"):
        remove_stale_temps(out)
        if (out / "shards").is_dir():
            remove_stale_temps(out / "shards")
        manifest = _resume(job, out)
        t0 = time.perf_counter()
        pending = _pending(job, out, manifest)
        kept = config.shards - len(pending)
        if pending:
            bar = Progress(sum(_count(config, k) for k in pending), f"generate {out}", progress)

            def done(k: int, parts: list[Part]) -> None:
                manifest.shards[k] = parts
                save_manifest(out, manifest)
                bar.advance(_count(config, k))

            try:
                if engine == "ray":
                    from gantool.scale.ray_engine import run_on_ray

                    run_on_ray(job, pending, done, model, size, workers, threads, address)
                else:
                    for k in pending:
                        done(k, job.run(sampler, k))
            except KeyboardInterrupt:
                raise GenerateInterrupted(out, len(manifest.shards), config.shards) from None
            finally:
                bar.close()
        if not manifest.files:
            manifest.files = (
                finish_idx(job, out)
                if config.format == "idx"
                else {p.file: p.sha256 for k in sorted(manifest.shards) for p in manifest.shards[k]}
            )
            save_manifest(out, manifest)
        made_images = sum(_count(config, k) for k in pending)
        seconds = time.perf_counter() - t0
        return GenerateResult(out, config.n, len(pending), kept, seconds, dict(manifest.files), engine, made_images)


def _count(config: GenerateConfig, k: int) -> int:
    a, b = config.shard_range(k)
    return b - a


def _check_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise GantoolError(f"--out {str(out)!r} is a file; name a folder")
    if out.is_dir():
        foreign = foreign_entries(out)
        if foreign:
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise GantoolError(
                f"--out {str(out)!r} holds files gantool did not write ({shown}); "
                "choose an empty or new folder (nothing was changed)"
            )
        if any(out.iterdir()) and not (out / MANIFEST).is_file():
            raise GantoolError(f"--out {str(out)!r} is not empty and has no {MANIFEST}; choose an empty or new folder")
    else:
        try:
            out.mkdir(parents=True)
        except OSError as e:
            raise GantoolError(f"cannot create --out {str(out)!r} ({e.strerror or e}); choose another folder") from None


def _resume(job: ShardJob, out: Path) -> Manifest:
    """The folder's manifest for this job (made now if new); another job's folder is refused."""
    fresh = Manifest(job.config, job.model)
    if not (out / MANIFEST).is_file():
        save_manifest(out, fresh)
        return fresh
    data = read_manifest(out / MANIFEST)
    theirs = {k: data.get(k) for k in fresh.identity()}
    if theirs != fresh.identity():
        their_config = theirs["config"] if isinstance(theirs["config"], dict) else {}
        diff = [
            f"{k} {their_config.get(k)!r} (asked {v!r})"
            for k, v in fresh.identity()["config"].items()
            if their_config.get(k) != v
        ]
        what = ", ".join(diff[:3]) if diff else "another model"
        raise GantoolError(
            f"--out {str(out)!r} holds a data set made with other settings: {what}; run the same "
            "command to finish it, or choose another folder"
        )
    shards = data["shards"] if isinstance(data.get("shards"), dict) else {}
    for key, raw in shards.items():
        parts = parse_parts(raw)
        if key.isdigit() and int(key) < job.config.shards and parts is not None:
            fresh.shards[int(key)] = parts
    files = data["files"] if isinstance(data.get("files"), dict) else {}
    if files and all(
        isinstance(v, str) and (out / f).is_file() and sha256_file(out / f) == v for f, v in files.items()
    ):
        fresh.files = {str(f): v for f, v in files.items()}
    elif files:
        print(f"… {out}: a finished file failed its SHA-256; making the damaged part again", flush=True)
        if job.config.format == "idx" and job.config.gzip:  # the .gz cannot be patched: all of it again
            for f in files:
                (out / f).unlink(missing_ok=True)
            fresh.shards.clear()
        save_manifest(out, fresh)
    return fresh


def _pending(job: ShardJob, out: Path, manifest: Manifest) -> list[int]:
    """Shards to make: not recorded, or recorded but failing their hashes."""
    if manifest.files:
        return []
    if job.config.format == "idx":
        prepare_idx(job, out)
    else:
        (out / "shards").mkdir(exist_ok=True)
    pending = []
    for k in range(job.config.shards):
        parts = manifest.shards.get(k)
        if parts is not None and verify_parts(out, parts):
            continue
        if parts is not None:
            print(f"… shard {k} failed its SHA-256; making it again", flush=True)
            del manifest.shards[k]
        pending.append(k)
    return pending
