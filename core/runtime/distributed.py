"""The process group of a run launched by ``torchrun`` (PyTorch's ``torch.distributed.run``):
which rank this process is, which device it uses, and the two collectives the sharded feature
pass needs (broadcast a text from rank 0; sum float64 arrays over all ranks).

``torchrun`` starts one process per device and tells each, through the environment, its
``RANK`` (0 .. WORLD_SIZE-1 over all nodes), ``LOCAL_RANK`` (on its node), ``WORLD_SIZE`` and the
rendezvous address (``MASTER_ADDR``/``MASTER_PORT``); ``init_process_group("env://")`` reads
them (PyTorch docs, "Distributed communication package", env:// initialisation). Each rank takes
``cuda:LOCAL_RANK`` with the NCCL backend when CUDA is present, else the CPU with Gloo.
A process started without those variables is a group of one: nothing is initialised and the
collectives return their input, so the same code runs alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np
import torch
import torch.distributed as dist

__all__ = ["Group", "process_group"]


@dataclass(frozen=True)
class Group:
    """This process's place in the run: ``rank`` of ``world``, ``local_rank`` on its node, the
    ``device`` it computes on and whether a torch.distributed group is active."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    active: bool = False

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def _comm_device(self) -> torch.device:
        return self.device if self.device.type == "cuda" else torch.device("cpu")

    def broadcast_text(self, text: str | None) -> str:
        """Rank 0's ``text`` on every rank (others pass None)."""
        if not self.active:
            return text or ""
        box = [text if self.is_main else None]
        dist.broadcast_object_list(box, src=0, device=self._comm_device())
        return box[0] or ""

    def sum_float64(self, *arrays: np.ndarray) -> list[np.ndarray]:
        """Each array summed elementwise over all ranks, in float64 (one all-reduce per array)."""
        if not self.active:
            return [np.asarray(a, dtype=np.float64).copy() for a in arrays]
        out = []
        for a in arrays:
            t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64)).to(self._comm_device())
            dist.all_reduce(t, op=dist.ReduceOp.SUM)
            out.append(t.cpu().numpy())
        return out

    def barrier(self) -> None:
        if self.active:
            if self.device.type == "cuda":
                dist.barrier(device_ids=[self.device.index or 0])
            else:
                dist.barrier()


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} is not an integer") from None


@contextmanager
def process_group(device: str = "auto", timeout_s: float = 1800.0) -> Iterator[Group]:
    """The :class:`Group` of this process, initialised from torchrun's environment for the block
    and destroyed after it. ``device``: ``auto`` (``cuda:LOCAL_RANK`` when CUDA is present, else
    the CPU), ``cpu``, or ``cuda`` (each rank its local GPU)."""
    from core.runtime.device import resolve_device

    rank, world, local = _env_int("RANK", 0), _env_int("WORLD_SIZE", 1), _env_int("LOCAL_RANK", 0)
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"RANK={rank} and WORLD_SIZE={world} do not describe a process of a group")
    want = (device or "auto").strip().lower()
    if want in ("auto", "cuda") and torch.cuda.is_available():
        dev = torch.device("cuda", local % torch.cuda.device_count())
        torch.cuda.set_device(dev)
    elif want == "auto":
        dev = torch.device("cpu")
    else:
        dev = resolve_device(want)
    if world == 1:
        yield Group(0, 1, 0, dev, False)
        return
    backend = "nccl" if dev.type == "cuda" else "gloo"
    dist.init_process_group(backend, init_method="env://", timeout=timedelta(seconds=timeout_s))
    try:
        yield Group(rank, world, local, dev, True)
    finally:
        dist.destroy_process_group()
