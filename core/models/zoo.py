"""Catalog of the pretrained models GAN Lens can download, and of the demo models it ships.

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

Demo models (:mod:`core.models.demo`): small models GAN Lens trains itself and ships inside the
package (``ModelSpec.bundled`` is their file), listed by :func:`demo_models` (and by
:func:`list_models` with ``include_demos=True``) from the demo manifest; they are never
downloaded, and their ``sha256`` is the full digest of the shipped file.

Every downloadable model is cached as ``<cache>/models/<name>.pth`` (see :mod:`core.models.download`).
The environment variable ``GANLENS_MODEL_BASE_URL`` replaces the server part of every URL
(``<base>/<file name of the official URL>``), e.g. to use a mirror.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from core.models.registry import FAMILIES, Architecture, Family, get_architecture

BASE_URL_ENV = "GANLENS_MODEL_BASE_URL"

CYCLEGAN_URL = "https://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{name}.pth"
PIX2PIX_URL = "https://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/{name}.pth"


@dataclass(frozen=True)
class ModelSpec:
    """One model: its name, architecture (a :mod:`core.models.registry` name), official URL,
    checksum (a full SHA-256 hex digest, a hex prefix of one, or ``None`` when unknown) and a
    description. A demo model shipped with GAN Lens has its file in ``bundled`` (its ``url`` is
    that file's ``file://`` URI) and the image size it was trained at, the size to run it at, in
    ``resolution``."""

    name: str
    arch: str
    url: str
    sha256: str | None
    description: str
    bundled: Path | None = None
    resolution: int | None = None

    @property
    def is_demo(self) -> bool:
        """Whether this is a demo model shipped with GAN Lens (never downloaded)."""
        return self.bundled is not None

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
        """Whether the official URL is HTTPS (``False``: the host serves plain HTTP only); a
        shipped demo model needs no network at all."""
        return self.is_demo or urlsplit(self.url).scheme == "https"

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


def _demo_catalog() -> dict[str, ModelSpec]:
    from core.models.demo.manifest import demo_entries

    specs = {}
    for e in demo_entries():
        path = e.path()
        specs[e.name] = ModelSpec(
            e.name,
            e.arch,
            path.as_uri(),
            e.sha256,
            f"Demo: {e.description}",
            bundled=path,
            resolution=e.resolution,
        )
    return specs


#: The demo models shipped with GAN Lens, by name (from the demo manifest).
DEMO_MODELS: dict[str, ModelSpec] = _demo_catalog()


def _check_family(family: str | None) -> None:
    if family is not None and family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")


def list_models(family: str | None = None, *, include_demos: bool = False) -> list[ModelSpec]:
    """The catalog entries (of one architecture family if given), in catalog order; with
    ``include_demos`` the shipped demo models follow them."""
    _check_family(family)
    specs = [*CATALOG.values(), *(DEMO_MODELS.values() if include_demos else ())]
    return [s for s in specs if family is None or s.family == family]


def demo_models(family: str | None = None) -> list[ModelSpec]:
    """The shipped demo models (of one family if given): present without any download."""
    _check_family(family)
    return [s for s in DEMO_MODELS.values() if family is None or s.family == family]


def find_spec(name: str) -> ModelSpec | None:
    """The catalog or demo entry called exactly ``name`` (any case, ``.pth`` allowed), or ``None``."""
    key = str(name).strip()
    if key.endswith(".pth"):
        key = key[: -len(".pth")]
    for table in (CATALOG, DEMO_MODELS):
        spec = table.get(key) or table.get(key.lower())
        if spec is not None:
            return spec
    return None


def get_spec(name: str | ModelSpec) -> ModelSpec:
    """The catalog or demo entry called ``name`` (a :class:`ModelSpec` is returned as is); a
    ``ValueError`` naming close matches if there is none."""
    if isinstance(name, ModelSpec):
        return name
    spec = find_spec(name)
    if spec is not None:
        return spec
    known = [*CATALOG, *DEMO_MODELS]
    close = difflib.get_close_matches(str(name).strip().lower(), known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known models: {', '.join(known)}"
    raise ValueError(f"unknown model {name!r}{hint}")


def resolve_url(spec: ModelSpec, base_url: str | None = None) -> str:
    """The URL to fetch ``spec`` from: the official one, or ``<base>/<official file name>`` when a
    base URL is given or ``GANLENS_MODEL_BASE_URL`` is set."""
    base = base_url if base_url is not None else os.environ.get(BASE_URL_ENV, "").strip()
    if not base:
        return spec.url
    return f"{base.rstrip('/')}/{spec.url_filename}"
