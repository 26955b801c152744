"""The pix2pix U-Net generator, with the official nested module layout so the released weights
load with ``load_state_dict(strict=True)``.

Reference: junyanz/pytorch-CycleGAN-and-pix2pix, ``models/networks.py`` (``UnetGenerator``,
``UnetSkipConnectionBlock``). ``unet_256`` has ``num_downs = 8`` (a 256 x 256 input reaches 1 x 1
at the bottleneck), ``unet_128`` has 7. The pix2pix model sets ``norm='batch'`` (BatchNorm2d with
affine parameters) and, unless ``--no_dropout``, Dropout(0.5) in the ``num_downs - 5`` innermost
non-innermost blocks. Keys nest as ``model.model.<i>.model.<j>...``: each block is
``Sequential(down..., submodule, up...)``; the outermost block is ``[downconv, sub, ReLU,
upconvT, Tanh]``, the innermost ``[LeakyReLU, downconv, ReLU, upconvT, upnorm]`` and the others
``[LeakyReLU, downconv, downnorm, sub, ReLU, upconvT, upnorm, (Dropout)]``; every non-outermost
block returns ``cat([x, block(x)], 1)``. All convs are 4x4, stride 2, padding 1; a conv before a
norm has a bias exactly when the norm is InstanceNorm.

Height and width must be multiples of ``2 ** num_downs`` (256 for ``unet_256``).

Test-time normalisation: the official ``test.py`` calls ``model.eval()`` only with ``--eval``;
by default it runs the generator in *train* mode with batch size 1, so BatchNorm normalises with
the statistics of the image being translated and Dropout is active.
:func:`core.models.inference.inference_view` with ``bn_stats="image"`` reproduces the BatchNorm
part of that default deterministically, without changing the module (Dropout stays off); plain
``eval()`` corresponds to ``test.py --eval`` (stored running statistics).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import torch
from torch import nn

from core.models.networks.cyclegan import norm_layer, tensor_shape

NormName = Literal["batch", "instance"]


def _norm(norm: NormName, channels: int) -> nn.Module:
    """The official ``get_norm_layer`` (shared with the ResNet generator); the U-Net layout
    always has a norm layer, so ``'none'`` is not accepted here."""
    if norm not in ("batch", "instance"):
        raise ValueError(f"unknown norm {norm!r}; expected 'batch' or 'instance'")
    return norm_layer(norm, channels)


class UnetSkipConnectionBlock(nn.Module):
    """One U-Net level: ``x -> cat([x, up(sub(down(x)))])`` (outermost: no concatenation)."""

    def __init__(
        self,
        outer_nc: int,
        inner_nc: int,
        input_nc: int | None = None,
        submodule: nn.Module | None = None,
        outermost: bool = False,
        innermost: bool = False,
        norm: NormName = "batch",
        use_dropout: bool = False,
    ) -> None:
        super().__init__()
        self.outermost = outermost
        use_bias = norm == "instance"
        if input_nc is None:
            input_nc = outer_nc
        downconv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
        if outermost:
            if submodule is None:
                raise ValueError("the outermost block needs a submodule")
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            layers: list[nn.Module] = [downconv, submodule, nn.ReLU(True), upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            layers = [nn.LeakyReLU(0.2, True), downconv, nn.ReLU(True), upconv, _norm(norm, outer_nc)]
        else:
            if submodule is None:
                raise ValueError("an intermediate block needs a submodule")
            upconv = nn.ConvTranspose2d(
                inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias
            )
            layers = [
                nn.LeakyReLU(0.2, True),
                downconv,
                _norm(norm, inner_nc),
                submodule,
                nn.ReLU(True),
                upconv,
                _norm(norm, outer_nc),
            ]
            if use_dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """pix2pix U-Net generator: N x input_nc x H x W in [-1, 1] -> N x output_nc x H x W in (-1, 1)."""

    def __init__(
        self,
        input_nc: int = 3,
        output_nc: int = 3,
        num_downs: int = 8,
        ngf: int = 64,
        norm: NormName = "batch",
        use_dropout: bool = True,
    ) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"num_downs must be >= 5 (the official layout), got {num_downs}")
        if min(input_nc, output_nc, ngf) < 1:
            raise ValueError("input_nc, output_nc and ngf must be positive")
        self.input_nc = input_nc
        self.output_nc = output_nc
        self.num_downs = num_downs
        self.ngf = ngf
        self.norm = norm
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(
                ngf * 8, ngf * 8, submodule=block, norm=norm, use_dropout=use_dropout
            )
        block = UnetSkipConnectionBlock(ngf * 4, ngf * 8, submodule=block, norm=norm)
        block = UnetSkipConnectionBlock(ngf * 2, ngf * 4, submodule=block, norm=norm)
        block = UnetSkipConnectionBlock(ngf, ngf * 2, submodule=block, norm=norm)
        self.model = UnetSkipConnectionBlock(
            output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True, norm=norm
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.input_nc:
            raise ValueError(f"UnetGenerator expects N x {self.input_nc} x H x W input, got {tuple(x.shape)}")
        m = 2**self.num_downs
        if x.shape[2] % m or x.shape[3] % m:
            raise ValueError(
                f"UnetGenerator with {self.num_downs} downsamplings needs height and width that are "
                f"multiples of {m}, got {x.shape[2]}x{x.shape[3]}"
            )
        return self.model(x)


def _unet_depth(sd: Mapping[str, torch.Tensor]) -> int:
    prefix, depth = "model.model.1.model.", 2
    while any(k.startswith(prefix + "3.model.") for k in sd):
        prefix += "3.model."
        depth += 1
    return depth


def unet_config_from_state_dict(sd: Mapping[str, torch.Tensor], num_downs: int) -> dict[str, Any]:
    """The :class:`UnetGenerator` keyword arguments (besides ``num_downs``) that load ``sd``
    strictly, read from key names and tensor shapes; ``ValueError`` when ``sd`` is not a U-Net
    with ``num_downs`` levels."""
    ngf, input_nc, _, _ = tensor_shape(sd, "model.model.0.weight", 4)
    output_nc = tensor_shape(sd, "model.model.3.weight", 4)[1]
    depth = _unet_depth(sd)
    if depth != num_downs:
        raise ValueError(f"U-Net has {depth} levels, expected {num_downs}")
    norm = "batch" if "model.model.1.model.2.weight" in sd else "instance"
    return {"input_nc": input_nc, "output_nc": output_nc, "ngf": ngf, "norm": norm}
