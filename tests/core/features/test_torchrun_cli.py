"""End to end on the real TF-2015 Inception: ``torchrun --nproc_per_node=2 -m core features SET
--out DIR`` (2 CPU ranks, gloo) then ``python -m core fid DIR/stats.npz B`` gives the FID of the
single-process ``python -m core fid SET B``.

Both paths run Inception one image per batch (``--batch-size 1``) and one thread per process, so
that every image's features are the same float32 numbers on both (oneDNN's convolutions round
differently with the batch size and thread count, at 1e-7 relative); what remains is the order
of float64 additions. With 6 images in 2048 dimensions the covariances are rank-deficient and the
matrix square root amplifies 1e-16 differences of their null space to about 1e-9 of the FID; the
exact 1e-10 check on well-conditioned statistics is in test_sharded.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.metrics.stats import load_stats

ROOT = Path(__file__).resolve().parents[3]


def _folder(path: Path, n: int, seed: int) -> Path:
    path.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)).save(path / f"{i:02d}.png")
    return path


def _run(args: list[str], tmp_path: Path) -> str:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", GANLENS_CACHE=str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow  # about 20 s alone, 50 s on a busy 2-core machine: three launches of Inception
def test_torchrun_two_ranks_then_fid_equals_the_single_process_fid(tmp_path) -> None:
    a, b = _folder(tmp_path / "a", 6, seed=0), _folder(tmp_path / "b", 6, seed=1)
    out = tmp_path / "feat"
    launch = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    log = _run(
        [*launch, "-m", "core", "features", str(a), "--out", str(out), "--batch-size", "1", "--quiet"],
        tmp_path,
    )
    assert "6 of 6 images in 2 shard(s) by 2 rank(s)" in log
    stats = load_stats(out / "stats.npz")
    assert stats.n == 6 and stats.mode == "tf1" and stats.version and stats.sums is not None
    fid = ["-m", "core", "fid", "--batch-size", "1", "--json"]
    sharded = json.loads(_run([*fid, str(out / "stats.npz"), str(b)], tmp_path))
    single = json.loads(_run([*fid, str(a), str(b)], tmp_path))
    assert sharded["n_a"] == single["n_a"] == 6
    assert sharded["fid"]["value"] == pytest.approx(single["fid"]["value"], rel=1e-7)
