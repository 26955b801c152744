"""The CycleGAN ResNet generator, with the official module layout so the released weights load
with ``load_state_dict(strict=True)``.

Reference: junyanz/pytorch-CycleGAN-and-pix2pix, ``models/networks.py`` (``ResnetGenerator``,
``ResnetBlock``, ``get_norm_layer``), after Johnson et al.'s fast-neural-style generator. The
pretrained CycleGAN models are ``resnet_9blocks`` with ``--norm instance --no_dropout``:

* ``model.0`` ``ReflectionPad2d(3)``, ``model.1`` 7x7 conv ``input_nc -> ngf``, ``model.2`` norm,
  ``model.3`` ReLU;
* two stride-2 3x3 convs doubling the channels (``model.4`` .. ``model.9``: conv, norm, ReLU);
* ``n_blocks`` residual blocks at ``4 ngf`` channels (``model.10`` ...), each
  ``x + [ReflectionPad2d(1), conv3x3, norm, ReLU, (Dropout 0.5), ReflectionPad2d(1), conv3x3, norm](x)``
  under ``conv_block``;
* two ``ConvTranspose2d(k=3, s=2, p=1, output_padding=1)`` halving the channels, each followed by
  norm and ReLU;
* ``ReflectionPad2d(3)``, 7x7 conv ``ngf -> output_nc`` (always with bias) and ``Tanh``.

Convolutions before a norm have a bias exactly when the norm is ``InstanceNorm2d`` (which here is
``affine=False, track_running_stats=False``, so it has no parameters or buffers). Inputs and
outputs are images in [-1, 1]; the height and width must be multiples of 4 for the output to have
the input's size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import torch
from torch import nn

NormName = Literal["instance", "batch", "none"]
PaddingName = Literal["reflect", "replicate", "zero"]

#: Number of stride-2 downsampling (and upsampling) stages of the official generator.
N_DOWNSAMPLING = 2


def norm_layer_factory(norm: NormName) -> type[nn.Module] | None:
    """The official ``get_norm_layer``: instance norm without affine parameters or running
    statistics, or batch norm with affine parameters; ``None`` for ``'none'``."""
    if norm == "instance":
        return lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False)  # type: ignore[return-value]
    if norm == "batch":
        return lambda c: nn.BatchNorm2d(c, affine=True, track_running_stats=True)  # type: ignore[return-value]
    if norm == "none":
        return None
    raise ValueError(f"unknown norm {norm!r}; expected 'instance', 'batch' or 'none'")


def norm_layer(norm: NormName, channels: int) -> nn.Module:
    """One norm layer for ``channels`` (``nn.Identity`` for ``'none'``)."""
    factory = norm_layer_factory(norm)
    return nn.Identity() if factory is None else factory(channels)


def _pad(padding_type: PaddingName, amount: int) -> tuple[list[nn.Module], int]:
    """Explicit padding layers and the conv's own zero padding."""
    if padding_type == "reflect":
        return [nn.ReflectionPad2d(amount)], 0
    if padding_type == "replicate":
        return [nn.ReplicationPad2d(amount)], 0
    if padding_type == "zero":
        return [], amount
    raise ValueError(f"unknown padding {padding_type!r}; expected 'reflect', 'replicate' or 'zero'")


class ResnetBlock(nn.Module):
    """``x + conv_block(x)`` with the official ``conv_block`` layer order."""

    def __init__(
        self, dim: int, padding_type: PaddingName, norm: NormName, use_dropout: bool, use_bias: bool
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        pads, p = _pad(padding_type, 1)
        layers += pads
        layers += [
            nn.Conv2d(dim, dim, kernel_size=3, padding=p, bias=use_bias),
            norm_layer(norm, dim),
            nn.ReLU(True),
        ]
        if use_dropout:
            layers.append(nn.Dropout(0.5))
        pads, p = _pad(padding_type, 1)
        layers += pads
        layers += [nn.Conv2d(dim, dim, kernel_size=3, padding=p, bias=use_bias), norm_layer(norm, dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """CycleGAN generator (``resnet_9blocks`` / ``resnet_6blocks``); ``forward(x)`` maps an
    N x input_nc x H x W image in [-1, 1] to N x output_nc x H x W in (-1, 1)."""

    def __init__(
        self,
        input_nc: int = 3,
        output_nc: int = 3,
        ngf: int = 64,
        n_blocks: int = 9,
        norm: NormName = "instance",
        use_dropout: bool = False,
        padding_type: PaddingName = "reflect",
    ) -> None:
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f"n_blocks must be >= 0, got {n_blocks}")
        if min(input_nc, output_nc, ngf) < 1:
            raise ValueError("input_nc, output_nc and ngf must be positive")
        self.input_nc = input_nc
        self.output_nc = output_nc
        self.ngf = ngf
        self.n_blocks = n_blocks
        self.norm = norm
        use_bias = norm != "batch"  # official: bias exactly when the norm is InstanceNorm2d
        if norm == "none":
            use_bias = True  # official 'none' gives norm_layer=None (which the official code cannot build)

        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=use_bias),
            norm_layer(norm, ngf),
            nn.ReLU(True),
        ]
        for i in range(N_DOWNSAMPLING):
            mult = 2**i
            layers += [
                nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1, bias=use_bias),
                norm_layer(norm, ngf * mult * 2),
                nn.ReLU(True),
            ]
        mult = 2**N_DOWNSAMPLING
        for _ in range(n_blocks):
            layers.append(ResnetBlock(ngf * mult, padding_type, norm, use_dropout, use_bias))
        for i in range(N_DOWNSAMPLING):
            mult = 2 ** (N_DOWNSAMPLING - i)
            layers += [
                nn.ConvTranspose2d(
                    ngf * mult,
                    ngf * mult // 2,
                    kernel_size=3,
                    stride=2,
                    padding=1,
                    output_padding=1,
                    bias=use_bias,
                ),
                norm_layer(norm, ngf * mult // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.input_nc:
            raise ValueError(
                f"ResnetGenerator expects N x {self.input_nc} x H x W input, got {tuple(x.shape)}"
            )
        return self.model(x)


def tensor_shape(sd: Mapping[str, torch.Tensor], key: str, ndim: int) -> tuple[int, ...]:
    """The shape of ``sd[key]``, which must be an ``ndim``-D tensor, else ``ValueError``."""
    t = sd.get(key)
    if not isinstance(t, torch.Tensor) or t.dim() != ndim:
        raise ValueError(f"missing {ndim}-D tensor {key!r}")
    return tuple(t.shape)


def resnet_block_count(sd: Mapping[str, torch.Tensor]) -> int:
    """How many residual blocks (``model.<i>.conv_block.*`` keys) ``sd`` holds."""
    return len({k.split(".")[1] for k in sd if k.startswith("model.") and ".conv_block." in k})


def resnet_config_from_state_dict(sd: Mapping[str, torch.Tensor], n_blocks: int) -> dict[str, Any]:
    """The :class:`ResnetGenerator` keyword arguments (besides ``n_blocks``) that load ``sd``
    strictly, read from key names and tensor shapes; ``ValueError`` when ``sd`` is not a ResNet
    generator with ``n_blocks`` residual blocks."""
    ngf, input_nc, kh, kw = tensor_shape(sd, "model.1.weight", 4)
    if (kh, kw) != (7, 7):
        raise ValueError("first conv is not 7x7")
    blocks = {int(k.split(".")[1]) for k in sd if k.startswith("model.") and ".conv_block." in k}
    first = 3 * N_DOWNSAMPLING + 4  # after pad, conv, norm, ReLU and the downsampling triples
    if blocks != set(range(first, first + n_blocks)):
        raise ValueError(
            f"expected residual blocks model.{first} .. model.{first + n_blocks - 1}, found {len(blocks)}"
        )
    output_nc = tensor_shape(sd, f"model.{first + n_blocks + 3 * N_DOWNSAMPLING + 1}.weight", 4)[0]
    norm = "batch" if "model.2.weight" in sd else "instance"
    use_dropout = f"model.{first}.conv_block.6.weight" in sd
    return {
        "input_nc": input_nc,
        "output_nc": output_nc,
        "ngf": ngf,
        "norm": norm,
        "use_dropout": use_dropout,
    }


def resnet_any_config_from_state_dict(
    sd: Mapping[str, torch.Tensor], exclude: tuple[int, ...] = ()
) -> dict[str, Any]:
    """Like :func:`resnet_config_from_state_dict` with ``n_blocks`` read from ``sd`` too (and
    returned); ``ValueError`` for a block count in ``exclude`` (those have registry entries of
    their own, so each file matches exactly one entry)."""
    n_blocks = resnet_block_count(sd)
    if n_blocks in exclude:
        raise ValueError(f"{n_blocks} residual blocks: a registry entry of its own")
    return {**resnet_config_from_state_dict(sd, n_blocks), "n_blocks": n_blocks}
