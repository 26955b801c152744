"""Rebuilding the shipped demo models (``make demo-models``; what each is trained on is in
:mod:`core.models.demo`): both trainers run at the same time in two threads with one intra-op
thread each (tiny networks run faster so than with several threads per run) on the CPU, so the
weights come out the same on every rebuild on the same PyTorch; then each exported file is loaded
back through the normal loaders, measured (:mod:`core.models.demo.evaluate`) and written with its
manifest entry.
"""

from __future__ import annotations

import json
import platform
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from core.images.examples import SHAPES_PALETTE, SHAPES_SIZE, sklearn_photo
from core.images.samples import SAMPLE_SETS, make_shapes
from core.models.demo.evaluate import ab_check, photo_ab_check, shape_check
from core.models.demo.manifest import MANIFEST, REBUILD_COMMAND, WEIGHTS_DIR
from core.models.training.colorizer import EXPORT as COLORIZER_EXPORT
from core.models.training.colorizer import train_colorizer
from core.models.training.configs import ColorizerConfig, CycleGANConfig
from core.models.training.cyclegan import EXPORTS, train_cyclegan
from core.models.training.data import ImageDomain, resize_shorter_side
from core.models.training.run_loop import RunResult
from core.runtime.atomic import atomic_path
from core.runtime.hashing import sha256_file
from core.runtime.progress import Progress, null_progress

#: The demo translator: a small CycleGAN (the paper's losses and optimiser, a narrow generator
#: with 4 residual blocks) between procedural discs and squares in the examples' fixed palette, at
#: the examples' size (loaded at that size, so a crop is the whole image, flipped at random).
TRANSLATOR = CycleGANConfig(
    a="procedural discs on gradients (make_shapes('disc', seed=1) in SHAPES_PALETTE)",
    b="procedural squares on gradients (make_shapes('square', seed=4) in SHAPES_PALETTE)",
    size=SHAPES_SIZE,
    load_size=SHAPES_SIZE,
    steps=3000,
    batch_size=1,
    ngf=16,
    ndf=16,
    n_blocks=4,
    seed=0,
    snapshot_every=250,
)
#: Images per domain of the demo translator (the seeds of the built-in sets "shapes" and "squares").
SHAPE_IMAGES = 1000

#: The scikit-learn photos are cut into a training square (the left 427 x 427 pixels) and a
#: held-out strip (the right 213 columns); the training squares are used at three scales.
PHOTO_SPLIT = 427
PHOTO_SCALES = (96, 128, 160)
COLORIZER = ColorizerConfig(
    data="scikit-learn sample photos china.jpg and flower.jpg: the left 427 x 427 square of each, "
    f"at shorter sides {', '.join(map(str, PHOTO_SCALES))}",
    size=64,
    load_size=128,
    steps=800,
    batch_size=6,
    lr=1e-3,
    base_channels=16,
    depth=3,
    seed=0,
    snapshot_every=100,
)

#: What each shipped file is, by demo name: (run, exported file of the run, description, trained on).
DEMO_FILES: dict[str, tuple[str, str, str, str]] = {
    "demo_discs2squares": (
        "translator",
        EXPORTS["G_A"],
        "discs -> squares (a small CycleGAN, trained in GAN Lens)",
        "drawings of amber discs and squares on blue-green gradients, like the example pictures (unpaired)",
    ),
    "demo_squares2discs": (
        "translator",
        EXPORTS["G_B"],
        "squares -> discs (a small CycleGAN, trained in GAN Lens)",
        "drawings of amber discs and squares on blue-green gradients, like the example pictures (unpaired)",
    ),
    "demo_colorizer": (
        "colorizer",
        COLORIZER_EXPORT,
        "small color U-Net trained on two photos only (china.jpg, flower.jpg)",
        COLORIZER.data,
    ),
}


@dataclass
class DemoReport:
    """What a rebuild did: the manifest written, the two runs and the wall time."""

    manifest: dict[str, Any]
    runs: dict[str, RunResult] = field(default_factory=dict)
    seconds: float = 0.0


def shape_domains(size: int = SHAPES_SIZE, n: int = SHAPE_IMAGES) -> tuple[ImageDomain, ImageDomain]:
    """The demo translator's two domains: discs and squares in :data:`SHAPES_PALETTE`, drawn
    with the seeds of the built-in sets (independent layouts: unpaired)."""
    discs = make_shapes("disc", n, size, SAMPLE_SETS["shapes"].seed, palette=SHAPES_PALETTE)
    squares = make_shapes("square", n, size, SAMPLE_SETS["squares"].seed, palette=SHAPES_PALETTE)
    return ImageDomain(TRANSLATOR.a, list(discs)), ImageDomain(TRANSLATOR.b, list(squares))


def photo_data(load_size: int = 128) -> tuple[ImageDomain, np.ndarray, list[np.ndarray]]:
    """The demo colorizer's training images (the photos' training squares at each scale), its
    held-out crops (64 x 64 from the right strips at ``load_size`` scale, 5 per photo) and the
    whole photos."""
    photos = [sklearn_photo(name) for name in ("china.jpg", "flower.jpg")]
    train = [resize_shorter_side(p[:, :PHOTO_SPLIT], s) for p in photos for s in PHOTO_SCALES]
    crops = []
    for p in photos:
        strip = p[:, PHOTO_SPLIT:]
        scale = load_size / p.shape[0]
        width = max(64, round(strip.shape[1] * scale))
        small = np.asarray(Image.fromarray(strip).resize((width, load_size), resample=Image.BICUBIC))
        for y in np.linspace(0, small.shape[0] - 64, 5).round().astype(int):
            crops.append(small[y : y + 64, :64])
    return ImageDomain(COLORIZER.data, train), np.stack(crops), photos


def _set_threads(n: int) -> int:
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    return before


def make_demo_models(
    out: str | Path = WEIGHTS_DIR,
    *,
    device: str = "cpu",
    runs_dir: str | Path | None = None,
    progress: Progress = null_progress,
    translator: CycleGANConfig = TRANSLATOR,
    colorizer: ColorizerConfig = COLORIZER,
    parallel: bool = True,
) -> DemoReport:
    """Train both demo models, measure them and write their files and ``manifest.json`` to
    ``out``. ``runs_dir``: keep the two run folders there (else they are built in ``out/.build``
    and removed)."""
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    keep = runs_dir is not None
    base = Path(runs_dir) if keep else out / ".build"
    for name in ("translator", "colorizer"):
        shutil.rmtree(base / name, ignore_errors=True)
    photos_domain, held_crops, photos = photo_data(int(colorizer.load_size))  # type: ignore[arg-type]

    def staged(name: str) -> Progress:
        return lambda stage, done, total: progress(f"{name} {stage}", done, total)

    jobs = {
        "translator": lambda: train_cyclegan(
            translator,
            base / "translator",
            device=device,
            progress=staged("translator"),
            domains=shape_domains(translator.size),
        ),
        "colorizer": lambda: train_colorizer(
            colorizer, base / "colorizer", device=device, progress=staged("colorizer"), images=photos_domain
        ),
    }
    before = _set_threads(1)
    try:
        if parallel:
            with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
                futures = {name: pool.submit(job) for name, job in jobs.items()}
                results = {name: f.result() for name, f in futures.items()}
        else:
            results = {name: job() for name, job in jobs.items()}
        entries = [
            _ship(name, base, out, results, translator, colorizer, held_crops, photos) for name in DEMO_FILES
        ]
    finally:
        _set_threads(before)
    seconds = time.perf_counter() - t0
    manifest = {
        "models": entries,
        "built": {
            "seconds": round(seconds, 1),
            "train_seconds": {k: round(r.seconds, 1) for k, r in results.items()},
            "device": device,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
    }
    with atomic_path(out / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if not keep:
        shutil.rmtree(base, ignore_errors=True)
    return DemoReport(manifest, results, seconds)


def _ship(
    name: str,
    base: Path,
    out: Path,
    results: dict[str, RunResult],
    translator: CycleGANConfig,
    colorizer: ColorizerConfig,
    held_crops: np.ndarray,
    photos: list[np.ndarray],
) -> dict[str, Any]:
    """Copy one exported file into ``out``, load it back, measure it; its manifest entry."""
    from core.models.colorize import load_colorizer_file
    from core.models.loading import load_model_info

    run, exported, description, trained_on = DEMO_FILES[name]
    dest = out / f"{name}.pth"
    with atomic_path(dest) as tmp:
        shutil.copyfile(base / run / exported, tmp)
    config = translator if run == "translator" else colorizer
    if run == "translator":
        info = load_model_info(dest)
        source = "disc" if name == "demo_discs2squares" else "square"
        quality = shape_check(info.module, source, size=translator.size).as_dict()
        resolution = int(translator.load_size)  # type: ignore[arg-type]
    else:
        loaded = load_colorizer_file(dest)
        info = loaded.model
        quality = {
            "held_out_crops": ab_check(info.module, held_crops).as_dict(),
            "whole_photos": photo_ab_check(loaded, photos).as_dict(),
        }
        resolution = loaded.net_size
    return {
        "name": name,
        "file": dest.name,
        "arch": info.arch,
        "family": info.family,
        "description": description,
        "trained_on": trained_on,
        "steps": results[run].step,
        "seed": config.seed,
        "size": config.size,
        "resolution": resolution,
        "config": {k: v for k, v in config.to_dict().items() if k not in ("a", "b", "data")},
        "sha256": sha256_file(dest),
        "bytes": dest.stat().st_size,
        "command": REBUILD_COMMAND,
        "quality": quality,
    }
