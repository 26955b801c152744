"""Training configuration of a GAN run (stored as ``config.json`` in the run directory).

Defaults per model follow the papers: DCGAN Adam lr 2e-4, beta1 0.5 (Radford et al. 2015);
WGAN RMSProp lr 5e-5, weight clipping c = 0.01, n_critic = 5 (Arjovsky et al. 2017, Algorithm 1);
WGAN-GP Adam lr 1e-4, betas (0, 0.9), lambda = 10, n_critic = 5 (Gulrajani et al. 2017,
Algorithm 1).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

MODELS = ("dcgan", "wgan", "wgan-gp")


@dataclass
class TrainConfig:
    """Everything that defines a run. ``steps`` counts generator updates; for WGAN/WGAN-GP each
    step also performs ``n_critic`` critic updates on fresh real batches."""

    model: str = "dcgan"
    data: str = "builtin"
    size: int = 32
    steps: int = 1000
    snapshot_every: int = 50
    batch_size: int = 64
    seed: int = 0
    nz: int = 100
    ngf: int = 32
    ndf: int = 32
    lr: float | None = None  # None: the model's paper default
    n_critic: int = 5
    clip: float = 0.01
    gp_lambda: float = 10.0
    grid: int = 25  # samples in each snapshot frame (fixed noise): 5 x 5, as the demo runs
    quality: bool = True  # SWD quality curve at each snapshot
    quality_n: int = 256  # generated and real images per SWD evaluation
    max_images: int = 20_000

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; choose one of {', '.join(MODELS)}")
        if self.size not in (32, 64):
            raise ValueError(f"size must be 32 or 64, got {self.size}")
        for name in ("steps", "snapshot_every", "batch_size", "nz", "ngf", "ndf", "n_critic", "grid"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.quality and self.quality_n < 2:
            raise ValueError("quality_n must be at least 2")

    @property
    def learning_rate(self) -> float:
        if self.lr is not None:
            return float(self.lr)
        return {"dcgan": 2e-4, "wgan": 5e-5, "wgan-gp": 1e-4}[self.model]

    @property
    def is_wasserstein(self) -> bool:
        return self.model in ("wgan", "wgan-gp")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
