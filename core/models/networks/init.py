"""Weight initialisation of the official pix2pix / CycleGAN training code, and PyTorch's own
default initialisation drawn from a generator of one's own.

Reference: junyanz/pytorch-CycleGAN-and-pix2pix, ``models/networks.py`` ``init_weights`` with
``init_type='normal'``, ``init_gain=0.02``: every Conv / ConvTranspose / Linear weight from
N(0, gain^2) and its bias 0; BatchNorm weights from N(1, gain^2) and biases 0 (instance norm
without affine parameters has nothing to initialise).

:func:`init_default` is what ``nn.Conv2d`` / ``nn.ConvTranspose2d`` / ``nn.Linear``
``reset_parameters`` do (``kaiming_uniform_(w, a=sqrt(5))``, i.e. U(-1/sqrt(fan_in),
1/sqrt(fan_in)), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))), drawn from a given generator instead
of the process-wide RNG, so that networks built at the same time in several threads (demo builds,
background jobs) get reproducible weights; GroupNorm / BatchNorm keep their constant defaults.
"""

from __future__ import annotations

import math

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


@torch.no_grad()
def init_default(net: nn.Module, generator: torch.Generator) -> nn.Module:
    """Re-initialise ``net``'s convolutions and linear layers in place as PyTorch's defaults do,
    drawing from ``generator`` (see the module docstring). Returns ``net``."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
            if m.bias is not None:
                fan_in, _ = nn.init._calculate_fan_in_and_fan_out(m.weight)
                bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                nn.init.uniform_(m.bias, -bound, bound, generator=generator)
    return net
