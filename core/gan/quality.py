"""Quality curve of a GAN run: Sliced Wasserstein Distance of generated vs training images at
each snapshot.

At every snapshot the generator draws ``n`` images from a *fixed* latent batch (derived from the
run seed, so every snapshot and a resumed run use the same latents) and the same ``n`` training
images (a fixed random subset, also from the run seed) are compared with the per-level SWD of
Karras et al. 2018 (Progressive GAN) as implemented in :mod:`core.metrics.swd`, with a fixed SWD
seed so patch positions and projection directions are identical at every snapshot. The curve is
thus a like-for-like measure over training; its absolute level includes the sampling noise of N
images (lower is closer; values are SWD x 1e3 as reported by ``core.metrics.swd``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from core.gan.frames import to_uint8
from core.images import as_uint8_nchw
from core.runtime.progress import Progress, null_progress

QUALITY_NOISE_OFFSET = 7919  # latents for quality use seed + offset, independent of training RNG


@dataclass
class QualityPoint:
    step: int
    average: float
    levels: list[tuple[int, float]]  # (resolution px, SWD x 1e3), finest first


@torch.no_grad()
def sample_train_mode(generator: nn.Module, z: torch.Tensor, chunk: int = 256) -> torch.Tensor:
    """G(z) with batch-norm in training mode (batch statistics, as DCGAN samples during training)
    but leaving the running statistics untouched, so sampling does not alter the run's state."""
    buffers = {k: v.clone() for k, v in generator.named_buffers()}
    was_training = generator.training
    generator.train()
    try:
        out = torch.cat([generator(z[i : i + chunk]) for i in range(0, z.shape[0], chunk)])
    finally:
        with torch.no_grad():
            for k, v in generator.named_buffers():
                v.copy_(buffers[k])
        generator.train(was_training)
    return out


class QualityTracker:
    """Holds the fixed real subset and latents; :meth:`evaluate` gives one point of the curve."""

    def __init__(
        self,
        real_images: torch.Tensor,
        nz: int,
        *,
        n: int = 256,
        seed: int = 0,
        device: torch.device | str = "cpu",
        swd_seed: int = 0,
    ) -> None:
        real_images = as_uint8_nchw(real_images, "training images")
        n = min(n, real_images.shape[0])
        g = torch.Generator().manual_seed(seed + QUALITY_NOISE_OFFSET)
        idx = torch.randperm(real_images.shape[0], generator=g)[:n]
        self.real = real_images[idx].contiguous()
        self.noise = torch.randn(n, nz, generator=g)
        self.device = torch.device(device)
        self.swd_seed = swd_seed

    @property
    def n(self) -> int:
        return int(self.real.shape[0])

    def evaluate(self, generator: nn.Module, step: int, progress: Progress = null_progress) -> QualityPoint:
        from core.metrics.swd import swd

        fake = to_uint8(sample_train_mode(generator, self.noise.to(self.device)))
        result = swd(self.real, fake, seed=self.swd_seed, device=self.device, progress=progress)
        return QualityPoint(
            step=step,
            average=float(result.average),
            levels=[(int(lv.resolution), float(lv.value)) for lv in result.levels],
        )
