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


@dataclass
class I2IConfig(_Settings):
    """An image-to-image lab run (:mod:`core.models.training.i2i`): ``model`` (``unet``, ``ctf``,
    ``ctf-ae``) trained with ``schedule`` ``all`` (every stage at once) or ``each`` (stage by
    stage, :mod:`core.models.training.stage_schedule`) on ``task`` (``colorize``, ``mosaic``) over
    ``data`` (``builtin`` or a folder of colour images) at ``size`` px. ``stages``: default
    :func:`~core.models.networks.coarse_to_fine.stages_for_size` (6 at 256 px, as the study);
    ``freeze_steps``: steps a new stage of ``each`` trains with the earlier ones frozen (default:
    the study's 10 of every 50 epochs of a stage); ``snapshot_every``: frame, PSNR row and
    checkpoint every K steps."""

    kind: ClassVar[str] = "i2i"

    model: str = "ctf"
    schedule: str = "all"
    task: str = "colorize"
    data: str = "builtin"
    size: int = 64
    steps: int = 600
    batch_size: int = 8
    lr: float = 1e-3
    base_channels: int = 16
    stages: int | None = None
    freeze_steps: int | None = None
    seed: int = 0
    snapshot_every: int = 50
    samples: int = 4

    def __post_init__(self) -> None:
        from core.models.networks.coarse_to_fine import MODELS, stages_for_size
        from core.models.training.degradations import MOSAIC_FACTOR, TASKS
        from core.models.training.stage_schedule import SCHEDULES, StageSchedule

        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; expected one of {', '.join(MODELS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; expected one of {', '.join(SCHEDULES)}")
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; expected one of {', '.join(TASKS)}")
        if not str(self.data).strip():
            raise ValueError("training images are needed: builtin or a folder of colour images")
        full = stages_for_size(self.size)  # ValueError unless 8 x a power of two
        if self.task == "mosaic" and self.size < MOSAIC_FACTOR:
            raise ValueError(f"the mosaic task needs a size of at least {MOSAIC_FACTOR} px")
        if self.stages is None:
            self.stages = full
        if not 1 <= self.stages <= full:
            raise ValueError(f"stages must be between 1 and {full} at {self.size} px, got {self.stages}")
        if self.model == "unet" and self.schedule == "each":
            raise ValueError(
                "the plain U-Net takes its input at the full size only, so it cannot be trained stage by "
                "stage: use the schedule 'all' (train each is for ctf and ctf-ae)"
            )
        _check_positive(self, ("steps", "batch_size", "base_channels", "snapshot_every", "samples"))
        if self.lr <= 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        # raises for too few steps or a freeze longer than a stage
        schedule = StageSchedule.build(self.schedule, self.stages, self.steps, self.freeze_steps)
        self.freeze_steps = schedule.freeze_steps
