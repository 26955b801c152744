"""Coarse-to-fine image-to-image networks and their plain U-Net baseline, in one family so that
the image-to-image lab (:mod:`core.models.training.i2i`) compares like with like.

Reference: pix2pixHD's coarse-to-fine generator (Wang, Liu, Zhu, Tao, Kautz, Catanzaro,
"High-Resolution Image Synthesis and Semantic Manipulation with Conditional GANs", CVPR 2018,
section 3.2 and NVIDIA/pix2pixHD ``models/networks.py`` ``LocalEnhancer``): a global generator G1
works at a low resolution; a local enhancer G2 at twice the resolution downsamples its own input
(front-end), *sums* those features with G1's, and upsamples to its own resolution (back-end). G1
is trained first, then G2 is trained with G1 frozen for a while, then both jointly.

The study GAN Lens' lab reproduces ported that idea to a supervised U-Net trained with an L1
loss only: "a U-Net that also takes the input at every lower resolution, built in resolution
stages". Here, with ``S`` stages (stage 1 the coarsest, :data:`COARSEST_PX` px; stage ``S`` at
the full size), stage ``k`` owns, at its resolution ``R_k = size / 2 ** (S - k)``:

* ``inputs[k]`` - the input, area-downsampled to ``R_k``, into features (Conv3x3 GroupNorm ReLU;
  the plain U-Net has it at the finest stage only);
* ``encoders[k]`` - Conv3x3 GroupNorm ReLU over the sum of ``inputs[k](x_k)`` and what the finer
  stage sends down (pix2pixHD's feature sum, done where the finer stage meets this one);
* ``downs[k]`` (``k >= 2``) - MaxPool2d(2) + Conv3x3 GroupNorm ReLU from stage ``k``'s encoder
  features to stage ``k - 1``'s width: the finer stage's front-end into the coarser one;
* ``ups[k]`` (``k >= 2``) - ConvTranspose2d(2x) from stage ``k - 1``'s decoder features;
* ``decoders[k]`` (``k >= 2``) - DoubleConv over ``[up, skip]`` (U-Net skip: stage ``k``'s
  encoder features) or over ``up`` alone (the auto-encoder, no skips);
* ``heads[k]`` - a 1x1 conv to the output channels at ``R_k``; used while stage ``k`` is the
  finest active stage (pix2pixHD drops G1's output layer once G2 is added).

With every stage active and ``multi_input=False`` this is exactly a U-Net of ``S`` levels
(``S - 1`` downsamplings) whose levels are Conv-GN-ReLU pairs, as :class:`ColorUNet`'s
(:mod:`core.models.networks.color_unet`). The three models of the lab:

* ``unet`` - ``multi_input=False, skips=True``: the plain U-Net;
* ``ctf`` - ``multi_input=True, skips=True``: the coarse-to-fine model;
* ``ctf-ae`` - ``multi_input=True, skips=False``: the coarse-to-fine auto-encoder.

Widths: stage ``k`` has ``base_channels * 2 ** min(S - k, 3)`` channels (doubling towards the
coarse end, capped at 8 x base, as the U-Net's). ``active_stage`` (a buffer, so it travels with
the weights) is the finest stage trained so far; its output is upsampled (bilinear) to the input
size, so a model exported mid-way through stage-by-stage training still gives a full-size image.

Task I/O (wrapping the raw network): :class:`CoarseToFineColorizer` takes raw L (0..100) and
returns ab in Lab units like every colorizer of :mod:`core.models.networks.colorization`
(``(L - 50) / 100`` in, ``110 tanh`` out); :class:`CoarseToFineRestorer` takes RGB in [-1, 1] and
returns RGB in [-1, 1] (tanh) like the translation generators. Inputs of any size work: they are
padded (replicate) to a multiple of ``2 ** (S - 1)`` and the output is cropped back.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from core.models.networks.colorization import AB_NORM, normalize_l

ModelName = Literal["unet", "ctf", "ctf-ae"]
MODELS: tuple[ModelName, ...] = ("unet", "ctf", "ctf-ae")
#: (multi_input, skips) of each model.
MODEL_FLAGS: dict[str, tuple[bool, bool]] = {
    "unet": (False, True),
    "ctf": (True, True),
    "ctf-ae": (True, False),
}
#: Side of the coarsest stage: 6 stages at 256 px as in the study, 5 at 128, 4 at 64.
COARSEST_PX = 8
MAX_STAGES = 8


def stages_for_size(size: int) -> int:
    """Stages of a coarse-to-fine model at ``size`` px: ``log2(size / 8) + 1`` (256 -> 6, 128 -> 5,
    64 -> 4); ``ValueError`` unless ``size`` is 8 times a power of two."""
    ratio = int(size) // COARSEST_PX
    if size < COARSEST_PX or size % COARSEST_PX or ratio & (ratio - 1):
        raise ValueError(f"size must be {COARSEST_PX} x a power of two (e.g. 64, 128, 256), got {size}")
    return int(math.log2(ratio)) + 1


def _groups(channels: int) -> int:
    return math.gcd(8, channels)


def _conv(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel_size=3, padding=1, bias=False),
        nn.GroupNorm(_groups(cout), cout),
        nn.ReLU(inplace=True),
    )


class _Down(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = _conv(cin, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.max_pool2d(x, 2))


class MultiScaleUNet(nn.Module):
    """The raw network (normalised tensors in, unbounded outputs); see the module docstring."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stages: int,
        base_channels: int = 16,
        multi_input: bool = True,
        skips: bool = True,
    ) -> None:
        super().__init__()
        if not 1 <= int(stages) <= MAX_STAGES:
            raise ValueError(f"stages must be between 1 and {MAX_STAGES}, got {stages}")
        if int(base_channels) < 1:
            raise ValueError(f"base_channels must be >= 1, got {base_channels}")
        s = self.stages = int(stages)
        self.base_channels, self.multi_input, self.skips = int(base_channels), bool(multi_input), bool(skips)
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        # index i = stage i + 1 (0: the coarsest)
        self.widths = [self.base_channels * 2 ** min(s - 1 - i, 3) for i in range(s)]
        w = self.widths
        self.inputs = nn.ModuleList(
            _conv(in_channels, w[i]) if (multi_input or i == s - 1) else nn.Identity() for i in range(s)
        )
        self.encoders = nn.ModuleList(_conv(w[i], w[i]) for i in range(s))
        self.downs = nn.ModuleList(_Down(w[i], w[i - 1]) if i else nn.Identity() for i in range(s))
        self.ups = nn.ModuleList(
            nn.ConvTranspose2d(w[i - 1], w[i], kernel_size=2, stride=2) if i else nn.Identity()
            for i in range(s)
        )
        self.decoders = nn.ModuleList(
            nn.Sequential(_conv((2 if skips else 1) * w[i], w[i]), _conv(w[i], w[i])) if i else nn.Identity()
            for i in range(s)
        )
        self.heads = nn.ModuleList(nn.Conv2d(w[i], out_channels, kernel_size=1) for i in range(s))
        self.register_buffer("active_stage", torch.tensor(s, dtype=torch.long))

    @property
    def model(self) -> str:
        return next(m for m, flags in MODEL_FLAGS.items() if flags == (self.multi_input, self.skips))

    def stage_modules(self, stage: int) -> Iterator[nn.Module]:
        """The modules stage ``stage`` (1-based) owns (see the module docstring)."""
        i = int(stage) - 1
        if not 0 <= i < self.stages:
            raise ValueError(f"stage must be between 1 and {self.stages}, got {stage}")
        for group in (self.inputs, self.encoders, self.downs, self.ups, self.decoders, self.heads):
            yield group[i]

    def stage_parameters(self, stage: int) -> list[nn.Parameter]:
        return [p for m in self.stage_modules(stage) for p in m.parameters()]

    def forward(self, x: torch.Tensor, stage: int | None = None) -> torch.Tensor:
        return self.raw(x, stage)

    def raw(self, x: torch.Tensor, stage: int | None = None) -> torch.Tensor:
        """Output of the network up to ``stage`` (default: ``active_stage``) at that stage's
        resolution ``H / 2 ** (S - stage)``; ``x`` at full size, H and W multiples of
        ``2 ** (S - 1)``."""
        c = int(self.active_stage) if stage is None else int(stage)
        if not 1 <= c <= self.stages:
            raise ValueError(f"stage must be between 1 and {self.stages}, got {stage}")
        if c < self.stages and not self.multi_input:
            raise ValueError(
                "the plain U-Net takes its input at the finest stage only: it has no coarser outputs"
            )
        scale = 2 ** (self.stages - c)
        x_c = F.avg_pool2d(x, scale) if scale > 1 else x
        # encoders, finest active stage first; each coarser one also gets the input at its size
        enc: list[torch.Tensor] = [None] * c  # type: ignore[list-item]
        enc[c - 1] = self.encoders[c - 1](self.inputs[c - 1](x_c))
        for i in range(c - 2, -1, -1):
            h = self.downs[i + 1](enc[i + 1])
            if self.multi_input:
                h = h + self.inputs[i](F.avg_pool2d(x_c, 2 ** (c - 1 - i)))
            enc[i] = self.encoders[i](h)
        y = enc[0]
        for i in range(1, c):
            up = self.ups[i](y)
            y = self.decoders[i](torch.cat((up, enc[i]), dim=1) if self.skips else up)
        return self.heads[c - 1](y)

    def full_size(self, x: torch.Tensor, stage: int | None = None) -> torch.Tensor:
        """``tanh`` of the output for ``x`` padded to a multiple of ``2 ** (S - 1)``, brought back
        to ``x``'s size (bilinear upsampling, ``align_corners=False``, when the stage is not the
        finest: the stage's own output, enlarged)."""
        h, w = x.shape[-2:]
        m = 2 ** (self.stages - 1)
        ph, pw = (-h) % m, (-w) % m
        xp = F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x
        y = torch.tanh(self.raw(xp, stage))
        if y.shape[-2:] != xp.shape[-2:]:
            y = F.interpolate(y, size=xp.shape[-2:], mode="bilinear", align_corners=False)
        return y[..., :h, :w]


class CoarseToFineColorizer(MultiScaleUNet):
    """Raw L (N x 1 x H x W, 0..100) -> ab (N x 2 x H x W, Lab units), like every colorizer."""

    def __init__(self, model: str = "ctf", stages: int = 4, base_channels: int = 16) -> None:
        multi, skips = _flags(model)
        super().__init__(1, 2, stages, base_channels, multi, skips)

    @property
    def config(self) -> dict[str, object]:
        return {"model": self.model, "stages": self.stages, "base_channels": self.base_channels}

    def forward(self, l_channel: torch.Tensor, stage: int | None = None) -> torch.Tensor:  # type: ignore[override]
        if l_channel.dim() != 4 or l_channel.shape[1] != 1:
            raise ValueError(f"expected L as N x 1 x H x W, got shape {tuple(l_channel.shape)}")
        return self.full_size(normalize_l(l_channel), stage) * AB_NORM

    def at_stage(self, l_channel: torch.Tensor, stage: int) -> torch.Tensor:
        """ab at stage ``stage``'s own resolution (what that stage's loss compares), Lab units."""
        return torch.tanh(self.raw(normalize_l(l_channel), stage)) * AB_NORM


class CoarseToFineRestorer(MultiScaleUNet):
    """RGB in [-1, 1] (N x 3 x H x W) -> RGB in [-1, 1], like the translation generators."""

    def __init__(
        self, model: str = "ctf", stages: int = 4, base_channels: int = 16, input_nc: int = 3
    ) -> None:
        if int(input_nc) != 3:
            raise ValueError(f"a coarse-to-fine restorer takes RGB (input_nc 3), got {input_nc}")
        multi, skips = _flags(model)
        super().__init__(3, 3, stages, base_channels, multi, skips)

    @property
    def config(self) -> dict[str, object]:
        return {
            "model": self.model,
            "stages": self.stages,
            "base_channels": self.base_channels,
            "input_nc": 3,
        }

    def forward(self, rgb: torch.Tensor, stage: int | None = None) -> torch.Tensor:  # type: ignore[override]
        if rgb.dim() != 4 or rgb.shape[1] != 3:
            raise ValueError(f"expected RGB as N x 3 x H x W, got shape {tuple(rgb.shape)}")
        return self.full_size(rgb, stage)

    def at_stage(self, rgb: torch.Tensor, stage: int) -> torch.Tensor:
        return torch.tanh(self.raw(rgb, stage))


def _flags(model: str) -> tuple[bool, bool]:
    if model not in MODEL_FLAGS:
        raise ValueError(f"unknown model {model!r}; expected one of {', '.join(MODELS)}")
    return MODEL_FLAGS[model]


_HEAD_KEY = re.compile(r"^heads\.(\d+)\.weight$")


def _config_from_state_dict(
    state_dict: Mapping[str, torch.Tensor], in_channels: int, out_channels: int, what: str
) -> dict[str, object]:
    heads = sorted(int(m.group(1)) for k in state_dict if (m := _HEAD_KEY.match(k)))
    if not heads or heads != list(range(len(heads))) or "active_stage" not in state_dict:
        raise ValueError(f"not a {what} state dict: 'heads.<i>' or 'active_stage' missing")
    s = len(heads)
    head = state_dict[f"heads.{s - 1}.weight"]
    first = state_dict.get(f"inputs.{s - 1}.0.weight")
    if first is None or first.dim() != 4 or first.shape[1] != in_channels or head.shape[0] != out_channels:
        raise ValueError(f"not a {what} state dict: expects {in_channels} -> {out_channels} channels")
    multi = s == 1 or "inputs.0.0.weight" in state_dict
    if s == 1:
        skips = True
    else:
        dec = state_dict.get("decoders.1.0.0.weight")
        if dec is None:
            raise ValueError(f"not a {what} state dict: 'decoders.1' missing")
        skips = dec.shape[1] == 2 * dec.shape[0]
    model = next(m for m, flags in MODEL_FLAGS.items() if flags == (multi, skips))
    return {"model": model, "stages": s, "base_channels": int(first.shape[0])}


def colorizer_config_from_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, object]:
    """``CoarseToFineColorizer(**cfg)`` keyword arguments for a state dict (``ValueError`` if not one)."""
    return _config_from_state_dict(state_dict, 1, 2, "coarse-to-fine colorizer")


def restorer_config_from_state_dict(state_dict: Mapping[str, torch.Tensor]) -> dict[str, object]:
    """``CoarseToFineRestorer(**cfg)`` keyword arguments for a state dict (``ValueError`` if not
    one); ``input_nc`` as the translation pages read it."""
    return {**_config_from_state_dict(state_dict, 3, 3, "coarse-to-fine restorer"), "input_nc": 3}
