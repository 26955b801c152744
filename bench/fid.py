"""Benchmark of the FID engine (core/metrics): feature-extraction throughput and Fréchet distance.

1. Bare model: images/s of the TF-2015 Inception on a pre-made float32 299x299 batch.
2. Full pipeline: images/s of ``extract_features`` on uint8 images of ``--size`` px (resize to 299
   in a background thread, overlapping the model), with the same batch size; the ratio
   pipeline/bare should be at least 0.85 (pipeline within 15% of the bare model).
3. Fréchet distance at d=2048 on random PSD covariances: our float64 eigen-decomposition versus
   TTUR's ``scipy.linalg.sqrtm(S1 @ S2)`` (and the agreement of the two values).

Timings on a shared machine are noisy (BLAS threads suffer badly from oversubscription), so the
load average is printed before and after.

Usage: ``python bench/fid.py [--n 128] [--batch-size 32] [--size 256] [--mode tf1] [--device auto]``
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import scipy.linalg
import torch

from core.features import extract_features, get_extractor, run_extractor
from core.metrics.fid import frechet_distance
from core.runtime.device import resolve_device


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def bench_model(n: int, batch_size: int, size: int, mode: str, device: str) -> tuple[float, float]:
    dev = resolve_device(device)
    inception = get_extractor("inception")
    model = inception.load(dev)
    x = torch.rand(batch_size, 3, 299, 299, device=dev) * 2 - 1
    run_extractor(inception, model, x[:2])  # warm-up
    _sync(dev)
    n_batches = max(1, n // batch_size)
    t0 = time.perf_counter()
    for _ in range(n_batches):
        run_extractor(inception, model, x)
    _sync(dev)
    bare = n_batches * batch_size / (time.perf_counter() - t0)

    g = torch.Generator().manual_seed(0)
    images = [
        torch.randint(0, 256, (batch_size, 3, size, size), dtype=torch.uint8, generator=g)
        for _ in range(n_batches)
    ]
    t0 = time.perf_counter()
    feats = extract_features(images, mode=mode, device=dev, batch_size=batch_size)
    _sync(dev)
    pipe = feats.shape[0] / (time.perf_counter() - t0)
    return bare, pipe


def bench_frechet(d: int, with_sqrtm: bool, repeat: int = 3) -> None:
    rng = np.random.default_rng(0)

    def psd() -> np.ndarray:
        a = rng.standard_normal((d, d)) / np.sqrt(d)
        return a @ a.T + 1e-3 * np.eye(d)

    s1, s2 = psd(), psd()
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        ours = frechet_distance(mu1, s1, mu2, s2)
        times.append(time.perf_counter() - t0)
    t_ours = min(times)
    print(f"Fréchet distance d={d}: ours (eigh) {t_ours:.2f} s (best of {repeat})  value {ours:.6f}")
    if with_sqrtm:
        t0 = time.perf_counter()
        covmean = np.real(scipy.linalg.sqrtm(s1 @ s2))
        diff = mu1 - mu2
        ref = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))
        t_ref = time.perf_counter() - t0
        print(
            f"Fréchet distance d={d}: scipy.linalg.sqrtm {t_ref:.2f} s  value {ref:.6f}  "
            f"(speed-up x{t_ref / t_ours:.1f}, rel. diff {abs(ours - ref) / abs(ref):.2e})"
        )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=128, help="images per throughput measurement")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--size", type=int, default=256, help="side of the uint8 input images (px)")
    p.add_argument("--mode", choices=("tf1", "clean"), default="tf1")
    p.add_argument("--device", default="auto")
    p.add_argument("--dim", type=int, default=2048, help="dimension for the Fréchet timing")
    p.add_argument("--no-sqrtm", action="store_true", help="skip the scipy sqrtm comparison")
    args = p.parse_args(argv)

    dev = resolve_device(args.device)
    print("load average before: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))
    print(
        f"device {dev}, torch threads {torch.get_num_threads()}, batch {args.batch_size}, "
        f"{args.n} images of {args.size}x{args.size} px, resize mode {args.mode}"
    )
    bare, pipe = bench_model(args.n, args.batch_size, args.size, args.mode, args.device)
    print(f"bare model (299x299 float input): {bare:8.2f} images/s")
    print(f"full pipeline (uint8 {args.size} px -> resize -> model): {pipe:8.2f} images/s")
    print(f"pipeline / bare = {pipe / bare:.3f} (target >= 0.85)")
    bench_frechet(args.dim, not args.no_sqrtm)
    print("load average after: " + " ".join(f"{v:.2f}" for v in os.getloadavg()))


if __name__ == "__main__":
    main()
