"""Settings of GAN Lens' image-to-image trainers, stored in a run's ``config.json`` with their
``kind``: :class:`CycleGANConfig` (defaults of the official CycleGAN ``train.py``,
junyanz/pytorch-CycleGAN-and-pix2pix ``options/``: ngf = ndf = 64, 9 residual blocks, 3-layer
PatchGAN, batch 1, Adam lr 2e-4 beta1 0.5, lambda 10, identity 0.5, pool 50, load 286 / crop 256)
and :class:`ColorizerConfig` (the color U-Net regression of :mod:`core.models.training.colorizer`).

``steps`` always counts optimisation steps in total (a resumed run stops at the same total), so a
job can show ``step / steps`` for any trainer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

#: The official ratio of load size to crop size (286 / 256).
LOAD_RATIO = 286 / 256


def _check_positive(config: object, names: tuple[str, ...]) -> None:
    for name in names:
        if int(getattr(config, name)) < 1:
            raise ValueError(f"{name} must be at least 1, got {getattr(config, name)}")


class _Settings:
    """``to_dict`` / ``from_dict`` shared by the trainer configs (``kind`` comes first)."""

    kind: ClassVar[str]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls, d: dict[str, Any]):  # type: ignore[no-untyped-def]
        known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class CycleGANConfig(_Settings):
    """A CycleGAN run: domains ``a`` and ``b`` (folders, or ``samples:<name>`` built-in sets),
    images cropped to ``size`` (a multiple of 4, at least 32) from images resized to
    ``load_size`` (default ``size`` x 286 / 256, rounded)."""

    kind: ClassVar[str] = "cyclegan"

    a: str = ""
    b: str = ""
    size: int = 256
    steps: int = 1000
    load_size: int | None = None
    batch_size: int = 1
    ngf: int = 64
    ndf: int = 64
    n_blocks: int = 9
    n_layers_d: int = 3
    lr: float = 2e-4
    beta1: float = 0.5
    lambda_cycle: float = 10.0
    lambda_identity: float = 0.5
    pool_size: int = 50
    seed: int = 0
    snapshot_every: int = 100
    samples: int = 4  # rows of each frame (held-out inputs when the domains are large enough)

    def __post_init__(self) -> None:
        if not str(self.a).strip() or not str(self.b).strip():
            raise ValueError("both domains are needed: --a FOLDER_A and --b FOLDER_B")
        if self.size < 32 or self.size % 4:
            raise ValueError(f"size must be a multiple of 4 and at least 32, got {self.size}")
        if self.load_size is None:
            self.load_size = int(round(self.size * LOAD_RATIO))
        if self.load_size < self.size:
            raise ValueError(f"load_size ({self.load_size}) must be at least size ({self.size})")
        _check_positive(
            self, ("steps", "batch_size", "ngf", "ndf", "n_layers_d", "snapshot_every", "samples")
        )
        if self.n_blocks < 0 or self.pool_size < 0:
            raise ValueError("n_blocks and pool_size must be >= 0")
        if self.lr <= 0 or not 0 <= self.beta1 < 1:
            raise ValueError(f"lr must be positive and beta1 in [0, 1), got {self.lr}, {self.beta1}")
        if self.lambda_cycle < 0 or self.lambda_identity < 0:
            raise ValueError("lambda_cycle and lambda_identity must be >= 0")

    @property
    def decay_steps(self) -> int:
        """Steps of the linear learning-rate decay: the second half (official n_epochs_decay)."""
        return self.steps // 2


@dataclass
class ColorizerConfig(_Settings):
    """A color U-Net run on the images of ``data`` (a folder, or ``samples:<name>``): random
    ``size`` crops of images resized to shorter side ``load_size`` (default ``size``); the
    exported model runs at ``load_size``."""

    kind: ClassVar[str] = "colorizer"

    data: str = ""
    size: int = 64
    steps: int = 500
    load_size: int | None = None
    batch_size: int = 8
    lr: float = 1e-3
    base_channels: int = 16
    depth: int = 3
    seed: int = 0
    snapshot_every: int = 50
    samples: int = 4

    def __post_init__(self) -> None:
        if not str(self.data).strip():
            raise ValueError("a folder of training images is needed")
        if self.size < 8:
            raise ValueError(f"size must be at least 8 pixels, got {self.size}")
        if self.load_size is None:
            self.load_size = self.size
        if self.load_size < self.size:
            raise ValueError(f"load_size ({self.load_size}) must be at least size ({self.size})")
        _check_positive(self, ("steps", "batch_size", "base_channels", "depth", "snapshot_every", "samples"))
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
