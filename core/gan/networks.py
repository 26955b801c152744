"""DCGAN generator and discriminator/critic for square 32 px and 64 px RGB images.

Architecture follows Radford, Metz & Chintala 2015 ("Unsupervised Representation Learning with
Deep Convolutional Generative Adversarial Networks"): the generator maps a latent vector
``z ~ N(0, I)`` through strided transposed convolutions (4x4 kernels, stride 2) with batch
normalisation and ReLU to a ``tanh`` image in [-1, 1]; the discriminator mirrors it with strided
convolutions and LeakyReLU(0.2), no normalisation on its first layer, and weights initialised
from N(0, 0.02) (batch-norm scales from N(1, 0.02)).

The discriminator returns one *unbounded score* per image. For DCGAN it is read as a logit (the
sigmoid is folded into ``BCEWithLogits`` in the loss); for WGAN it is the critic value used
directly, with no sigmoid or log (Arjovsky et al. 2017). WGAN-GP's critic must not use batch
normalisation (the penalty is per-sample, Gulrajani et al. 2017 sec. 4), so ``norm="layer"``
replaces it by layer normalisation over (C, H, W).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

SIZES = (32, 64)
Norm = Literal["batch", "layer", "none"]


def _check_size(size: int) -> int:
    if size not in SIZES:
        raise ValueError(f"image size {size} is not supported; choose one of {', '.join(map(str, SIZES))}")
    return int(math.log2(size // 4))  # number of x2 stages between 4x4 and size x size


class Generator(nn.Module):
    """z (N x nz) -> image (N x 3 x size x size) in [-1, 1]."""

    def __init__(
        self,
        size: int = 32,
        nz: int = 100,
        ngf: int = 32,
        channels: int = 3,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        n_up = _check_size(size)
        self.size, self.nz = size, nz
        ch = ngf * 2 ** (n_up - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(nz, ch, 4, 1, 0, bias=False),  # 1x1 -> 4x4
            nn.BatchNorm2d(ch),
            nn.ReLU(True),
        ]
        for _ in range(n_up - 1):
            layers += [
                nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                nn.BatchNorm2d(ch // 2),
                nn.ReLU(True),
            ]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_weights(self, generator)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], self.nz, 1, 1))


class Discriminator(nn.Module):
    """image (N x 3 x size x size) -> score (N,): a logit (DCGAN) or a critic value (WGAN)."""

    def __init__(
        self,
        size: int = 32,
        ndf: int = 32,
        channels: int = 3,
        norm: Norm = "batch",
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        n_down = _check_size(size)
        self.size = size
        layers: list[nn.Module] = [nn.Conv2d(channels, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
        ch, res = ndf, size // 2
        for _ in range(n_down - 1):
            layers.append(nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False))
            ch, res = ch * 2, res // 2
            if norm == "batch":
                layers.append(nn.BatchNorm2d(ch))
            elif norm == "layer":
                layers.append(nn.GroupNorm(1, ch))  # one group = layer norm over (C, H, W)
            elif norm != "none":
                raise ValueError(f"unknown norm {norm!r}")
            layers.append(nn.LeakyReLU(0.2, True))
        layers.append(nn.Conv2d(ch, 1, 4, 1, 0, bias=False))  # 4x4 -> 1x1
        self.net = nn.Sequential(*layers)
        init_weights(self, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(x.shape[0])


def init_weights(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """DCGAN initialisation: conv weights ~ N(0, 0.02); norm scales ~ N(1, 0.02), shifts 0.

    Every parameter is drawn here (``generator``: a seeded CPU generator, or the global RNG if
    None), so the result does not depend on the layers' default initialisation."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02, generator=generator)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.normal_(m.weight, 1.0, 0.02, generator=generator)
            nn.init.zeros_(m.bias)
