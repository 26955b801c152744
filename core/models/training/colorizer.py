"""Train the GAN Lens colorization U-Net (:class:`core.models.networks.color_unet.ColorUNet`,
registry entry ``color_unet``): L -> ab regression with an L1 loss and Adam, into a Training lab
run folder (:mod:`core.models.training.run_loop`), the way Zhang et al.'s colorizers are used
(CIE Lab, ab / 110; richzhang/colorization) but with a plain L1 regression instead of their
classification loss.

Exports ``colorizer.pt``, ``{"arch": "color_unet", "config": {...}, "state_dict": {...},
"size": load_size, ...}``, which :func:`core.models.colorize.load_colorizer_file` and the Colorize
page load (``size``: the network size it runs at, the scale it was trained at).
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from core.images.batches import as_uint8_nchw
from core.models.lab import lab_to_rgb, rgb_to_lab
from core.models.networks.colorization import AB_NORM
from core.models.networks.init import init_default
from core.models.registry import get_architecture
from core.models.training.configs import ColorizerConfig
from core.models.training.data import (
    ImageDomain,
    center_crop,
    load_image_domain,
    random_crop_flip,
    split_held_out,
)
from core.models.training.run_loop import OneNetworkTrainer, RunResult, open_run, run_training
from core.runtime.device import resolve_device
from core.runtime.progress import Progress, null_progress

#: The registry entry trained here; its name is the exported file's ``"arch"``.
ARCH = get_architecture("color_unet")
KIND = ColorizerConfig.kind
EXPORT = "colorizer.pt"
#: Settings a resumed run must share with the run it continues.
RESUME_KEYS = tuple(k for k in ColorizerConfig(data="-").to_dict() if k not in ("steps", "snapshot_every"))
LOSS_NOTES = {
    "loss_g": "L1 of the predicted ab to the true ab, both / 110",
    "loss_d": "no discriminator: left empty",
}


def rgb_batch_to_l_ab(batch: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``N x H x W x 3`` uint8 -> (L ``N x 1 x H x W``, ab ``N x 2 x H x W``), float32."""
    t = as_uint8_nchw(batch, "training batch").to(torch.float32) / 255.0
    lab = rgb_to_lab(t)
    return lab[:, :1].contiguous(), lab[:, 1:].contiguous()


def epoch_batches(
    images: list[np.ndarray], size: int, batch_size: int, seed: int, epoch: int
) -> list[np.ndarray]:
    """The (seeded) list of ``N x size x size x 3`` uint8 batches of one epoch: the images in a
    random order, each a random crop, flipped with probability 1/2."""
    g = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))
    order = torch.randperm(len(images), generator=g).tolist()
    return [
        np.stack([random_crop_flip(images[i], size, g) for i in order[start : start + batch_size]])
        for start in range(0, len(order), batch_size)
    ]


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
def sample_grid(model: torch.nn.Module, crops: np.ndarray, device: torch.device) -> np.ndarray:
    """Rows of ``gray input | prediction | original`` for ``N x S x S x 3`` uint8 crops."""
    l_channel, _ab = rgb_batch_to_l_ab(crops)
    was_training = model.training
    model.eval()
    pred = model(l_channel.to(device)).cpu()
    model.train(was_training)

    def to_rgb(ab: torch.Tensor) -> np.ndarray:
        lab = torch.cat((l_channel, ab), dim=1).to(torch.float64)
        rgb = lab_to_rgb(lab).permute(0, 2, 3, 1).numpy()
        return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)

    gray, colour = to_rgb(torch.zeros_like(pred)), to_rgb(pred)
    rows = [np.concatenate((gray[i], colour[i], crops[i]), axis=1) for i in range(len(crops))]
    return np.concatenate(rows, axis=0)


class ColorizerTrainer(OneNetworkTrainer):
    """The network, its optimiser and the data order; one epoch visits every training image once
    in a seeded order, so step ``s`` always sees the same batch (a resumed run needs no data RNG)."""

    kind = KIND
    export_name = EXPORT

    def __init__(
        self, config: ColorizerConfig, images: ImageDomain, device: torch.device | str = "cpu"
    ) -> None:
        self.config = config
        self.device = resolve_device(device)
        self.train_images, samples, self.held_out = split_held_out(images.images, config.samples)
        small = [i for i, img in enumerate(self.train_images) if min(img.shape[:2]) < config.size]
        if small:
            raise ValueError(f"{images.name}: {len(small)} image(s) smaller than the crop size {config.size}")
        self.samples = np.stack([center_crop(img, config.size) for img in samples])
        # its own generator, not the process RNG: runs started together in threads (several
        # users, the demo build) stay reproducible. The draws are those of torch.manual_seed(seed)
        # followed by PyTorch's default init, so earlier runs' weights are unchanged.
        init = torch.Generator().manual_seed(config.seed)
        self.model = init_default(ARCH.build(base_channels=config.base_channels, depth=config.depth), init)
        self.model.to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr, betas=(0.9, 0.999))
        self.steps_per_epoch = math.ceil(len(self.train_images) / config.batch_size)
        self.step = 0
        self._epoch: tuple[int, list[np.ndarray]] | None = None

    def batch(self, step: int) -> np.ndarray:
        """The uint8 batch of (0-based) step ``step``."""
        epoch, index = divmod(step, self.steps_per_epoch)
        if self._epoch is None or self._epoch[0] != epoch:
            c = self.config
            self._epoch = (epoch, epoch_batches(self.train_images, c.size, c.batch_size, c.seed, epoch))
        return self._epoch[1][index]

    def train_step(self) -> tuple[float | None, ...]:
        """One step; returns ``(loss_d: none, no discriminator, loss_g = L1, None)``."""
        l_channel, ab = rgb_batch_to_l_ab(self.batch(self.step))
        loss = train_step(self.model, self.optimizer, l_channel.to(self.device), ab.to(self.device))
        self.step += 1
        return (None, loss, None)

    def frame(self) -> np.ndarray:
        return sample_grid(self.model, self.samples, self.device)

    def exported(self) -> dict:
        """The model file's content (a plain dict; ``size``: the network size to run it at)."""
        c = self.config
        return {
            "arch": ARCH.name,
            "config": {"base_channels": c.base_channels, "depth": c.depth},
            "state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "size": int(c.load_size),  # type: ignore[arg-type]
            "crop_size": c.size,
            "step": self.step,
            "trained_on": c.data,
        }


def train_colorizer(
    config: ColorizerConfig,
    run_dir: str | Path,
    *,
    device: str | torch.device = "auto",
    resume: bool = False,
    progress: Progress = null_progress,
    stop: threading.Event | None = None,
    images: ImageDomain | None = None,
) -> RunResult:
    """Train (or, with ``resume``, continue) a color U-Net into ``run_dir`` up to
    ``config.steps``. ``images``: training images already loaded (shorter side at least
    ``config.size``; else read from ``config.data`` at ``config.load_size``). ``stop`` ends
    training before the next step, with a checkpoint. ``ValueError`` for unusable data, settings
    or run folders."""
    run_dir = Path(run_dir).expanduser()
    settings = config.to_dict()
    state = open_run(run_dir, kind=KIND, config=settings, resume=resume, resume_keys=RESUME_KEYS)
    if images is None:
        images = load_image_domain(config.data, int(config.load_size), progress=progress)  # type: ignore[arg-type]
    trainer = ColorizerTrainer(config, images, device)
    if state is not None:
        trainer.load_state_dict(state)
    settings |= {
        "dataset_name": images.name,
        "dataset_images": len(trainer.train_images),
        "samples_held_out": trainer.held_out,
        "arch": ARCH.name,
        "losses": LOSS_NOTES,
        "exports": {"colorizer": EXPORT},
    }
    return run_training(
        trainer,
        run_dir,
        config=settings,
        steps=config.steps,
        snapshot_every=config.snapshot_every,
        stop=stop,
        progress=progress,
        skipped=images.skipped,
    )
