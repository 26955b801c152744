"""Which stages of a coarse-to-fine model (:mod:`core.models.networks.coarse_to_fine`) train at
each step: the two schedules the study compared.

* ``all`` - every stage at once from the first step, with the finest stage's output (the way
  a U-Net is trained).
* ``each`` - pix2pixHD's schedule (Wang et al., CVPR 2018, section 3.2; NVIDIA/pix2pixHD
  ``--niter_fix_global``): stage 1 (the coarsest) trains alone, with its own output at its own
  resolution; then stage 2 is added and trains with stage 1 frozen for ``freeze_steps`` steps,
  then both train jointly; and so on up to the finest stage.

The study trained each stage for 50 epochs, a new stage's first 10 with the earlier stages frozen.
Here ``--steps N`` is shared out the same way: each of the ``S`` stages gets ``N // S`` steps
(the finest stage also the remainder), and a new stage's first ``freeze_steps`` of them are
frozen-below steps, by default the study's ratio, ``round(N // S * 10 / 50)``. E.g. 1200 steps,
4 stages: stage 1 trains steps 1-300 alone; stage 2 is added at step 301, steps 301-360 with
stage 1 frozen, 361-600 jointly; stage 3 from 601 (frozen to 660), stage 4 from 901 (frozen to
960), jointly to 1200. Steps are counted from 0 here (``at(0)`` is the first step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Schedule = Literal["all", "each"]
SCHEDULES: tuple[Schedule, ...] = ("all", "each")
#: The study's epochs per stage and frozen epochs of a new stage.
STUDY_STAGE_EPOCHS, STUDY_FROZEN_EPOCHS = 50, 10


@dataclass(frozen=True)
class StagePhase:
    """What trains at one step: the finest active ``stage`` (1-based) and whether the earlier
    stages are frozen (``frozen_below``)."""

    stage: int
    frozen_below: bool

    def trainable(self) -> tuple[int, ...]:
        """The stages whose parameters train at this step."""
        return (self.stage,) if self.frozen_below else tuple(range(1, self.stage + 1))


@dataclass(frozen=True)
class StageSchedule:
    kind: str
    stages: int
    steps: int
    freeze_steps: int

    @classmethod
    def build(cls, kind: str, stages: int, steps: int, freeze_steps: int | None = None) -> StageSchedule:
        """A schedule; ``ValueError`` for an unknown kind, fewer steps than stages (``each``) or a
        freeze as long as a stage."""
        if kind not in SCHEDULES:
            raise ValueError(f"unknown schedule {kind!r}; expected one of {', '.join(SCHEDULES)}")
        if kind == "all":
            return cls(kind, int(stages), int(steps), 0)
        span = int(steps) // int(stages)
        if span < 1:
            raise ValueError(
                f"--schedule each needs at least one step per stage: {stages} stages, {steps} steps"
            )
        if freeze_steps is None:
            freeze_steps = round(span * STUDY_FROZEN_EPOCHS / STUDY_STAGE_EPOCHS)
        if not 0 <= int(freeze_steps) < span:
            raise ValueError(
                f"freeze_steps must be between 0 and {span - 1} (each stage has {span} steps), got {freeze_steps}"
            )
        return cls(kind, int(stages), int(steps), int(freeze_steps))

    @property
    def span(self) -> int:
        """Steps of each stage (``each``); the finest stage also gets the remainder."""
        return self.steps // self.stages if self.kind == "each" else self.steps

    def stage_start(self, stage: int) -> int:
        """The 0-based step at which ``stage`` starts training."""
        return 0 if self.kind == "all" else (int(stage) - 1) * self.span

    def at(self, step: int) -> StagePhase:
        """The phase of the 0-based step ``step``."""
        if self.kind == "all":
            return StagePhase(self.stages, False)
        stage = min(int(step) // self.span + 1, self.stages)
        frozen = stage > 1 and int(step) - self.stage_start(stage) < self.freeze_steps
        return StagePhase(stage, frozen)

    def describe(self) -> str:
        """One line for people and ``config.json``."""
        if self.kind == "all":
            return f"all {self.stages} stages trained together for {self.steps} steps"
        return (
            f"stage by stage: {self.span} steps per stage ({self.stages} stages); each new stage's first "
            f"{self.freeze_steps} steps with the earlier stages frozen, then jointly"
        )
