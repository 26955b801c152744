"""Benchmark of precision/recall/density/coverage (core/metrics/prdc.py) against a full-matrix
NumPy baseline measured in the same run.

Inputs: random float32 features, ``--dim`` (default 2048, Inception's) per row, both sets drawn
from one Gaussian (at 2048 dimensions even a small shift or scale of B separates the sets
completely and every value is 0 or 1). Each run happens in a fresh child process
(:func:`tests.memory.run_probe`) that reports its wall time and its peak RSS growth (the
kernel's high-water mark, not a sample), so both implementations are measured the same way; the
inputs, the imports and one tiny warm-up call of ours (torch's lazily loaded kernels) come
before the measurement.

1. ours, chunked (no N x N matrix; ~64 MB per distance chunk), float64, on ``--device``;
2. the baseline: what the ``prdc`` package does (clovaai/generative-evaluation-prdc), written
   in NumPy here: the three full distance matrices (A-A, B-B, B-A) in float64 at once, k-th
   neighbours by ``np.partition``, plus realism and nearest neighbours on the same matrices.

The baseline needs 3 x N² x 8 bytes (about 10 GB at N = 20,000) and does not fit the machines
this runs on, so it runs at ``--baseline-n`` (default 5,000); ours runs at that N too (for the
ratios, and the largest difference of the values) and at ``--n`` (default 20,000) alone.

Usage (from the repository root): ``python -m bench.prdc [--n 20000] [--baseline-n 5000]
[--dim 2048] [--device auto]``
"""

from __future__ import annotations

import argparse
import os

from tests.memory import run_probe

_SETUP = """
import time
import numpy as np
rng = np.random.default_rng(0)
real = rng.standard_normal(({n}, {dim}), dtype=np.float32)
fake = rng.standard_normal(({n}, {dim}), dtype=np.float32)
"""

_OURS_SETUP = """
import torch
from core.metrics.prdc import prdc
torch.set_num_threads({threads})
prdc(real[:50], fake[:50], device={device!r})  # loads torch's kernels: not counted
"""

_OURS = """
t0 = time.perf_counter()
r = prdc(real, fake, device={device!r})
if torch.cuda.is_available():
    torch.cuda.synchronize()
result = dict(seconds=time.perf_counter() - t0, values=[r.precision, r.recall, r.density, r.coverage],
              realism=r.realism[:200].tolist())
"""

_BASELINE = """
from bench.prdc import numpy_full_prdc
t0 = time.perf_counter()
v, realism = numpy_full_prdc(real, fake, 3, 5)
result = dict(seconds=time.perf_counter() - t0, values=v, realism=realism[:200].tolist())
"""


def numpy_full_prdc(real, fake, k_pr: int, k_dc: int):
    """The baseline: full float64 distance matrices as the prdc package; returns the four values
    and the realism scores."""
    import numpy as np

    x = real.astype(np.float64)
    y = fake.astype(np.float64)

    def dist(p, q):
        d2 = (p * p).sum(1)[:, None] + (q * q).sum(1)[None, :] - 2 * p @ q.T
        return np.sqrt(np.maximum(d2, 0, out=d2), out=d2)

    drr = dist(x, x)
    r_pr, r_dc = (np.partition(drr, k, axis=1)[:, k] for k in (k_pr, k_dc))
    del drr
    dff = dist(y, y)
    f_pr = np.partition(dff, k_pr, axis=1)[:, k_pr]
    del dff
    dfr = dist(y, x)
    precision = (dfr < r_pr[None]).any(1).mean()
    recall = (dfr < f_pr[:, None]).any(0).mean()
    density = (dfr < r_dc[None]).sum() / (k_dc * len(y))
    coverage = (dfr.min(0) < r_dc).mean()
    keep = r_pr <= np.median(r_pr)
    realism = (r_pr[None, keep] / dfr[:, keep]).max(1)
    return [float(precision), float(recall), float(density), float(coverage)], realism


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--baseline-n", type=int, default=5_000)
    ap.add_argument("--dim", type=int, default=2048)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()}; torch threads: {args.threads}; dim {args.dim}")

    def ours(n: int):
        return run_probe(
            _SETUP.format(n=n, dim=args.dim) + _OURS_SETUP.format(device=args.device, threads=args.threads),
            _OURS.format(device=args.device),
            timeout=3600,
        )

    nb = args.baseline_n
    base = run_probe(_SETUP.format(n=nb, dim=args.dim), _BASELINE, timeout=3600)
    small = ours(nb)
    diff = max(abs(a - b) for a, b in zip(base.result["values"], small.result["values"], strict=True))
    rdiff = max(abs(a - b) for a, b in zip(base.result["realism"], small.result["realism"], strict=True))
    print(f"N = {nb:,} per set:")
    print(
        f"  baseline (full NumPy matrices): {base.result['seconds']:8.1f} s  RSS+ {base.growth_mib:8.0f} MiB"
    )
    print(
        f"  ours (chunked):                 {small.result['seconds']:8.1f} s  RSS+ {small.growth_mib:8.0f} MiB"
    )
    print(
        f"  ratio ours / baseline: time {small.result['seconds'] / base.result['seconds']:.2f}, "
        f"memory {small.growth_mib / base.growth_mib:.3f}"
    )
    print(f"  largest difference: values {diff:.2e}, realism (first 200) {rdiff:.2e}")
    if args.n != nb:
        big = ours(args.n)
        need = 3 * args.n**2 * 8 / 2**30
        print(f"N = {args.n:,} per set (the baseline would hold {need:.1f} GiB of matrices; not run):")
        print(
            f"  ours (chunked):                 {big.result['seconds']:8.1f} s  RSS+ {big.growth_mib:8.0f} MiB"
        )
        print("  values (P, R, D, C):", ", ".join(f"{v:.4f}" for v in big.result["values"]))
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
