"""The image-to-image lab's trainer: a U-Net, a coarse-to-fine model or a coarse-to-fine
auto-encoder (:mod:`core.models.networks.coarse_to_fine`, after pix2pixHD's coarse-to-fine
generator) trained with an L1 loss only on a supervised task (:mod:`~core.models.training.degradations`:
``colorize`` or ``mosaic``), with the ``all`` or ``each`` schedule
(:mod:`~core.models.training.stage_schedule`), into a Training lab run folder
(:mod:`~core.models.training.run_loop`), so runs can be scrubbed side by side like GAN runs.

What it measures, at step 0 and every ``snapshot_every`` steps (``metrics.csv``):

* ``train_psnr`` / ``val_psnr`` - the mean over images of each image's PSNR
  (:func:`core.metrics.image_quality.psnr`, uint8 RGB, data range 255) of the model's full-size
  output against the clean image, on the first :data:`TRAIN_EVAL_IMAGES` training images (no
  flip) and on every held-out validation image, in eval mode. An ``each`` run whose finest active
  stage is coarser than the full size is measured on its output upsampled (bilinear) to the full
  size: what it can deliver at that step. Outputs: ``colorize`` - the input's L with the predicted
  ab, converted to sRGB and rounded to uint8 (as the Colorize page's pipeline); ``mosaic`` - RGB
  ``round((y + 1) / 2 * 255)``.
* ``stage`` - the finest active stage; ``seconds_per_step`` - from the run loop.

The L1 loss (``losses.csv``, ``loss_g``) is taken at the active stage's own resolution against the
target area-downsampled to it: on ab / 110 for ``colorize``, on RGB in [-1, 1] for ``mosaic``.
Data order: one epoch visits every training image once in a seeded order, flipped left-right with
probability 1/2, so step ``s`` always sees the same batch and a resumed run is bit-identical.

Exports ``i2i.pt``: ``{"arch": "i2i_colorizer" | "i2i_restorer", "config", "state_dict", "size",
"task", "step", ...}``, which the Colorize page (``colorize``) or the Translate page (``mosaic``:
a restorer of mosaicked images) load like any model of their family.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from core.metrics.image_quality import psnr
from core.models.lab import lab_to_rgb
from core.models.networks.colorization import AB_NORM
from core.models.networks.init import init_default
from core.models.registry import get_architecture
from core.models.training.configs import I2IConfig
from core.models.training.data import to_signed
from core.models.training.degradations import colorize_pair
from core.models.training.i2i_data import I2IData, load_i2i_data
from core.models.training.run_loop import OneNetworkTrainer, RunResult, open_run, run_training
from core.models.training.stage_schedule import StageSchedule
from core.runtime.device import resolve_device
from core.runtime.progress import Progress, null_progress

KIND = I2IConfig.kind
EXPORT = "i2i.pt"
#: The registry entry each task's model is.
TASK_ARCH = {"colorize": "i2i_colorizer", "mosaic": "i2i_restorer"}
#: Settings a resumed run must share with the run it continues.
RESUME_KEYS = tuple(k for k in I2IConfig().to_dict() if k not in ("steps", "snapshot_every", "freeze_steps"))
METRIC_COLUMNS = ("stage", "train_psnr", "val_psnr")
TRAIN_EVAL_IMAGES = 64
EVAL_BATCH = 32
LOSS_NOTES = {
    "loss_g": "L1 of the output to the target at the active stage's resolution (ab / 110, or RGB in [-1, 1])",
    "loss_d": "no discriminator: left empty",
}


def flip_pairs(inputs: np.ndarray, targets: np.ndarray, flips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Input and target images flipped left-right together where ``flips`` is true."""
    inputs, targets = inputs.copy(), targets.copy()
    inputs[flips] = inputs[flips][:, :, ::-1]
    targets[flips] = targets[flips][:, :, ::-1]
    return inputs, targets


def to_uint8_rgb(t: torch.Tensor) -> np.ndarray:
    """``N x 3 x H x W`` in [0, 1] -> ``N x H x W x 3`` uint8 (rounded, clipped)."""
    return np.clip(np.rint(t.permute(0, 2, 3, 1).cpu().numpy() * 255.0), 0, 255).astype(np.uint8)


def mean_psnr(references: np.ndarray, outputs: np.ndarray) -> float:
    """Mean over images of :func:`core.metrics.image_quality.psnr` (dB)."""
    return float(np.mean([psnr(a, b) for a, b in zip(references, outputs, strict=True)]))


class I2ITrainer(OneNetworkTrainer):
    """The network, its optimiser, the schedule and the data order (see the module docstring)."""

    kind = KIND
    export_name = EXPORT

    metric_columns = METRIC_COLUMNS

    def __init__(self, config: I2IConfig, data: I2IData, device: torch.device | str = "cpu") -> None:
        if data.size != config.size or data.task != config.task:
            raise ValueError(
                f"data is {data.task} at {data.size} px, the run is {config.task} at {config.size} px"
            )
        if len(data.train_targets) < 1 or len(data.val_targets) < 1:
            raise ValueError(f"{data.name}: needs training and validation images")
        self.config, self.data = config, data
        self.device = resolve_device(device)
        self.arch = get_architecture(TASK_ARCH[config.task])
        init = torch.Generator().manual_seed(config.seed)  # own RNG: thread-safe, reproducible
        net = self.arch.build(model=config.model, stages=config.stages, base_channels=config.base_channels)
        self.model = init_default(net, generator=init)
        self.model.to(self.device)
        self.schedule = StageSchedule.build(
            config.schedule, int(config.stages), config.steps, config.freeze_steps
        )
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr, betas=(0.9, 0.999))
        self.batch_size = min(config.batch_size, len(data.train_targets))
        self.steps_per_epoch = math.ceil(len(data.train_targets) / self.batch_size)
        n_val = len(data.val_targets)
        self.sample_index = np.unique(
            np.linspace(0, n_val - 1, min(config.samples, n_val)).round().astype(int)
        )
        self.step = 0
        self._epoch: tuple[int, torch.Tensor, torch.Tensor] | None = None
        self._apply_phase(self.schedule.at(0))

    # ---- data ---------------------------------------------------------------------------------

    def batch(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """``(inputs, targets)`` uint8 of the 0-based step ``step``."""
        epoch, index = divmod(step, self.steps_per_epoch)
        if self._epoch is None or self._epoch[0] != epoch:
            g = torch.Generator().manual_seed(int(self.config.seed) * 1_000_003 + epoch)
            n = len(self.data.train_targets)
            self._epoch = (epoch, torch.randperm(n, generator=g), torch.rand(n, generator=g) < 0.5)
        _, order, flips = self._epoch
        idx = order[index * self.batch_size : (index + 1) * self.batch_size].numpy()
        return flip_pairs(self.data.train_inputs[idx], self.data.train_targets[idx], flips[idx].numpy())

    def tensors(self, inputs: np.ndarray, targets: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Network input and target for a uint8 batch: ``colorize`` (L of the target, ab / 110),
        ``mosaic`` (inputs and targets in [-1, 1])."""
        if self.config.task == "colorize":
            l_channel, ab = colorize_pair(targets)
            return l_channel, ab / AB_NORM
        return to_signed(inputs), to_signed(targets)

    # ---- training -----------------------------------------------------------------------------

    def _apply_phase(self, phase) -> None:  # type: ignore[no-untyped-def]
        """Parameters of the phase's training stages train, all others are frozen; the output
        heads of stages coarser than the active one are unused (pix2pixHD drops G1's output layer)
        and frozen too."""
        trainable = set(phase.trainable())
        for k in range(1, int(self.config.stages) + 1):
            for p in self.model.stage_parameters(k):
                p.requires_grad_(k in trainable)
            if k < phase.stage:
                self.model.heads[k - 1].requires_grad_(False)
        self.model.active_stage.fill_(phase.stage)

    def stage_output(self, x: torch.Tensor, stage: int) -> torch.Tensor:
        """The model's output at ``stage``'s resolution in loss space (ab / 110 or [-1, 1])."""
        y = self.model.at_stage(x, stage)
        return y / AB_NORM if self.config.task == "colorize" else y

    def train_step(self) -> tuple[float | None, ...]:
        """One step; returns ``(loss_d: none, loss_g = L1, None)``."""
        phase = self.schedule.at(self.step)
        self._apply_phase(phase)
        x, y = self.tensors(*self.batch(self.step))
        x, y = x.to(self.device), y.to(self.device)
        scale = 2 ** (int(self.config.stages) - phase.stage)
        target = F.avg_pool2d(y, scale) if scale > 1 else y
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        loss = F.l1_loss(self.stage_output(x, phase.stage), target)
        loss.backward()
        self.optimizer.step()
        self.step += 1  # active_stage stays that of the step just taken: what frames and exports show
        return (None, float(loss.detach()), None)

    # ---- outputs and measurements -------------------------------------------------------------

    @torch.no_grad()
    def predict(self, inputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Full-size uint8 RGB outputs for uint8 inputs (``colorize`` reads L from ``targets``,
        which is the same L as the gray input's)."""
        was = self.model.training
        self.model.eval()
        out = []
        for s in range(0, len(inputs), EVAL_BATCH):
            x, _ = self.tensors(inputs[s : s + EVAL_BATCH], targets[s : s + EVAL_BATCH])
            y = self.model(x.to(self.device)).cpu()
            if self.config.task == "colorize":
                rgb = lab_to_rgb(torch.cat((x, y), dim=1).to(torch.float64))
            else:
                rgb = (y.to(torch.float64) + 1.0) / 2.0
            out.append(to_uint8_rgb(rgb))
        self.model.train(was)
        return np.concatenate(out)

    def evaluate(self) -> dict[str, float]:
        d = self.data
        n = min(TRAIN_EVAL_IMAGES, len(d.train_targets))
        train = self.predict(d.train_inputs[:n], d.train_targets[:n])
        val = self.predict(d.val_inputs, d.val_targets)
        return {
            "stage": float(int(self.model.active_stage)),
            "train_psnr": mean_psnr(d.train_targets[:n], train),
            "val_psnr": mean_psnr(d.val_targets, val),
        }

    def frame(self) -> np.ndarray:
        """Rows of ``input | output | target`` for the fixed validation samples."""
        i = self.sample_index
        inputs, targets = self.data.val_inputs[i], self.data.val_targets[i]
        outputs = self.predict(inputs, targets)
        rows = [np.concatenate((inputs[k], outputs[k], targets[k]), axis=1) for k in range(len(i))]
        return np.concatenate(rows, axis=0)

    def exported(self) -> dict:
        c = self.config
        return {
            "arch": self.arch.name,
            "config": self.model.config,
            "state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "size": int(c.size),
            "task": c.task,
            "schedule": c.schedule,
            "step": self.step,
            "trained_on": c.data,
        }

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self._apply_phase(self.schedule.at(max(self.step - 1, 0)))


def train_i2i(
    config: I2IConfig,
    run_dir: str | Path,
    *,
    device: str | torch.device = "auto",
    resume: bool = False,
    progress: Progress = null_progress,
    stop: threading.Event | None = None,
    data: I2IData | None = None,
) -> RunResult:
    """Train (or, with ``resume``, continue) an image-to-image lab run into ``run_dir`` up to
    ``config.steps``. ``data``: images already loaded (else read from ``config.data``). ``stop``
    ends training before the next step, with a checkpoint. ``ValueError`` for unusable data,
    settings or run folders."""
    run_dir = Path(run_dir).expanduser()
    settings = config.to_dict()
    state = open_run(run_dir, kind=KIND, config=settings, resume=resume, resume_keys=RESUME_KEYS)
    if data is None:
        data = load_i2i_data(config.data, config.task, config.size, progress=progress)
    trainer = I2ITrainer(config, data, device)
    if state is not None:
        trainer.load_state_dict(state)
    settings |= {
        "dataset_name": data.name,
        "dataset_images": len(data.train_targets),
        "validation_images": len(data.val_targets),
        "arch": trainer.arch.name,
        "schedule_note": trainer.schedule.describe(),
        "frame_columns": ["input", "output", "target"],
        "losses": LOSS_NOTES,
        "exports": {"model": EXPORT},
    }
    return run_training(
        trainer,
        run_dir,
        config=settings,
        steps=config.steps,
        snapshot_every=config.snapshot_every,
        stop=stop,
        progress=progress,
        skipped=data.skipped,
    )
