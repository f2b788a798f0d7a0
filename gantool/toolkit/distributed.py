"""torchrun / DDP plumbing: `torchrun --nproc_per_node=N -m gantool train …`.

Each rank trains on its shard of every epoch's permutation; rank 0 alone
writes the run directory. gloo on CPU, nccl on CUDA.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_distributed(device_name: str) -> DistInfo:
    """Join the process group that torchrun set up in the environment (no-op otherwise)."""
    if not launched_by_torchrun():
        return DistInfo()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() and device_name in ("auto", "cuda") or device_name.startswith("cuda")
    if not dist.is_initialized():
        if use_cuda:
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size(), local_rank)


def shutdown_distributed(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def any_rank(flag: bool, info: DistInfo) -> bool:
    """True on every rank if `flag` is true on any rank (so all stop together)."""
    if not info.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def no_sync(module: torch.nn.Module):
    """DDP's gradient-accumulation context (skip the all-reduce), or a no-op."""
    sync_off = getattr(module, "no_sync", None)  # DistributedDataParallel's
    return sync_off() if sync_off is not None else contextlib.nullcontext()


def launch(nproc: int, argv: list[str]) -> int:
    """`gantool train --nproc N …`: torchrun's launcher run in this process, so that Ctrl-C ends as it does
    in one process: each rank checkpoints, rank 0 says so on one line, the exit status is the ranks' own
    (130 for SIGINT), and the launcher adds no traceback (torchrun's own main prints its SignalException
    and the ranks' failure summary). One machine (--standalone rendezvous on localhost)."""
    import logging
    import signal

    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    for name in list(logging.root.manager.loggerDict):  # elastic's loggers set their own levels: each one
        if name.startswith("torch.distributed"):
            logging.getLogger(name).setLevel(logging.ERROR)  # its notes ("Received 2 death signal") are not gantool's
    args = torchrun.parse_args(["--standalone", f"--nproc-per-node={nproc}", "-m", "gantool", "train", *argv])
    try:
        torchrun.run(args)
    except SignalException as e:
        return 128 + int(e.sigval)
    except ChildFailedError as e:  # the ranks said what went wrong; their exit status is the answer
        codes = [f.exitcode for f in e.failures.values() if f.exitcode not in (None, 0)]
        return codes[0] if codes and codes[0] > 0 else 128 + int(signal.SIGTERM)
    return 0
