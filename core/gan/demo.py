"""The shipped demo runs (``dashboard/demo_runs``): one DCGAN and one WGAN trained on the built-in
digits at 32 px on the CPU, small enough to rebuild in a few minutes on two cores; and (``--i2i``)
the image-to-image lab's comparison of :data:`core.models.training.i2i_demo.I2I_DEMO_RUNS`. Any
trainer's settings can be built here (:func:`core.gan.jobs.trainer_for` picks the trainer).

Both use the papers' optimiser settings (see :mod:`core.gan.train`) with narrow networks so CPU
training is quick (DCGAN: G 32 / D 16 feature maps at the outer layers; WGAN: 16 / 16); the WGAN
gets more generator steps because it learns at lr 5e-5 (each of its steps also makes 5 critic
updates). Frames hold the default 25 fixed-noise samples (5 x 5 grid, about 60 kB per PNG), as
every new run does; the quality curve uses 128 generated vs 128 training images per snapshot
(instead of the default 256) to keep the build short.
The two runs train at the same time in two threads with one intra-op thread each (tiny networks
run faster that way than with several threads per run). ``checkpoint.pt`` (and an image-to-image run's
exported model, 2 MB) is removed from the shipped runs (they are for viewing;
``--keep-checkpoints`` keeps them).
"""

from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

from core.gan import runs
from core.gan.config import TrainConfig
from core.gan.jobs import trainer_for
from core.runtime.progress import Progress, null_progress

DEMO_RUNS: dict[str, TrainConfig] = {
    "dcgan-digits": TrainConfig(
        model="dcgan",
        data="builtin",
        size=32,
        steps=800,
        snapshot_every=40,
        batch_size=64,
        seed=0,
        ngf=32,
        ndf=16,
        quality_n=128,
    ),
    "wgan-digits": TrainConfig(
        model="wgan",
        data="builtin",
        size=32,
        steps=1200,
        snapshot_every=60,
        batch_size=64,
        seed=0,
        ngf=16,
        ndf=16,
        quality_n=128,
    ),
}


class _Staged:
    """Prefix each progress stage with the run name so the bars are told apart."""

    def __init__(self, name: str, progress: Progress) -> None:
        self.name, self.progress = name, progress

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        self.progress(f"{self.name} {stage}", done, total)


def _build(name: str, config: Any, out: Path, device: str, keep_checkpoints: bool, progress: Progress) -> Any:
    run_dir = out / name
    tmp = out / f".{name}.building"  # built aside, so a failed rebuild keeps the old run
    shutil.rmtree(tmp, ignore_errors=True)
    t0 = time.perf_counter()
    result = trainer_for(config)(config, tmp, device=device, progress=_Staged(name, progress))
    if not keep_checkpoints:
        (tmp / runs.CHECKPOINT).unlink(missing_ok=True)
        for path in getattr(result, "exported", []):
            Path(tmp / Path(path).name).unlink(missing_ok=True)
    shutil.rmtree(run_dir, ignore_errors=True)
    tmp.rename(run_dir)
    result.run_dir = run_dir
    result.seconds = time.perf_counter() - t0
    return result


def make_demo_runs(
    out: str | os.PathLike,
    *,
    device: str = "cpu",
    keep_checkpoints: bool = False,
    progress: Progress = null_progress,
    configs: dict[str, Any] | None = None,
    parallel: bool = True,
) -> list[Any]:
    """(Re)build the demo runs under ``out`` (``configs``: name -> any trainer's settings; default
    the GAN demo runs); existing runs of the same names are replaced."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    items = list((configs or DEMO_RUNS).items())
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        if not parallel:
            return [_build(n, c, out, device, keep_checkpoints, progress) for n, c in items]
        with ThreadPoolExecutor(max_workers=len(items)) as pool:
            futures = [pool.submit(_build, n, c, out, device, keep_checkpoints, progress) for n, c in items]
            return [f.result() for f in futures]
    finally:
        torch.set_num_threads(threads)
