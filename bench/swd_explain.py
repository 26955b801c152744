"""What explaining an SWD result costs (core/metrics/swd/explain.py): the wall time of
``swd(A, B, explain=ExplainSettings())`` against ``swd(A, B)`` on the same inputs in the same run,
alternating ``--repeat`` times (so both see the same drift of a shared machine), and the peak
increase of the resident set of each (sampled every 5 ms by a thread). Printed: every time, the
best of each, the ratio of the bests (the target: at most 1.2) and the run-by-run ratios. The
values of both runs are checked to be identical. On a shared, loaded machine two runs drift
apart by more than the explanation costs, so the time spent inside the explanation
(``explain_level`` and the engines' copies of the kept projections, ``TopProjections.offer``,
timed in the explained run itself) is printed too, with the ratio it implies:
total / (total - explanation).

Inputs: ``--n`` synthetic structured images per set (smooth colour fields, a disc, fine noise;
B with half the texture) at ``--size`` px. Torch uses its default thread count (printed).

Usage (from the repository root): ``python -m bench.swd_explain [--n 1024] [--size 64]
[--repeat 3] [--engine auto]``
"""

from __future__ import annotations

import argparse
import os
import threading
import time

import numpy as np
import torch
import torch.nn.functional as F

import core.metrics.swd.api as swd_api
from core.metrics.swd import compile_kernels, swd
from core.metrics.swd.explain import ExplainSettings, TopProjections

_inside = [0.0]
_explain_level = swd_api.explain_level


def _timed_explain_level(*args, **kwargs):
    t0 = time.perf_counter()
    try:
        return _explain_level(*args, **kwargs)
    finally:
        _inside[0] += time.perf_counter() - t0


_offer = TopProjections.offer


def _timed_offer(self, *args, **kwargs):
    t0 = time.perf_counter()
    try:
        return _offer(self, *args, **kwargs)
    finally:
        _inside[0] += time.perf_counter() - t0


# this script only: time the explanation's own parts
swd_api.explain_level = _timed_explain_level
TopProjections.offer = _timed_offer


def _images(n: int, size: int, seed: int, detail: float) -> np.ndarray:
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 4, 4, generator=g) * 160 + 40
    img = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    cy, cx = (torch.rand(n, 1, 1, generator=g) * size for _ in range(2))
    disc = ((yy - cy) ** 2 + (xx - cx) ** 2 < (size / 5) ** 2).float()[:, None]
    img = img + disc * 60 * detail + torch.randn(n, 3, size, size, generator=g) * 12 * detail
    return img.round().clamp(0, 255).to(torch.uint8).numpy()


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _timed(fn):
    """(result, seconds, peak RSS increase in bytes) of ``fn()``."""
    base = _rss()
    peak = [base]
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.005):
            peak[0] = max(peak[0], _rss())

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    stop.set()
    t.join()
    return out, dt, max(peak[0], _rss()) - base


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1024, help="images per set")
    p.add_argument("--size", type=int, default=64, help="image side (px)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--engine", default="auto", choices=("auto", "compiled", "torch"))
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    print(f"load average before: {os.getloadavg()}; torch threads: {torch.get_num_threads()}")
    compile_kernels()
    a = _images(args.n, args.size, 1, 1.0)
    b = _images(args.n, args.size, 2, 0.5)
    kw = dict(seed=0, device=args.device, engine=args.engine)
    plain_t, expl_t, ratios, inner = [], [], [], []
    for r in range(args.repeat):
        plain, tp, mp = _timed(lambda: swd(a, b, **kw))
        _inside[0] = 0.0
        expl, te, me = _timed(lambda: swd(a, b, explain=ExplainSettings(), **kw))
        inner.append(te / (te - _inside[0]))
        assert [lv.value for lv in plain.levels] == [lv.value for lv in expl.levels]
        plain_t.append(tp)
        expl_t.append(te)
        ratios.append(te / tp)
        print(
            f"run {r + 1}: SWD {tp:.2f} s (RSS+ {mp / 2**20:.0f} MB), "
            f"SWD+explain {te:.2f} s (RSS+ {me / 2**20:.0f} MB), ratio {te / tp:.3f}; "
            f"inside the explanation {_inside[0]:.2f} s, ratio total/(total - explanation) {inner[-1]:.3f}"
        )
    print(
        f"N = {args.n} per set at {args.size} px, engine {args.engine}: best SWD {min(plain_t):.2f} s, "
        f"best SWD+explain {min(expl_t):.2f} s, ratio of bests {min(expl_t) / min(plain_t):.3f} "
        f"(run by run: {', '.join(f'{x:.3f}' for x in ratios)}); from the time inside the explanation: "
        f"{', '.join(f'{x:.3f}' for x in inner)}"
    )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
