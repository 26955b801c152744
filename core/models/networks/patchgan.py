"""The PatchGAN discriminator of pix2pix and CycleGAN, with the official module layout.

Reference: junyanz/pytorch-CycleGAN-and-pix2pix, ``models/networks.py`` (``NLayerDiscriminator``,
``define_D`` with ``netD='basic'``): with ``n_layers = 3`` each output value judges a 70 x 70 patch
of the input (Isola et al. 2017, section 3.2.2; Zhu et al. 2017, section 4). Keys are
``model.<i>.weight`` of one ``nn.Sequential``:

* ``model.0`` 4x4 stride-2 conv ``input_nc -> ndf`` (with bias), ``model.1`` LeakyReLU(0.2);
* ``n_layers - 1`` triples of 4x4 stride-2 conv (``ndf * min(2^n, 8)`` channels), norm, LeakyReLU;
* one triple with a stride-1 conv (``ndf * min(2^n_layers, 8)`` channels), norm, LeakyReLU;
* a final 4x4 stride-1 conv to one channel (with bias): the patch scores, no sigmoid (the loss
  decides: LSGAN compares them with 1/0 by mean squared error).

Convolutions before a norm have a bias exactly when the norm is instance norm (CycleGAN's
default), as in the generator (:mod:`core.models.networks.cyclegan`).
"""

from __future__ import annotations

import torch
from torch import nn

from core.models.networks.cyclegan import NormName, norm_layer

KERNEL = 4
PADDING = 1


class NLayerDiscriminator(nn.Module):
    """PatchGAN: N x input_nc x H x W -> N x 1 x H' x W' patch scores (70 x 70 receptive field
    for ``n_layers=3``)."""

    def __init__(
        self, input_nc: int = 3, ndf: int = 64, n_layers: int = 3, norm: NormName = "instance"
    ) -> None:
        super().__init__()
        if n_layers < 1 or input_nc < 1 or ndf < 1:
            raise ValueError("input_nc, ndf and n_layers must be positive")
        self.input_nc = input_nc
        use_bias = norm != "batch"
        layers: list[nn.Module] = [
            nn.Conv2d(input_nc, ndf, kernel_size=KERNEL, stride=2, padding=PADDING),
            nn.LeakyReLU(0.2, True),
        ]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [
                nn.Conv2d(
                    ndf * prev, ndf * mult, kernel_size=KERNEL, stride=stride, padding=PADDING, bias=use_bias
                ),
                norm_layer(norm, ndf * mult),
                nn.LeakyReLU(0.2, True),
            ]
        layers.append(nn.Conv2d(ndf * mult, 1, kernel_size=KERNEL, stride=1, padding=PADDING))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.input_nc:
            raise ValueError(
                f"NLayerDiscriminator expects N x {self.input_nc} x H x W input, got {tuple(x.shape)}"
            )
        return self.model(x)
