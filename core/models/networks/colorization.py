"""The two official colorization networks of Richard Zhang et al., with the official
state-dict layout so the released weights load with ``strict=True``.

* :class:`ECCV16Colorizer` - "Colorful Image Colorization" (Zhang, Isola, Efros, ECCV 2016):
  eight VGG-style conv blocks ``model1`` .. ``model8`` (``model8`` ends in a 313-way
  classification conv over the quantised ab gamut), a softmax, the fixed 313 -> 2 1x1 conv
  ``model_out`` (annealed-mean decoding baked into the weights, no bias) and a 4x bilinear
  upsampling (``upsample4``) back to the input resolution.
* :class:`SIGGRAPH17Colorizer` - "Real-Time User-Guided Image Colorization with Learned Deep
  Priors" (Zhang, Zhu, et al., SIGGRAPH 2017): a U-Net over L + ab hints + hint mask
  (4 input channels), ``model1`` .. ``model10`` with the up-convolutions ``model8up``,
  ``model9up``, ``model10up``, the shortcuts ``model3short8``, ``model2short9``,
  ``model1short10``, the (unused at inference) 529-way ``model_class`` head and the tanh
  regression head ``model_out``.

Both follow richzhang/colorization (``colorizers/eccv16.py``, ``colorizers/siggraph17.py``,
``colorizers/base_color.py``): the network takes raw L in [0, 100] at 256x256, normalises it as
``(L - 50) / 100``, ab hints as ``ab / 110``, and returns ab (Lab units, scaled by 110) at the
input resolution. Down-sampling in SIGGRAPH17 is strided slicing ``x[:, :, ::2, ::2]`` as in the
reference. Input height and width must be multiples of 8.

Weights are not downloaded here; see :mod:`core.models.zoo` / :mod:`core.models.download`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

L_CENT = 50.0
L_NORM = 100.0
AB_NORM = 110.0
#: Number of quantised ab bins of the ECCV16 classifier and of the SIGGRAPH17 class head.
ECCV16_CLASSES = 313
SIGGRAPH17_CLASSES = 529


def normalize_l(l_channel: torch.Tensor) -> torch.Tensor:
    """Raw L (0..100) -> network input, ``(L - 50) / 100``."""
    return (l_channel - L_CENT) / L_NORM


def normalize_ab(ab: torch.Tensor) -> torch.Tensor:
    """Lab ab -> network scale, ``ab / 110``."""
    return ab / AB_NORM


def unnormalize_ab(ab: torch.Tensor) -> torch.Tensor:
    """Network ab -> Lab units, ``ab * 110``."""
    return ab * AB_NORM


def _conv_block(
    channels: Sequence[int],
    *,
    last_stride: int = 1,
    dilation: int = 1,
    batch_norm: bool = True,
    leading_relu: bool = False,
) -> nn.Sequential:
    """``[ReLU] (Conv3x3 ReLU)*k [BatchNorm]``; ``last_stride`` applies to the last conv.

    Layer indices match the reference's plain ``nn.Sequential`` lists, so parameter names do too.
    """
    layers: list[nn.Module] = [nn.ReLU(True)] if leading_relu else []
    n = len(channels) - 1
    for i in range(n):
        stride = last_stride if i == n - 1 else 1
        layers.append(
            nn.Conv2d(
                channels[i],
                channels[i + 1],
                kernel_size=3,
                stride=stride,
                padding=dilation,
                dilation=dilation,
                bias=True,
            )
        )
        layers.append(nn.ReLU(True))
    if batch_norm:
        layers.append(nn.BatchNorm2d(channels[-1]))
    return nn.Sequential(*layers)


def _check_hw(x: torch.Tensor, what: str) -> None:
    if x.dim() != 4 or x.shape[1] != 1:
        raise ValueError(f"{what}: expected L as N x 1 x H x W, got shape {tuple(x.shape)}")
    if x.shape[2] % 8 or x.shape[3] % 8:
        raise ValueError(f"{what}: height and width must be multiples of 8, got {x.shape[2]}x{x.shape[3]}")


class ECCV16Colorizer(nn.Module):
    """ECCV 2016 colorizer: ``forward(L)`` with raw L (N x 1 x H x W) -> ab (N x 2 x H x W)."""

    def __init__(self) -> None:
        super().__init__()
        self.model1 = _conv_block([1, 64, 64], last_stride=2)
        self.model2 = _conv_block([64, 128, 128], last_stride=2)
        self.model3 = _conv_block([128, 256, 256, 256], last_stride=2)
        self.model4 = _conv_block([256, 512, 512, 512])
        self.model5 = _conv_block([512, 512, 512, 512], dilation=2)
        self.model6 = _conv_block([512, 512, 512, 512], dilation=2)
        self.model7 = _conv_block([512, 512, 512, 512])
        self.model8 = nn.Sequential(
            nn.ConvTranspose2d(512, 256, kernel_size=4, stride=2, padding=1, bias=True),
            nn.ReLU(True),
            nn.Conv2d(256, 256, kernel_size=3, stride=1, padding=1, bias=True),
            nn.ReLU(True),
            nn.Conv2d(256, 256, kernel_size=3, stride=1, padding=1, bias=True),
            nn.ReLU(True),
            nn.Conv2d(256, ECCV16_CLASSES, kernel_size=1, stride=1, padding=0, bias=True),
        )
        self.softmax = nn.Softmax(dim=1)
        self.model_out = nn.Conv2d(ECCV16_CLASSES, 2, kernel_size=1, padding=0, bias=False)
        self.upsample4 = nn.Upsample(scale_factor=4, mode="bilinear")

    def class_logits(self, l_channel: torch.Tensor) -> torch.Tensor:
        """The 313-way logits at 1/4 resolution (before the softmax)."""
        _check_hw(l_channel, "ECCV16")
        x = self.model1(normalize_l(l_channel))
        for block in (
            self.model2,
            self.model3,
            self.model4,
            self.model5,
            self.model6,
            self.model7,
            self.model8,
        ):
            x = block(x)
        return x

    def forward(self, l_channel: torch.Tensor) -> torch.Tensor:
        out_reg = self.model_out(self.softmax(self.class_logits(l_channel)))
        return unnormalize_ab(self.upsample4(out_reg))


class SIGGRAPH17Colorizer(nn.Module):
    """SIGGRAPH 2017 user-guided colorizer.

    ``forward(L, ab_hint=None, mask=None)``: raw L (N x 1 x H x W), hint ab in Lab units
    (N x 2 x H x W, zeros where no hint) and hint mask (N x 1 x H x W, 1 at hints, 0 elsewhere).
    Missing hints/mask are zeros, as in the reference. Returns ab (N x 2 x H x W).
    """

    def __init__(self, classes: int = SIGGRAPH17_CLASSES) -> None:
        super().__init__()
        self.model1 = _conv_block([4, 64, 64])
        self.model2 = _conv_block([64, 128, 128])
        self.model3 = _conv_block([128, 256, 256, 256])
        self.model4 = _conv_block([256, 512, 512, 512])
        self.model5 = _conv_block([512, 512, 512, 512], dilation=2)
        self.model6 = _conv_block([512, 512, 512, 512], dilation=2)
        self.model7 = _conv_block([512, 512, 512, 512])
        self.model8up = nn.Sequential(
            nn.ConvTranspose2d(512, 256, kernel_size=4, stride=2, padding=1, bias=True)
        )
        self.model8 = _conv_block([256, 256, 256], leading_relu=True)
        self.model9up = nn.Sequential(
            nn.ConvTranspose2d(256, 128, kernel_size=4, stride=2, padding=1, bias=True)
        )
        self.model9 = _conv_block([128, 128], leading_relu=True)
        self.model10up = nn.Sequential(
            nn.ConvTranspose2d(128, 128, kernel_size=4, stride=2, padding=1, bias=True)
        )
        self.model10 = nn.Sequential(
            nn.ReLU(True),
            nn.Conv2d(128, 128, kernel_size=3, dilation=1, stride=1, padding=1, bias=True),
            nn.LeakyReLU(negative_slope=0.2),
        )
        self.model3short8 = nn.Sequential(nn.Conv2d(256, 256, kernel_size=3, stride=1, padding=1, bias=True))
        self.model2short9 = nn.Sequential(nn.Conv2d(128, 128, kernel_size=3, stride=1, padding=1, bias=True))
        self.model1short10 = nn.Sequential(nn.Conv2d(64, 128, kernel_size=3, stride=1, padding=1, bias=True))
        self.model_class = nn.Sequential(
            nn.Conv2d(256, classes, kernel_size=1, padding=0, stride=1, bias=True)
        )
        self.model_out = nn.Sequential(
            nn.Conv2d(128, 2, kernel_size=1, padding=0, stride=1, bias=True), nn.Tanh()
        )
        self.upsample4 = nn.Sequential(nn.Upsample(scale_factor=4, mode="bilinear"))
        self.softmax = nn.Sequential(nn.Softmax(dim=1))

    def forward(
        self,
        l_channel: torch.Tensor,
        ab_hint: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        _check_hw(l_channel, "SIGGRAPH17")
        n, _, h, w = l_channel.shape
        if ab_hint is None:
            ab_hint = l_channel.new_zeros((n, 2, h, w))
        if mask is None:
            mask = l_channel.new_zeros((n, 1, h, w))
        if ab_hint.shape != (n, 2, h, w) or mask.shape != (n, 1, h, w):
            raise ValueError(
                f"SIGGRAPH17: hints must be N x 2 x {h} x {w} and mask N x 1 x {h} x {w}, "
                f"got {tuple(ab_hint.shape)} and {tuple(mask.shape)}"
            )
        x = torch.cat((normalize_l(l_channel), normalize_ab(ab_hint), mask), dim=1)
        conv1_2 = self.model1(x)
        conv2_2 = self.model2(conv1_2[:, :, ::2, ::2])
        conv3_3 = self.model3(conv2_2[:, :, ::2, ::2])
        y = self.model4(conv3_3[:, :, ::2, ::2])
        y = self.model7(self.model6(self.model5(y)))
        conv8_3 = self.model8(self.model8up(y) + self.model3short8(conv3_3))
        conv9_3 = self.model9(self.model9up(conv8_3) + self.model2short9(conv2_2))
        conv10_2 = self.model10(self.model10up(conv9_3) + self.model1short10(conv1_2))
        return unnormalize_ab(self.model_out(conv10_2))


def upsample_ab(ab: torch.Tensor, size_hw: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of ab to ``size_hw`` (``align_corners=False``, as the reference's
    ``F.interpolate(out_ab, size=HW_orig, mode='bilinear')``)."""
    if tuple(ab.shape[-2:]) == tuple(size_hw):
        return ab
    return F.interpolate(ab, size=size_hw, mode="bilinear", align_corners=False)


def _require_keys(sd: Mapping[str, torch.Tensor], what: str, keys: Sequence[str]) -> dict[str, Any]:
    missing = [k for k in keys if k not in sd]
    if missing:
        raise ValueError(f"missing the {what} key(s) {' / '.join(missing)}")
    return {}


def eccv16_config_from_state_dict(sd: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """``{}`` (the ECCV16 network has no options) when ``sd`` has its output keys, else ``ValueError``."""
    return _require_keys(sd, "ECCV16", ("model8.6.weight", "model_out.weight"))


def siggraph17_config_from_state_dict(sd: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """``{}`` (the default 529 classes) when ``sd`` has the SIGGRAPH17 keys, else ``ValueError``."""
    return _require_keys(sd, "SIGGRAPH17", ("model1short10.0.weight", "model_out.0.weight"))
