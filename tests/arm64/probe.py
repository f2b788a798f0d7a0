"""Runs inside the ARM64 root (qemu-user): gantool's torch-free runtime on the files of an x86 export
and on the bundled models, for the seeds and latents the host chose; writes what it got.

    python3 probe.py JOB.json OUT.npz

JOB.json: {"files": [{"path": ..., "seeds": [...], "labels": [...] | null, "latents": NPY | null}],
"bundled": [{"size": ..., "seeds": [...], "labels": [...]}], "latent_seeds": [...], "latent_dim": D,
"latent_graph": ONNX}. Output keys: "file:<name>", "bundled:<size>", "latents" (the seeded latents numpy
computes here), "graph_latents" (the same from the seeded files' in-graph sampler on onnxruntime),
plus "platform".
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import numpy as np


def main(job_path: str, out_path: str) -> None:
    from gantool.runtime import Sampler
    from gantool.runtime.seeded import seeded_latents

    job = json.loads(Path(job_path).read_text())
    out = {"platform": np.array(f"{platform.machine()} {platform.python_version()}")}
    for item in job["files"]:
        sampler = Sampler(item["path"], threads=1)
        labels = item.get("labels")
        if sampler.seeded:
            pixels = sampler.sample_seeds(item["seeds"], labels)
        else:
            pixels = sampler.generate(np.load(item["latents"]), labels)
        out[f"file:{Path(item['path']).name}"] = pixels
    for item in job["bundled"]:
        out[f"bundled:{item['size']}"] = Sampler.bundled(item["size"], threads=1).sample_seeds(
            item["seeds"], item["labels"]
        )
    seeds = np.array(job["latent_seeds"], dtype=np.int64)
    out["latents"] = seeded_latents(seeds, job["latent_dim"])
    from gantool.runtime.session import open_session  # the seeded files' in-graph sampler alone, on onnxruntime

    session = open_session(job["latent_graph"], threads=1)
    out["graph_latents"] = session.run(None, {"seed": seeds, "truncation": np.zeros(1, np.float32)})[0]
    np.savez(out_path, **out)
    print(f"probe: {out['platform']}: {len(out) - 2} outputs")


if __name__ == "__main__":
    main(*sys.argv[1:3])
