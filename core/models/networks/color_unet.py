"""GAN Lens' own small colorization U-Net: L -> ab regression.

Same interface as the official colorizers in :mod:`core.models.networks.colorization`: ``forward(L)``
takes raw L in [0, 100] (N x 1 x H x W), normalises it internally as ``(L - 50) / 100`` (the
reference normalisation of richzhang/colorization) and returns ab in Lab units as
``110 * tanh(.)`` (N x 2 x H x W).

Layout (a plain U-Net, Ronneberger et al. 2015, with GroupNorm so small CPU batches train
well and eval equals train behaviour):

* ``inc``: DoubleConv(1 -> C)
* ``downs[i]``: MaxPool2d(2) + DoubleConv(C 2^i -> C 2^(i+1)), for i < depth
* ``ups[i]``: ConvTranspose2d(2x) halving channels, concatenation with the skip, DoubleConv
* ``head``: 1x1 conv to 2 channels, tanh, x 110

DoubleConv is ``Conv3x3 GroupNorm ReLU Conv3x3 GroupNorm ReLU``. Inputs of any size work: they
are padded (replicate) to a multiple of ``2**depth`` and the output is cropped back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from core.models.networks.colorization import AB_NORM, normalize_l


def _groups(channels: int) -> int:
    return math.gcd(8, channels)


class _DoubleConv(nn.Sequential):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, kernel_size=3, padding=1, bias=False),
            nn.GroupNorm(_groups(cout), cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, kernel_size=3, padding=1, bias=False),
            nn.GroupNorm(_groups(cout), cout),
            nn.ReLU(inplace=True),
        )


class _Down(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = _DoubleConv(cin, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.max_pool2d(x, 2))


class _Up(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(cin, cout, kernel_size=2, stride=2)
        self.conv = _DoubleConv(2 * cout, cout)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat((self.up(x), skip), dim=1))


class ColorUNet(nn.Module):
    """U-Net colorizer; ``ColorUNet(base_channels=16, depth=3)``. See the module docstring."""

    def __init__(self, base_channels: int = 16, depth: int = 3) -> None:
        super().__init__()
        if int(base_channels) < 1:
            raise ValueError(f"base_channels must be >= 1, got {base_channels}")
        if not 1 <= int(depth) <= 6:
            raise ValueError(f"depth must be between 1 and 6, got {depth}")
        self.base_channels = int(base_channels)
        self.depth = int(depth)
        widths = [self.base_channels * 2**i for i in range(self.depth + 1)]
        self.inc = _DoubleConv(1, widths[0])
        self.downs = nn.ModuleList(_Down(widths[i], widths[i + 1]) for i in range(self.depth))
        self.ups = nn.ModuleList(_Up(widths[i + 1], widths[i]) for i in reversed(range(self.depth)))
        self.head = nn.Conv2d(widths[0], 2, kernel_size=1)

    @property
    def config(self) -> dict[str, int]:
        """Keyword arguments that rebuild this architecture: ``ColorUNet(**net.config)``."""
        return {"base_channels": self.base_channels, "depth": self.depth}

    def forward(self, l_channel: torch.Tensor) -> torch.Tensor:
        if l_channel.dim() != 4 or l_channel.shape[1] != 1:
            raise ValueError(f"ColorUNet: expected L as N x 1 x H x W, got shape {tuple(l_channel.shape)}")
        h, w = l_channel.shape[-2:]
        m = 2**self.depth
        ph, pw = (-h) % m, (-w) % m
        x = normalize_l(l_channel)
        if ph or pw:
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
        skips = [self.inc(x)]
        for down in self.downs:
            skips.append(down(skips[-1]))
        y = skips.pop()
        for up in self.ups:
            y = up(y, skips.pop())
        ab = torch.tanh(self.head(y)) * AB_NORM
        return ab[..., :h, :w]


_DOWN_KEY = re.compile(r"^downs\.(\d+)\.")


def color_unet_config_from_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, int]:
    """The ``ColorUNet`` keyword arguments for a state dict, so ``ColorUNet(**cfg)`` loads it
    strictly. Raises ``ValueError`` if the keys are not a ColorUNet's."""
    first = state_dict.get("inc.0.weight")
    if first is None or getattr(first, "dim", lambda: 0)() != 4 or first.shape[1] != 1:
        raise ValueError("not a ColorUNet state dict: missing 'inc.0.weight' of shape (C, 1, 3, 3)")
    indices = {int(m.group(1)) for k in state_dict if (m := _DOWN_KEY.match(k))}
    if not indices or indices != set(range(len(indices))):
        raise ValueError("not a ColorUNet state dict: 'downs.<i>' blocks missing or not numbered 0..depth-1")
    if "head.weight" not in state_dict:
        raise ValueError("not a ColorUNet state dict: missing 'head.weight'")
    return {"base_channels": int(first.shape[0]), "depth": len(indices)}
