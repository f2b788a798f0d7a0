"""`gantool generate --engine ray`: the data set's shards on Ray Data, an actor pool of Samplers.

Each actor opens the model once and runs ShardJob.run for the shard indices it is handed, writing
its parts into the output folder itself (a local cluster, or a folder every node sees at the same
path); the driver records each finished shard in the manifest as results stream back. Ray Data
restarts a killed actor and retries its task (max_restarts / max_task_retries -1 for actor pools), and
a shard's bytes depend on its index alone, so a retried shard writes the same bytes again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from gantool.core.errors import GantoolError
from gantool.scale.dataset import Part, ShardJob, model_facts, open_sampler
from gantool.scale.ray_start import quiet_loggers, ray_cluster


class ShardWorker:
    """A Ray Data actor: one Sampler, any number of shards."""

    def __init__(self, job: ShardJob, model: Optional[str], size: Optional[str], threads: Optional[int]) -> None:
        self.job, self.sampler = job, open_sampler(model, size, threads)
        if model_facts(self.sampler, size).sha256 != job.model.sha256:  # another file at that path on this node
            raise GantoolError(f"the model on node {os.uname().nodename} differs from the driver's")

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        records = [json.dumps([vars(p) for p in self.job.run(self.sampler, int(k))]) for k in batch["shard"]]
        return {"shard": batch["shard"], "parts": np.array(records, dtype=object)}


def actor_cpus(cluster_cpus: float, workers: int) -> float:
    """CPUs reserved per actor: at most 1, and never so many that the actors take every CPU (Ray Data's
    own tasks then wait for a CPU no actor gives back: 2 actors at 1 CPU hung a 2-CPU cluster)."""
    return max(0.05, min(1.0, (cluster_cpus - 0.5) / workers))


def run_on_ray(
    job: ShardJob,
    pending: list[int],
    done: Callable[[int, list[Part]], None],
    model: Optional[str | Path],
    size: Optional[str],
    workers: int,
    threads: Optional[int],
    address: Optional[str],
) -> None:
    model_arg = str(Path(model).resolve()) if model is not None else None
    with ray_cluster(address) as ray:
        os.environ["RAY_DATA_DISABLE_PROGRESS_BARS"] = "1"  # gantool draws its own
        import ray.data

        quiet_loggers("ray.data")  # Ray Data sets its loggers' levels when first imported
        ray.data.DataContext.get_current().print_on_execution_start = False
        cpus = float(ray.cluster_resources().get("CPU", 1))
        per_thread = threads or max(1, int(cpus // workers)) if address is None else threads
        ds = ray.data.from_items([{"shard": k} for k in pending], override_num_blocks=len(pending))
        ds = ds.map_batches(
            ShardWorker,
            fn_constructor_args=(job, model_arg, size, per_thread),
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=workers),
            num_cpus=actor_cpus(cpus, workers),
        )
        for row in ds.iter_rows():
            parts = [Part(**p) for p in json.loads(row["parts"])]
            done(int(row["shard"]), parts)
