"""The one registry of generator architectures GAN Lens can build, detect and run.

Each :class:`Architecture` entry says everything the rest of :mod:`core.models` needs to know
about a network, so no other module keeps a list of architecture names or an if-chain over them:

* ``name`` - the identifier used by the model zoo, the CLI (``--arch``) and checkpoint files;
* ``family`` - ``"translation"`` (RGB image -> RGB image, run by :mod:`core.models.translate`) or
  ``"colorization"`` (L -> ab, run by :mod:`core.models.colorize`);
* ``build(**config)`` - a freshly initialised network (:mod:`core.models.networks`);
* ``infer_config(state_dict)`` - the ``config`` that builds a network whose state dict has the
  given keys and shapes (``ValueError`` when the state dict cannot be this architecture);
* ``size_multiple`` - height and width must be multiples of it for the output to keep the input's
  size (the network's total downsampling; 1 when the network pads internally);
* ``takes_hints`` - whether ``forward`` also takes user colour hints (SIGGRAPH17);
* ``description`` - one line for people.

The entries follow junyanz/pytorch-CycleGAN-and-pix2pix (``resnet_9blocks``, ``resnet_6blocks``,
``unet_256``, ``unet_128`` of ``models/networks.py define_G``; ``cyclegan_resnet`` is the same
``ResnetGenerator`` with any other block count, as GAN Lens' own CycleGAN trainer makes them) and richzhang/colorization
(``eccv16``, ``siggraph17``), plus GAN Lens' own ``color_unet`` and the image-to-image lab's
``i2i_colorizer`` / ``i2i_restorer`` (:mod:`core.models.networks.coarse_to_fine`). Adding an architecture means adding
its network file under :mod:`core.models.networks` and one entry to ``_ENTRIES`` below.
Detection of the architecture of a weights file lives with the loading code
(:func:`core.models.checkpoints.detect_architecture`), which tries the entries in registry order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import torch
from torch import nn

from core.models.networks.coarse_to_fine import (
    CoarseToFineColorizer,
    CoarseToFineRestorer,
    colorizer_config_from_state_dict,
    restorer_config_from_state_dict,
)
from core.models.networks.color_unet import ColorUNet, color_unet_config_from_state_dict
from core.models.networks.colorization import (
    ECCV16Colorizer,
    SIGGRAPH17Colorizer,
    eccv16_config_from_state_dict,
    siggraph17_config_from_state_dict,
)
from core.models.networks.cyclegan import (
    N_DOWNSAMPLING,
    ResnetGenerator,
    resnet_any_config_from_state_dict,
    resnet_config_from_state_dict,
)
from core.models.networks.pix2pix import UnetGenerator, unet_config_from_state_dict

Family = Literal["translation", "colorization"]
FAMILIES: tuple[Family, ...] = ("translation", "colorization")

StateDict = Mapping[str, torch.Tensor]


@dataclass(frozen=True)
class Architecture:
    """One registered generator architecture (see the module docstring for the fields)."""

    name: str
    family: Family
    build: Callable[..., nn.Module]
    infer_config: Callable[[StateDict], dict[str, Any]]
    size_multiple: int
    takes_hints: bool
    description: str

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(
                f"{self.name}: unknown family {self.family!r}; expected one of {', '.join(FAMILIES)}"
            )
        if self.size_multiple < 1:
            raise ValueError(f"{self.name}: size_multiple must be positive, got {self.size_multiple}")


def _resnet(n_blocks: int) -> Architecture:
    return Architecture(
        name=f"cyclegan_resnet_{n_blocks}blocks",
        family="translation",
        build=partial(ResnetGenerator, n_blocks=n_blocks),
        infer_config=partial(resnet_config_from_state_dict, n_blocks=n_blocks),
        size_multiple=2**N_DOWNSAMPLING,
        takes_hints=False,
        description=f"CycleGAN ResNet generator, {n_blocks} residual blocks (Zhu et al. 2017)",
    )


def _unet(num_downs: int) -> Architecture:
    size = 2**num_downs
    return Architecture(
        name=f"unet_{size}",
        family="translation",
        build=partial(UnetGenerator, num_downs=num_downs),
        infer_config=partial(unet_config_from_state_dict, num_downs=num_downs),
        size_multiple=size,
        takes_hints=False,
        description=f"pix2pix U-Net generator, {num_downs} levels (Isola et al. 2017)",
    )


#: The block counts of the official ``define_G`` names, each an entry of its own.
_OFFICIAL_RESNET_BLOCKS = (9, 6)

_ENTRIES: tuple[Architecture, ...] = (
    *(_resnet(n) for n in _OFFICIAL_RESNET_BLOCKS),
    Architecture(
        name="cyclegan_resnet",
        family="translation",
        build=partial(ResnetGenerator, n_blocks=3),  # default depth; a file's own comes from infer_config
        infer_config=partial(resnet_any_config_from_state_dict, exclude=_OFFICIAL_RESNET_BLOCKS),
        size_multiple=2**N_DOWNSAMPLING,
        takes_hints=False,
        description="CycleGAN ResNet generator with another number of residual blocks (read from "
        "the file), e.g. a small one trained by `train-cyclegan`",
    ),
    _unet(8),
    _unet(7),
    Architecture(
        name="eccv16",
        family="colorization",
        build=ECCV16Colorizer,
        infer_config=eccv16_config_from_state_dict,
        size_multiple=8,
        takes_hints=False,
        description="Colorful Image Colorization (Zhang, Isola, Efros, ECCV 2016)",
    ),
    Architecture(
        name="siggraph17",
        family="colorization",
        build=SIGGRAPH17Colorizer,
        infer_config=siggraph17_config_from_state_dict,
        size_multiple=8,
        takes_hints=True,
        description="Real-Time User-Guided Image Colorization (Zhang, Zhu et al., SIGGRAPH 2017)",
    ),
    Architecture(
        name="color_unet",
        family="colorization",
        build=ColorUNet,
        infer_config=color_unet_config_from_state_dict,
        size_multiple=1,  # pads to a multiple of 2 ** depth and crops back
        takes_hints=False,
        description="GAN Lens' own small colorization U-Net (L -> ab regression)",
    ),
    Architecture(
        name="i2i_colorizer",
        family="colorization",
        build=CoarseToFineColorizer,
        infer_config=colorizer_config_from_state_dict,
        size_multiple=1,  # pads to a multiple of 2 ** (stages - 1) and crops back
        takes_hints=False,
        description="Image-to-image lab colorizer: U-Net, coarse-to-fine model or coarse-to-fine "
        "auto-encoder (after pix2pixHD's coarse-to-fine generator), L -> ab",
    ),
    Architecture(
        name="i2i_restorer",
        family="translation",
        build=CoarseToFineRestorer,
        infer_config=restorer_config_from_state_dict,
        size_multiple=1,
        takes_hints=False,
        description="Image-to-image lab restorer (e.g. mosaic removal): U-Net, coarse-to-fine model "
        "or coarse-to-fine auto-encoder (after pix2pixHD's coarse-to-fine generator), RGB -> RGB",
    ),
)

_REGISTRY: dict[str, Architecture] = {a.name: a for a in _ENTRIES}
if len(_REGISTRY) != len(_ENTRIES):
    raise RuntimeError("architecture names in the registry must be unique")


def architectures(family: str | None = None) -> tuple[Architecture, ...]:
    """The registered architectures (of one family if given), in registry order."""
    if family is not None and family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
    return tuple(a for a in _ENTRIES if family is None or a.family == family)


def architecture_names(family: str | None = None) -> tuple[str, ...]:
    """The names of :func:`architectures` (for choice lists)."""
    return tuple(a.name for a in architectures(family))


def get_architecture(name: str | Architecture) -> Architecture:
    """The entry called ``name`` (an :class:`Architecture` is returned as is); ``ValueError``
    listing the known names otherwise."""
    if isinstance(name, Architecture):
        return name
    entry = _REGISTRY.get(str(name))
    if entry is None:
        raise ValueError(f"unknown architecture {name!r}; expected one of {', '.join(_REGISTRY)}")
    return entry
