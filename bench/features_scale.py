"""Benchmark of the sharded feature pass (core/features/sharded.py): how its decode + Inception
throughput scales with the number of ranks K on this machine.

Writes ``--n`` random PNG images of ``--size`` px to a temporary folder, then runs, for each K in
``--ranks`` (default 1 and 2), ``python -m torch.distributed.run --standalone --nproc_per_node=K
-m core features SET --out DIR`` with the real TF-2015 Inception, each rank with
``cores / K`` torch threads (K=1 gets every core, as a single process would). It prints per K:

* extraction throughput: the sum over ranks of each rank's images/s while decoding and running
  Inception (what the pass reports; model loading and process start excluded), and
* end-to-end wall time of the command (start-up, model load, listing and statistics included),

and the ratios against K=1 measured in the same run. The ideal ratio is K while K is at most the
number of devices (here: CPU cores); on a shared machine other processes take cores and the ratio
is noisy, so the load average is printed before and after. Rerun on a quiet machine (or a GPU
node: each rank then uses ``cuda:LOCAL_RANK``) with the same command.

Usage: ``python -m bench.features_scale [--n 256] [--size 64] [--ranks 1 2] [--batch-size 32]``
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def make_images(folder: Path, n: int, size: int) -> None:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for i in range(n):
        # smooth random images (PNG-compressible, like photos), not pure noise
        small = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
        img = Image.fromarray(small).resize((size, size), Image.BICUBIC)
        img.save(folder / f"{i:05d}.png")


def run_pass(k: int, images: Path, out: Path, batch_size: int, threads: int) -> tuple[float, float]:
    """(extraction images/s over all ranks, wall seconds) of one K-rank pass."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONPATH=str(ROOT))
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={k}",
        "-m",
        "core",
        "features",
        str(images),
        "--out",
        str(out),
        "--batch-size",
        str(batch_size),
        "--quiet",
    ]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        sys.exit(f"K={k} failed:\n{done.stderr[-3000:]}")
    m = re.search(r"([0-9.]+) images/s \(all ranks\)", done.stdout)
    if not m:
        sys.exit(f"K={k}: no throughput in the output:\n{done.stdout}")
    return float(m.group(1)), wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=256, help="images (default 256)")
    ap.add_argument("--size", type=int, default=64, help="image side in px (default 64)")
    ap.add_argument("--ranks", type=int, nargs="+", default=[1, 2], help="values of K (default 1 2)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=1, help="runs per K; the best is kept (default 1)")
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    print(f"{args.n} images of {args.size} px, Inception (tf1), batch {args.batch_size}, {cores} CPU cores")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    results: dict[int, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="ganlens-bench-") as tmp:
        images = Path(tmp) / "images"
        make_images(images, args.n, args.size)
        for k in args.ranks:
            best = (0.0, float("inf"))
            for r in range(args.repeat):
                rate, wall = run_pass(
                    k, images, Path(tmp) / f"out-{k}-{r}", args.batch_size, max(1, cores // k)
                )
                best = (max(best[0], rate), min(best[1], wall))
            results[k] = best
            print(f"K={k}: extraction {best[0]:7.2f} images/s (all ranks)   wall {best[1]:6.1f} s")
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    base = results.get(args.ranks[0])
    if base:
        for k, (rate, wall) in results.items():
            if k == args.ranks[0]:
                continue
            print(
                f"ratio K={k}/K={args.ranks[0]}: throughput {rate / base[0]:.2f}x "
                f"(ideal {k / args.ranks[0]:.0f}x with {k} free devices), wall-time speed-up {base[1] / wall:.2f}x"
            )


if __name__ == "__main__":
    main()
