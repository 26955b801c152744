"""Weight initialisation of the official pix2pix / CycleGAN training code.

Reference: junyanz/pytorch-CycleGAN-and-pix2pix, ``models/networks.py`` ``init_weights`` with
``init_type='normal'``, ``init_gain=0.02``: every Conv / ConvTranspose / Linear weight from
N(0, gain^2) and its bias 0; BatchNorm weights from N(1, gain^2) and biases 0 (instance norm
without affine parameters has nothing to initialise).
"""

from __future__ import annotations

import torch
from torch import nn

INIT_GAIN = 0.02


@torch.no_grad()
def init_normal(
    net: nn.Module, gain: float = INIT_GAIN, generator: torch.Generator | None = None
) -> nn.Module:
    """Initialise ``net`` in place as the official ``init_weights(net, 'normal', gain)``; draws
    from ``generator`` (a CPU generator, for reproducible runs) when given. Returns ``net``."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            m.weight.copy_(torch.randn(m.weight.shape, generator=generator) * gain)
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, nn.BatchNorm2d) and m.weight is not None:
            m.weight.copy_(1.0 + torch.randn(m.weight.shape, generator=generator) * gain)
            m.bias.zero_()
    return net
