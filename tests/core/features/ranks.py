"""Run the sharded feature pass in K real processes joined by torch.distributed's gloo backend on
127.0.0.1 (what ``torchrun --nproc_per_node=K`` does on a CPU machine), with the test-only fake
extractor registered in each. The rank functions live here, in an importable module, because
``torch.multiprocessing.spawn`` pickles them by name."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import torch
import torch.multiprocessing as mp

from core.features import register
from tests.reference.fake_extractor import FAKE, FAKE_ID


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(
    rank: int, world: int, port: int, source: str, out: str, kw: dict, die_after: int | None
) -> None:
    os.environ.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        OMP_NUM_THREADS="1",
    )
    torch.set_num_threads(1)
    register(FAKE)
    from core.features import sharded
    from core.runtime.distributed import process_group

    if die_after is not None and rank == world - 1:  # the last rank is killed after some shards
        original, written = sharded.write_shard, []

        def write_then_die(*args, **kwargs):
            out_ = original(*args, **kwargs)
            written.append(1)
            if len(written) >= die_after:
                os.kill(os.getpid(), signal.SIGKILL)
            return out_

        sharded.write_shard = write_then_die
    with process_group("cpu", timeout_s=60) as group:
        sharded.feature_pass(source, out, group, extractor=FAKE_ID, **kw)


def run_ranks(world: int, source: Path, out: Path, die_after: int | None = None, **kw) -> None:
    """The pass of ``source`` into ``out`` by ``world`` gloo processes (raises if one fails)."""
    mp.spawn(
        _rank_main,
        args=(world, free_port(), str(source), str(out), kw, die_after),
        nprocs=world,
        join=True,
    )
