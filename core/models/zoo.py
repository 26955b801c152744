"""Catalog of the pretrained models GAN Lens can download.

Sources (as published by the authors):

* CycleGAN (Zhu et al. 2017): the 18 models of ``scripts/download_cyclegan_model.sh`` in
  junyanz/pytorch-CycleGAN-and-pix2pix, at
  ``https://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/<name>.pth``; all are
  ``resnet_9blocks`` generators with instance norm and no dropout.
* pix2pix (Isola et al. 2017): the 5 models of ``scripts/download_pix2pix_model.sh`` at
  ``https://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/<name>.pth``; ``unet_256``
  generators with batch norm. They are listed here as ``pix2pix_<name>`` because three of the
  names are also CycleGAN names.
* Colorization (richzhang/colorization, ``colorizers/eccv16.py`` / ``siggraph17.py``):
  ECCV16 and SIGGRAPH17 weights on ``colorizers.s3.us-east-2.amazonaws.com``.

Every URL is HTTPS: the authors' scripts still name ``http://efrosgans...``, but that host serves
the same paths over HTTPS (its dataset links are published with ``https://``). A model whose host
serves only plain HTTP would keep an ``http://`` URL, and :attr:`ModelSpec.secure` is false for it
so that the zoo list can say so.

Checksums: the project does not know the full SHA-256 of any of these files, so ``sha256`` is
``None`` for the Berkeley files (the download is then checked only for being complete and for
looking like a PyTorch file). The two colorizer file names follow the ``torch.hub`` convention
``<name>-<first 8 hex digits of the SHA-256>.pth``, so their ``sha256`` holds that 8-digit
*prefix* and the download is checked against it. ``ModelSpec.sha256`` thus holds either a full
64-digit digest or a prefix of one (see :func:`core.models.download.verify_checksum`).

Each entry names its architecture in :mod:`core.models.registry`, which gives its family
(translation or colorization); the catalog keeps no family of its own.

Every model is cached as ``<cache>/models/<name>.pth`` (see :mod:`core.models.download`).
The environment variable ``GANLENS_MODEL_BASE_URL`` replaces the server part of every URL
(``<base>/<file name of the official URL>``), e.g. to use a mirror.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.models.registry import FAMILIES, Architecture, Family, get_architecture

BASE_URL_ENV = "GANLENS_MODEL_BASE_URL"

CYCLEGAN_URL = "https://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{name}.pth"
PIX2PIX_URL = "https://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/{name}.pth"


@dataclass(frozen=True)
class ModelSpec:
    """One downloadable model: its name, architecture (a :mod:`core.models.registry` name),
    official URL, checksum (a full SHA-256 hex digest, a hex prefix of one, or ``None`` when
    unknown) and a description."""

    name: str
    arch: str
    url: str
    sha256: str | None
    description: str

    @property
    def architecture(self) -> Architecture:
        """The registry entry of :attr:`arch`."""
        return get_architecture(self.arch)

    @property
    def family(self) -> Family:
        """The architecture's family (``"translation"`` or ``"colorization"``)."""
        return self.architecture.family

    @property
    def filename(self) -> str:
        """The file name in the model cache."""
        return f"{self.name}.pth"

    @property
    def secure(self) -> bool:
        """Whether the official URL is HTTPS (``False``: the host serves plain HTTP only)."""
        return urlsplit(self.url).scheme == "https"

    @property
    def url_filename(self) -> str:
        """The last path part of the official URL."""
        return os.path.basename(urlsplit(self.url).path)

    def __post_init__(self) -> None:
        get_architecture(self.arch)  # ValueError naming the known architectures
        if self.sha256 is not None:
            digest = self.sha256.lower()
            if not (8 <= len(digest) <= 64) or any(c not in "0123456789abcdef" for c in digest):
                raise ValueError(f"{self.name}: sha256 must be 8..64 hex digits, got {self.sha256!r}")


_CYCLEGAN: tuple[tuple[str, str], ...] = (
    ("apple2orange", "apples -> oranges (ImageNet)"),
    ("orange2apple", "oranges -> apples (ImageNet)"),
    ("summer2winter_yosemite", "Yosemite in summer -> winter (Flickr)"),
    ("winter2summer_yosemite", "Yosemite in winter -> summer (Flickr)"),
    ("horse2zebra", "horses -> zebras (ImageNet)"),
    ("zebra2horse", "zebras -> horses (ImageNet)"),
    ("monet2photo", "Monet paintings -> photos"),
    ("style_monet", "photo -> painting in the style of Monet"),
    ("style_cezanne", "photo -> painting in the style of Cezanne"),
    ("style_ukiyoe", "photo -> Ukiyo-e print style"),
    ("style_vangogh", "photo -> painting in the style of Van Gogh"),
    ("sat2map", "satellite photo -> Google map (CycleGAN)"),
    ("map2sat", "Google map -> satellite photo (CycleGAN)"),
    ("cityscapes_photo2label", "street photo -> Cityscapes label colours"),
    ("cityscapes_label2photo", "Cityscapes label colours -> street photo"),
    ("facades_photo2label", "facade photo -> CMP facade labels"),
    ("facades_label2photo", "CMP facade labels -> facade photo"),
    ("iphone2dslr_flower", "iPhone flower photo -> DSLR look (shallow depth of field)"),
)

_PIX2PIX: tuple[tuple[str, str], ...] = (
    ("edges2shoes", "edge map -> shoe photo (pix2pix)"),
    ("sat2map", "satellite photo -> Google map (pix2pix)"),
    ("map2sat", "Google map -> satellite photo (pix2pix)"),
    ("facades_label2photo", "CMP facade labels -> facade photo (pix2pix)"),
    ("day2night", "daytime scene -> night (pix2pix)"),
)


def _build_catalog() -> dict[str, ModelSpec]:
    specs: list[ModelSpec] = [
        ModelSpec(name, "cyclegan_resnet_9blocks", CYCLEGAN_URL.format(name=name), None, f"CycleGAN: {text}")
        for name, text in _CYCLEGAN
    ]
    specs += [
        ModelSpec(f"pix2pix_{name}", "unet_256", PIX2PIX_URL.format(name=name), None, f"pix2pix: {text}")
        for name, text in _PIX2PIX
    ]
    specs += [
        ModelSpec(
            "eccv16",
            "eccv16",
            "https://colorizers.s3.us-east-2.amazonaws.com/colorization_release_v2-9b330a0b.pth",
            "9b330a0b",
            "Colorization: Zhang et al., Colorful Image Colorization (ECCV 2016)",
        ),
        ModelSpec(
            "siggraph17",
            "siggraph17",
            "https://colorizers.s3.us-east-2.amazonaws.com/siggraph17-df00044c.pth",
            "df00044c",
            "Colorization: Zhang et al., Real-Time User-Guided Image Colorization (SIGGRAPH 2017)",
        ),
    ]
    return {s.name: s for s in specs}


#: All downloadable models by name.
CATALOG: dict[str, ModelSpec] = _build_catalog()


def list_models(family: str | None = None) -> list[ModelSpec]:
    """The catalog entries (of one architecture family if given), in catalog order."""
    if family is not None and family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
    return [s for s in CATALOG.values() if family is None or s.family == family]


def get_spec(name: str | ModelSpec) -> ModelSpec:
    """The catalog entry called ``name`` (a :class:`ModelSpec` is returned as is); a
    ``ValueError`` naming close matches if there is none."""
    if isinstance(name, ModelSpec):
        return name
    key = str(name).strip()
    if key.endswith(".pth"):
        key = key[: -len(".pth")]
    spec = CATALOG.get(key) or CATALOG.get(key.lower())
    if spec is not None:
        return spec
    close = difflib.get_close_matches(key.lower(), list(CATALOG), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known models: {', '.join(CATALOG)}"
    raise ValueError(f"unknown model {name!r}{hint}")


def resolve_url(spec: ModelSpec, base_url: str | None = None) -> str:
    """The URL to fetch ``spec`` from: the official one, or ``<base>/<official file name>`` when a
    base URL is given or ``GANLENS_MODEL_BASE_URL`` is set."""
    base = base_url if base_url is not None else os.environ.get(BASE_URL_ENV, "").strip()
    if not base:
        return spec.url
    return f"{base.rstrip('/')}/{spec.url_filename}"
