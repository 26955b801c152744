"""Benchmark of the SWD metric (core/metrics/swd/) against two baselines on the same inputs.

For each image size (default 1024 images at 64 px and at 128 px, synthetic structured content made
here: smooth colour fields, stripes and noise; set B is a blurred, lower-contrast variant):

1. ours on CPU (and on CUDA when available), full settings of the paper (128 descriptors per
   image, 4 x 128 directions);
2. the straightforward NumPy/SciPy implementation of NVIDIA's reference algorithm in
   ``tests/reference/swd_numpy.py`` (minibatches of 64, as the reference's API is fed);
3. koshian2/swd-pytorch, if ``--swd-pytorch DIR`` points at a folder holding its ``swd.py``
   (not on PyPI; its values are ~12x ours because it scales directions by their std, so only
   its time is compared). It runs on the same device as our CPU run.

Ours and the NumPy baseline run ``--repeat`` times (default 3), alternating, so both see the same
drift of a shared machine; reported: every wall time, the best of each, the ratio of the bests
and the run-by-run ratios, and peak memory (of the first run). Memory figures: "RSS+" is
the peak increase of the process resident set over the run, sampled every 5 ms by a thread
(covers torch and NumPy allocations alike, but misses peaks shorter than 5 ms and pages the
allocator keeps from earlier runs); for NumPy the tracemalloc peak is also shown (NumPy reports
its buffers to tracemalloc, torch does not); on CUDA ``torch.cuda.max_memory_allocated``.
Torch uses its default thread count (``torch.get_num_threads()``, printed). The machine may be
shared: the load average is printed before and after.

Usage (from the repository root): ``python -m bench.swd [--n 1024] [--sizes 64 128] [--swd-pytorch /tmp/swd_pytorch]
[--skip-numpy] [--repeat 3] [--device auto] [--memory-budget-mb 1024]``
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import threading
import time
import tracemalloc
import types
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from core.metrics.swd import SWDSettings, compile_kernels, descriptor_memory_bytes, swd
from core.runtime.device import resolve_device
from tests.reference import swd_numpy as numpy_ref


def make_set(n: int, size: int, seed: int, variant: bool) -> np.ndarray:
    """uint8 N x 3 x size x size: colour fields + oriented stripes + noise (B: blurred, flatter)."""
    g = torch.Generator().manual_seed(seed)
    out = np.empty((n, 3, size, size), np.uint8)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, size), torch.linspace(0, 1, size), indexing="ij")
    for s in range(0, n, 256):
        m = min(256, n - s)
        img = F.interpolate(
            torch.rand(m, 3, 6, 6, generator=g) * 180 + 30,
            size=(size, size),
            mode="bicubic",
            align_corners=False,
        )
        ang = torch.rand(m, 1, 1, generator=g) * np.pi
        freq = torch.rand(m, 1, 1, generator=g) * 20 + 4
        stripes = torch.sin((xx * torch.cos(ang) + yy * torch.sin(ang)) * freq * 2 * np.pi)
        img = (
            img + stripes[:, None] * (20 if variant else 35) + torch.randn(m, 3, size, size, generator=g) * 8
        )
        if variant:
            img = F.avg_pool2d(F.pad(img, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
        out[s : s + m] = img.round().clamp(0, 255).to(torch.uint8).numpy()
    return out


class PeakRSS:
    """Peak increase of VmRSS over a block, sampled every 5 ms from /proc/self/status."""

    def __enter__(self) -> PeakRSS:
        self.start = self.peak = _rss()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, _rss())

    @property
    def delta_mb(self) -> float:
        return (self.peak - self.start) / 2**20


def _rss() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def load_swd_pytorch(path: str) -> types.ModuleType:
    file = Path(path) / "swd.py" if Path(path).is_dir() else Path(path)
    if importlib.util.find_spec("torchvision") is None:  # imported by swd.py but unused there
        sys.modules.setdefault("torchvision", types.ModuleType("torchvision"))
    spec = importlib.util.spec_from_file_location("swd_pytorch_baseline", file)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def warm_up(dev: torch.device) -> float:
    """One small run first: loads the compiled CPU kernels, every variant (compiled on the very
    first use after install or a change, then cached on disk) and, on CUDA, creates the
    context. Returns its time."""
    t0 = time.perf_counter()
    if dev.type == "cpu":
        compile_kernels()
    else:
        x = make_set(8, 32, 0, variant=False)
        swd(x, x[::-1].copy(), device=dev)
        _sync(dev)
    return time.perf_counter() - t0


def run_ours(
    a: np.ndarray, b: np.ndarray, dev: torch.device, budget: float
) -> tuple[float, list[float], str]:
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    _sync(dev)
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        res = swd(ta, tb, seed=0, device=dev, memory_budget_mb=budget)
        _sync(dev)
        elapsed = time.perf_counter() - t0
    memo = f"RSS+ {mem.delta_mb:.0f} MB"
    if dev.type == "cuda":
        memo += f", cuda max allocated {torch.cuda.max_memory_allocated(dev) / 2**20:.0f} MB"
    return elapsed, [lv.value for lv in res.levels] + [res.average], memo


def run_numpy(a: np.ndarray, b: np.ndarray) -> tuple[float, list[float], str]:
    tracemalloc.start()
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        vals = numpy_ref.swd_reference(a, b, np.random.default_rng(0), minibatch=64)
        elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, vals, f"RSS+ {mem.delta_mb:.0f} MB, tracemalloc peak {peak / 2**20:.0f} MB"


def run_swd_pytorch(
    mod: types.ModuleType, a: np.ndarray, b: np.ndarray, dev: torch.device
) -> tuple[float, list[float], str]:
    ta = torch.from_numpy(a).float() / 255.0
    tb = torch.from_numpy(b).float() / 255.0
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    torch.manual_seed(0)
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        vals = mod.swd(ta, tb, device=str(dev), return_by_resolution=True)
        _sync(dev)
        elapsed = time.perf_counter() - t0
    vals = [float(v) for v in vals]
    memo = f"RSS+ {mem.delta_mb:.0f} MB"
    if dev.type == "cuda":
        memo += f", cuda max allocated {torch.cuda.max_memory_allocated(dev) / 2**20:.0f} MB"
    return elapsed, [*vals, float(np.mean(vals))], memo


def _fmt(vals: list[float]) -> str:
    return "[" + ", ".join(f"{v:.2f}" for v in vals[:-1]) + f"] avg {vals[-1]:.2f}"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1024, help="images per set")
    p.add_argument("--sizes", type=int, nargs="+", default=[64, 128], help="image sides (px)")
    p.add_argument(
        "--device", default="auto", help="device for the extra accelerated run (auto: CUDA if present)"
    )
    p.add_argument("--memory-budget-mb", type=float, default=1024)
    p.add_argument("--skip-numpy", action="store_true", help="skip the NumPy/SciPy baseline")
    p.add_argument(
        "--repeat", type=int, default=3, help="runs of ours and of the NumPy baseline (alternating)"
    )
    p.add_argument("--swd-pytorch", metavar="DIR", help="folder with koshian2/swd-pytorch's swd.py")
    args = p.parse_args(argv)

    print("load average before: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, CPU cores {os.cpu_count()}, "
        f"numpy {np.__version__}"
    )
    accel = resolve_device(args.device)
    devices = [torch.device("cpu")] + ([accel] if accel.type != "cpu" else [])
    pt_mod = None
    if args.swd_pytorch:
        try:
            pt_mod = load_swd_pytorch(args.swd_pytorch)
        except Exception as e:
            print(f"swd-pytorch not importable from {args.swd_pytorch}: {e}")
    for dev in devices:
        print(f"warm-up of ours [{dev.type}] (kernel cache load or first compile): {warm_up(dev):.2f} s")
    for size in args.sizes:
        a = make_set(args.n, size, 1, variant=False)
        b = make_set(args.n, size, 2, variant=True)
        desc_mb = 2 * descriptor_memory_bytes(args.n, size, size, SWDSettings()) / 2**20
        print(
            f"\n== {args.n} images of {size}x{size} px per set (stored descriptors, both sets: {desc_mb:.0f} MB) =="
        )
        # runs of ours and of the reference alternate, so that both see the same drift of a shared
        # machine; the best run of each is compared (as timeit does), every run is printed
        runs: dict[str, list[tuple[float, list[float], str]]] = {}
        for _ in range(args.repeat):
            for dev in devices:
                runs.setdefault(dev.type, []).append(run_ours(a, b, dev, args.memory_budget_mb))
            if not args.skip_numpy:
                runs.setdefault("numpy", []).append(run_numpy(a, b))
        best = {k: min(t for t, _, _ in v) for k, v in runs.items()}
        for k, v in runs.items():
            label = "numpy/scipy reference" if k == "numpy" else f"ours [{k}]       "
            times = " ".join(f"{t:.2f}" for t, _, _ in v)
            print(
                f"{label} {best[k]:8.2f} s (best of {len(v)}: {times})   {v[0][2]}   SWDx1e3 {_fmt(v[0][1])}"
            )
        ours = {dev.type: best[dev.type] for dev in devices}
        if "numpy" in best:
            for k, v in ours.items():
                print(
                    f"  speed-up of ours [{k}] over numpy: x{best['numpy'] / v:.2f} (best runs); "
                    f"run by run: {' '.join(f'x{tn / to:.2f}' for (tn, _, _), (to, _, _) in zip(runs['numpy'], runs[k], strict=False))}"
                )
        if pt_mod is not None:
            for dev in devices:
                try:
                    t, vals, memo = run_swd_pytorch(pt_mod, a, b, dev)
                except Exception as e:
                    print(f"swd-pytorch [{dev.type}] failed: {e}")
                    continue
                print(
                    f"swd-pytorch [{dev.type}] {t:8.2f} s   {memo}   its values (~12x, not comparable) {_fmt(vals)}"
                )
                print(f"  speed-up of ours [{dev.type}] over swd-pytorch: x{t / ours[dev.type]:.2f}")
    print("\nload average after: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
