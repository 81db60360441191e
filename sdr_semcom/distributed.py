"""Data-parallel training (torch DDP) for ``sdr-semcom train inpainter|codec --nproc N``.

A trainer is written once for any world size: it asks :func:`world` who it is, draws the samples
of its :func:`shard` of each step's global batch (each sample from its own generator, seeded by
``(seed, step, sample index)``: the global batch does not depend on how many processes share it),
wraps its network with :func:`wrap` and writes files on rank 0 only. DDP averages the gradients of
equal shards, so N processes make the same update as one process with the same global batch (up to
the order of floating-point sums).

Processes come from :func:`launch`: under ``torchrun`` (``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` set) this
process is one rank; otherwise it spawns ``nproc`` ranks on this machine (torch.multiprocessing).
Backend: NCCL when there are GPUs (one a rank), gloo on CPU.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Callable

import numpy as np

TORCHRUN_VARS = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


class DistributedError(RuntimeError):
    """A rank of a spawned run failed (its last message)."""


@dataclass(frozen=True)
class World:
    """Who this process is in a training run.

    Parameters
    ----------
    rank, size : int
        Rank and world size (1: no process group).
    local_rank : int
        Rank on this machine (its GPU).
    device : str
        ``cuda:<local_rank>`` or ``cpu``.
    backend : str
        ``nccl``, ``gloo`` or ``none`` (single process).
    launcher : str
        ``none``, ``spawn`` or ``torchrun``.
    """

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    device: str = "cpu"
    backend: str = "none"
    launcher: str = "none"

    @property
    def main(self) -> bool:
        """Rank 0: the one that logs and writes files."""
        return self.rank == 0

    def to_json(self) -> dict:
        return {"world_size": self.size, "backend": self.backend, "launcher": self.launcher}


_WORLD = World()


def world() -> World:
    """This process's :class:`World` (a single process unless :func:`launch` made it a rank)."""
    return _WORLD


def under_torchrun() -> bool:
    """True when ``torchrun`` started this process (its variables are set)."""
    return all(v in os.environ for v in TORCHRUN_VARS)


def shard(global_batch: int, w: World | None = None) -> range:
    """The sample indices of this rank's part of a step's ``global_batch`` (equal parts)."""
    w = w or world()
    if global_batch % w.size:
        raise ValueError(f"--batch {global_batch} must be a multiple of the {w.size} processes (equal shards "
                         "make DDP's averaged gradient the global batch's)")
    per = global_batch // w.size
    return range(w.rank * per, (w.rank + 1) * per)


def sample_rng(seed: int, step: int, index: int) -> np.random.Generator:
    """The generator of sample ``index`` of step ``step``: the same whatever rank draws it."""
    return np.random.default_rng([seed, step, index])


def wrap(net, w: World | None = None):
    """``net`` in DistributedDataParallel when there is more than one rank, else ``net``."""
    w = w or world()
    if w.size == 1 and w.backend == "none":
        return net
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(net, device_ids=[w.local_rank] if w.device.startswith("cuda") else None)


def mean_across(values: list[float], w: World | None = None) -> list[float]:
    """``values`` averaged over the ranks (the global batch's loss when each rank gives its shard's)."""
    w = w or world()
    if w.backend == "none":
        return list(values)
    import torch
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=w.device)
    dist.all_reduce(t)
    return [float(v) / w.size for v in t.tolist()]


def loss_curve(losses: list[float], points: int = 200) -> dict:
    """A manifest's loss curve: the per-step losses up to ``points`` steps, else means over equal windows."""
    every = max(1, -(-len(losses) // points))
    vals = [float(np.mean(losses[i:i + every])) for i in range(0, len(losses), every)]
    return {"every": every, "loss": [round(v, 6) for v in vals]}


def launch(fn: Callable, nproc: int | None, *args):
    """Run ``fn(*args)`` as a training run: in this process (``nproc`` None and no torchrun), as this
    process's rank under torchrun, or in ``nproc`` spawned ranks. Returns rank 0's result (spawned:
    None; the trainer's files are its result)."""
    global _WORLD
    if under_torchrun():
        _WORLD = _init(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_RANK"]),
                       "torchrun")
        try:
            return fn(*args)
        finally:
            _finish()
    if nproc is None:
        return fn(*args)
    if nproc < 1:
        raise ValueError(f"--nproc {nproc}: give 1 or more")
    import torch
    import torch.multiprocessing as mp

    if torch.cuda.is_available() and nproc > torch.cuda.device_count():
        raise ValueError(f"--nproc {nproc}: this machine has {torch.cuda.device_count()} GPUs")
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ["MASTER_PORT"] = str(_free_port())
    try:
        mp.spawn(_rank_main, args=(nproc, fn, args), nprocs=nproc, join=True)
    except (mp.ProcessRaisedException, mp.ProcessExitedException) as exc:
        lines = [x for x in str(exc).strip().splitlines() if x.strip()]
        raise DistributedError(f"data-parallel training failed: {lines[-1] if lines else exc}") from None
    return None


def _rank_main(rank: int, nproc: int, fn: Callable, args: tuple) -> None:
    global _WORLD
    _WORLD = _init(rank, nproc, rank, "spawn")
    try:
        fn(*args)
    finally:
        _finish()


def _init(rank: int, size: int, local_rank: int, launcher: str) -> World:
    import torch
    import torch.distributed as dist

    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        device, backend = f"cuda:{local_rank}", "nccl"
    else:
        device, backend = "cpu", "gloo"
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", size)))))
    dist.init_process_group(backend, rank=rank, world_size=size)
    return World(rank, size, local_rank, device, backend, launcher)


def _finish() -> None:
    global _WORLD
    import torch.distributed as dist

    if dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    _WORLD = World()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
