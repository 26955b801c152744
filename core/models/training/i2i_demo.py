"""The image-to-image lab's shipped comparison (``make i2i-demo``, ``python -m core make-demo-runs
--i2i``): the study's question, "does pix2pixHD's coarse-to-fine generator help a U-Net trained
with L1 only?", rerun small on the built-in data (photo crops and shapes, :mod:`~core.models.training.i2i_data`),
colorize task, 64 px (4 stages: 8, 16, 32, 64 px), batch 8, Adam 1e-3, seed 0, the same steps for
every run:

* ``i2i-unet`` - the plain U-Net, ``all``;
* ``i2i-ctf-all`` - the coarse-to-fine model, every stage at once;
* ``i2i-ctf-each`` - the coarse-to-fine model stage by stage (each stage a quarter of the steps,
  a new stage's first fifth with the earlier ones frozen: the study's 50 / 10 epochs);
* ``i2i-ctf-ae-all`` - the coarse-to-fine auto-encoder (no skips), every stage at once.

:func:`core.models.training.i2i_summary.comparison_lines` reads the runs back into the figures the
study compared.
"""

from __future__ import annotations

from core.models.training.configs import I2IConfig

DEMO_STEPS = 800
DEMO_SNAPSHOT_EVERY = 80


def _demo(model: str, schedule: str) -> I2IConfig:
    return I2IConfig(
        model=model,
        schedule=schedule,
        task="colorize",
        data="builtin",
        size=64,
        steps=DEMO_STEPS,
        batch_size=8,
        snapshot_every=DEMO_SNAPSHOT_EVERY,
        seed=0,
    )


I2I_DEMO_RUNS: dict[str, I2IConfig] = {
    "i2i-unet": _demo("unet", "all"),
    "i2i-ctf-all": _demo("ctf", "all"),
    "i2i-ctf-each": _demo("ctf", "each"),
    "i2i-ctf-ae-all": _demo("ctf-ae", "all"),
}
