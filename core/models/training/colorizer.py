"""Train the GAN Lens colorization U-Net (:class:`core.models.networks.color_unet.ColorUNet`,
registry entry ``color_unet``) on any image folder: L -> ab regression with an L1 loss and Adam.

Data: every readable image of the folder (recursive, bad files skipped and reported) is loaded
once and downscaled (PIL bicubic) so that its shorter side equals ``size``; each epoch visits the
images in a seeded random order, taking a random ``size x size`` crop and a random horizontal
flip. Images are converted to CIE Lab (:mod:`core.models.lab`); the network sees L and predicts
ab. The loss is ``mean |ab_pred - ab| / 110`` (L1 on the reference's ab normalisation).

Checkpoint (a plain dict, loadable with ``torch.load(..., weights_only=True)``)::

    {"arch": "color_unet", "config": {"base_channels": .., "depth": ..}, "state_dict": {...},
     "optimizer": {...}, "step": int, "epoch": int, "batch_in_epoch": int, "size": int,
     "batch_size": int, "lr": float, "seed": int, "losses": [float, ...], "format_version": 1}

It is written atomically at the end of every epoch and when training stops. With ``resume=True``
and an existing checkpoint, training continues from its step, epoch and position inside the epoch
(the per-epoch order and crops are seeded, so a resumed run sees the same batches). A sample grid
PNG (rows: gray input | prediction | original) of up to four images is written next to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from core.images.batches import as_uint8_nchw
from core.models.lab import lab_to_rgb, rgb_to_lab
from core.models.networks.colorization import AB_NORM
from core.models.registry import get_architecture
from core.runtime.atomic import atomic_path
from core.runtime.device import resolve_device
from core.runtime.progress import Progress, null_progress

#: The registry entry trained here; its name is the checkpoint's ``"arch"``.
ARCH = get_architecture("color_unet")

FORMAT_VERSION = 1
SAMPLE_COUNT = 4
DEFAULT_LR = 1e-3


@dataclass
class TrainColorizerResult:
    """What a training run did and wrote."""

    checkpoint: Path
    samples: Path
    config: dict[str, int]
    size: int
    start_step: int
    step: int
    epoch: int
    losses: list[float] = field(default_factory=list)  # this run's per-step losses
    n_images: int = 0
    skipped: list[str] = field(default_factory=list)
    resumed: bool = False


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


def resize_shorter_side(rgb: np.ndarray, size: int) -> np.ndarray:
    """Resize (PIL bicubic) so the shorter side is ``size``, keeping the aspect ratio."""
    h, w = rgb.shape[:2]
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    if (nh, nw) == (h, w):
        return rgb
    return np.asarray(Image.fromarray(rgb).resize((nw, nh), resample=Image.BICUBIC))


def load_training_images(
    folder: str | Path, size: int, progress: Progress = null_progress
) -> tuple[list[np.ndarray], list[str]]:
    """All readable images of ``folder`` with shorter side ``size``; also the skipped files."""
    from core.images import open_image_set

    image_set = open_image_set(Path(folder).expanduser())
    images: list[np.ndarray] = []
    total = len(image_set)
    progress("Loading images", 0, total)
    for i, (_name, arr) in enumerate(image_set.iter_arrays()):
        images.append(resize_shorter_side(arr, size))
        progress("Loading images", i + 1, total)
    skipped = [f"{s.name}: {s.reason}" for s in image_set.skipped]
    if not images:
        raise ValueError(f"{folder}: no readable images to train on")
    return images, skipped


def rgb_batch_to_l_ab(batch: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``N x H x W x 3`` uint8 -> (L ``N x 1 x H x W``, ab ``N x 2 x H x W``), float32."""
    t = as_uint8_nchw(batch, "training batch").to(torch.float32) / 255.0
    lab = rgb_to_lab(t)
    return lab[:, :1].contiguous(), lab[:, 1:].contiguous()


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    g = torch.Generator()
    g.manual_seed(int(seed) * 1_000_003 + int(epoch))
    return g


def epoch_batches(
    images: list[np.ndarray], size: int, batch_size: int, seed: int, epoch: int
) -> list[np.ndarray]:
    """The (seeded) list of ``N x size x size x 3`` uint8 batches of one epoch."""
    g = _epoch_generator(seed, epoch)
    order = torch.randperm(len(images), generator=g).tolist()
    batches: list[np.ndarray] = []
    for start in range(0, len(order), batch_size):
        crops = []
        for idx in order[start : start + batch_size]:
            img = images[idx]
            h, w = img.shape[:2]
            y = int(torch.randint(0, h - size + 1, (1,), generator=g))
            x = int(torch.randint(0, w - size + 1, (1,), generator=g))
            crop = img[y : y + size, x : x + size]
            if bool(torch.rand((), generator=g) < 0.5):
                crop = crop[:, ::-1]
            crops.append(np.ascontiguousarray(crop))
        batches.append(np.stack(crops))
    return batches


def center_crop(img: np.ndarray, size: int) -> np.ndarray:
    h, w = img.shape[:2]
    y, x = (h - size) // 2, (w - size) // 2
    return np.ascontiguousarray(img[y : y + size, x : x + size])


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


def colorizer_loss(model: torch.nn.Module, l_channel: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """``mean |model(L) - ab| / 110``."""
    return F.l1_loss(model(l_channel) / AB_NORM, ab / AB_NORM)


def train_step(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, l_channel: torch.Tensor, ab: torch.Tensor
) -> float:
    """One optimisation step on a batch; returns the loss before the update."""
    model.train()
    optimizer.zero_grad(set_to_none=True)
    loss = colorizer_loss(model, l_channel, ab)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


@torch.no_grad()
def sample_grid(
    model: torch.nn.Module, images: list[np.ndarray], size: int, device: torch.device
) -> np.ndarray:
    """Rows of ``gray input | prediction | original`` for up to four centre crops (uint8)."""
    crops = np.stack([center_crop(img, size) for img in images[:SAMPLE_COUNT]])
    l_channel, _ab = rgb_batch_to_l_ab(crops)
    was_training = model.training
    model.eval()
    pred = model(l_channel.to(device)).cpu()
    model.train(was_training)
    zeros = torch.zeros_like(pred)

    def to_rgb(ab: torch.Tensor) -> np.ndarray:
        lab = torch.cat((l_channel, ab), dim=1).to(torch.float64)
        rgb = lab_to_rgb(lab).permute(0, 2, 3, 1).numpy()
        return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)

    gray, colour = to_rgb(zeros), to_rgb(pred)
    rows = [np.concatenate((gray[i], colour[i], crops[i]), axis=1) for i in range(len(crops))]
    return np.concatenate(rows, axis=0)


def _atomic_save(obj: dict, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def default_samples_path(checkpoint: Path) -> Path:
    return checkpoint.with_name(f"{checkpoint.stem}_samples.png")


def load_training_checkpoint(path: str | Path) -> dict:
    """Read a training checkpoint with ``weights_only=True`` and check it is a color U-Net's."""
    p = Path(path)
    ckpt = torch.load(p, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("arch") != ARCH.name or "state_dict" not in ckpt:
        raise ValueError(f"{p}: not a GAN Lens color U-Net checkpoint (arch must be {ARCH.name!r})")
    return ckpt


def train_colorizer(
    folder: str | Path,
    out: str | Path,
    *,
    size: int = 64,
    epochs: int = 5,
    batch_size: int = 8,
    lr: float | None = None,
    base_channels: int = 16,
    depth: int = 3,
    max_steps: int | None = None,
    resume: bool = False,
    seed: int = 0,
    device: str | torch.device = "auto",
    samples_path: str | Path | None = None,
    progress: Progress = null_progress,
) -> TrainColorizerResult:
    """Train (or resume training) a color U-Net and write checkpoint + sample grid.

    ``epochs`` counts from the start of training (a resumed run stops at the same total);
    ``max_steps`` caps the total number of optimisation steps. ``lr`` defaults to 1e-3, or to
    the checkpoint's learning rate when resuming.
    """
    if size < 8:
        raise ValueError(f"size must be at least 8 pixels, got {size}")
    if epochs < 1 or batch_size < 1:
        raise ValueError("epochs and batch size must be at least 1")
    out_path = Path(out).expanduser()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    sample_out = Path(samples_path).expanduser() if samples_path else default_samples_path(out_path)
    dev = resolve_device(device)

    ckpt: dict | None = None
    if resume and out_path.exists():
        ckpt = load_training_checkpoint(out_path)
        config = dict(ckpt["config"])
        size, batch_size, seed = int(ckpt["size"]), int(ckpt["batch_size"]), int(ckpt["seed"])
        lr = float(ckpt.get("lr", DEFAULT_LR)) if lr is None else lr
    else:
        config = {"base_channels": int(base_channels), "depth": int(depth)}

    lr = DEFAULT_LR if lr is None else float(lr)
    images, skipped = load_training_images(folder, size, progress)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ARCH.build(**config)
    model.to(dev)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999))
    step, epoch, batch_in_epoch = 0, 0, 0
    history: list[float] = []
    if ckpt is not None:
        model.load_state_dict(ckpt["state_dict"], strict=True)
        optimizer.load_state_dict(ckpt["optimizer"])
        for group in optimizer.param_groups:
            group["lr"] = lr
        step, epoch = int(ckpt["step"]), int(ckpt["epoch"])
        batch_in_epoch = int(ckpt.get("batch_in_epoch", 0))
        history = [float(x) for x in ckpt.get("losses", [])]
    start_step = step

    steps_per_epoch = math.ceil(len(images) / batch_size)
    total = epochs * steps_per_epoch
    if max_steps is not None:
        total = min(total, int(max_steps))
    run_losses: list[float] = []

    def save() -> None:
        _atomic_save(
            {
                "arch": ARCH.name,
                "config": dict(config),
                "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "optimizer": optimizer.state_dict(),
                "step": step,
                "epoch": epoch,
                "batch_in_epoch": batch_in_epoch,
                "size": size,
                "batch_size": batch_size,
                "lr": float(lr),
                "seed": int(seed),
                "losses": history,
                "format_version": FORMAT_VERSION,
            },
            out_path,
        )

    stage = "Training colorizer"
    progress(stage, min(step, total), total)
    while epoch < epochs and step < total:
        batches = epoch_batches(images, size, batch_size, seed, epoch)
        while batch_in_epoch < len(batches) and step < total:
            l_channel, ab = rgb_batch_to_l_ab(batches[batch_in_epoch])
            loss = train_step(model, optimizer, l_channel.to(dev), ab.to(dev))
            run_losses.append(loss)
            history.append(loss)
            step += 1
            batch_in_epoch += 1
            progress(stage, step, total)
        if batch_in_epoch >= len(batches):
            epoch += 1
            batch_in_epoch = 0
            save()
    save()
    grid = sample_grid(model, images, size, dev)
    sample_out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(grid).save(sample_out)
    return TrainColorizerResult(
        checkpoint=out_path,
        samples=sample_out,
        config=dict(config),
        size=size,
        start_step=start_step,
        step=step,
        epoch=epoch,
        losses=run_losses,
        n_images=len(images),
        skipped=skipped,
        resumed=ckpt is not None,
    )
