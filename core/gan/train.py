"""Training loops for DCGAN, WGAN (weight clipping) and WGAN-GP (gradient penalty), writing a run
directory (see :mod:`core.gan.runs`) as they go.

- DCGAN (Radford et al. 2015): D minimises binary cross-entropy on real (label 1) and generated
  (label 0) images; G minimises the non-saturating loss ``-log D(G(z))``. Adam lr 2e-4,
  betas (0.5, 0.999). One D update per G update. The sigmoid is folded into
  ``BCEWithLogits`` for numerical stability (same maths).
- WGAN (Arjovsky et al. 2017, Algorithm 1): the critic maximises ``E[f(x)] - E[f(G(z))]`` (it
  minimises the negation), no sigmoid or log; after every critic update all critic parameters
  are clipped to [-c, c], c = 0.01; RMSProp lr 5e-5; ``n_critic`` = 5 critic updates per
  generator update; G minimises ``-E[f(G(z))]``. The Earth-Mover estimate logged is
  ``E[f(x)] - E[f(G(z))]`` on the last critic batch of the step.
- WGAN-GP (Gulrajani et al. 2017, Algorithm 1): as WGAN without clipping, plus the penalty
  ``lambda * E[(||grad_x f(x_hat)||_2 - 1)^2]`` at ``x_hat = eps x + (1 - eps) G(z)``,
  ``eps ~ U[0, 1]`` per sample, lambda = 10; Adam lr 1e-4, betas (0, 0.9); n_critic = 5; the
  critic uses layer normalisation instead of batch normalisation.

One *step* is one generator update. All randomness of training (minibatch indices, latents,
penalty interpolation weights) comes from one CPU ``torch.Generator`` whose state is saved in the
checkpoint together with both networks and optimisers, so a resumed run continues exactly as an
uninterrupted one would (on the same device). Frames always show ``G(fixed_noise)``, the latent
batch stored in ``noise.pt``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from core.gan import runs
from core.gan.config import TrainConfig
from core.gan.data import TrainingData, load_training_data
from core.gan.frames import assemble_animation, grid_columns, image_grid, write_png
from core.gan.networks import Discriminator, Generator
from core.gan.quality import QualityPoint, QualityTracker, sample_train_mode
from core.runtime.atomic import atomic_path
from core.runtime.device import resolve_device
from core.runtime.progress import Progress, null_progress

# Settings that must match for --resume to continue a run (steps may grow).
RESUME_KEYS = (
    "model",
    "data",
    "size",
    "batch_size",
    "seed",
    "nz",
    "ngf",
    "ndf",
    "lr",
    "n_critic",
    "clip",
    "gp_lambda",
    "grid",
    "quality",
    "quality_n",
)


@dataclass
class StepLosses:
    loss_d: float
    loss_g: float
    em_estimate: float | None = None


@dataclass
class TrainResult:
    run_dir: Path
    state: str  # "done" | "stopped"
    start_step: int
    step: int
    seconds: float
    losses: list[StepLosses] = field(default_factory=list)
    quality: list[QualityPoint] = field(default_factory=list)

    @property
    def steps_per_second(self) -> float:
        return (self.step - self.start_step) / self.seconds if self.seconds > 0 else 0.0


def gradient_penalty(
    critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor
) -> torch.Tensor:
    """WGAN-GP penalty ``E[(||grad f(x_hat)||_2 - 1)^2]`` (without lambda), x_hat interpolating
    real and fake with per-sample weights ``eps`` (N x 1 x 1 x 1); differentiable for the step."""
    x_hat = (eps * real + (1.0 - eps) * fake).detach().requires_grad_(True)
    out = critic(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()


class GANTrainer:
    """The two networks, their optimisers and the training RNG; one method per update."""

    def __init__(self, config: TrainConfig, device: torch.device | str = "cpu") -> None:
        self.config = config
        self.device = resolve_device(device)
        init = torch.Generator().manual_seed(config.seed)  # own RNG: thread-safe, reproducible
        self.G = Generator(config.size, config.nz, config.ngf, generator=init).to(self.device)
        norm = "layer" if config.model == "wgan-gp" else "batch"
        self.D = Discriminator(config.size, config.ndf, norm=norm, generator=init).to(self.device)
        lr = config.learning_rate
        if config.model == "dcgan":
            self.opt_g = torch.optim.Adam(self.G.parameters(), lr=lr, betas=(0.5, 0.999))
            self.opt_d = torch.optim.Adam(self.D.parameters(), lr=lr, betas=(0.5, 0.999))
        elif config.model == "wgan":
            self.opt_g = torch.optim.RMSprop(self.G.parameters(), lr=lr)
            self.opt_d = torch.optim.RMSprop(self.D.parameters(), lr=lr)
        else:
            self.opt_g = torch.optim.Adam(self.G.parameters(), lr=lr, betas=(0.0, 0.9))
            self.opt_d = torch.optim.Adam(self.D.parameters(), lr=lr, betas=(0.0, 0.9))
        self.rng = torch.Generator().manual_seed(config.seed + 1)
        self.step = 0

    # -- randomness (CPU generator, moved to the device) -----------------------------------

    def sample_z(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config.nz, generator=self.rng).to(self.device)

    def sample_real(self, data: TrainingData) -> torch.Tensor:
        idx = torch.randint(0, len(data), (self.config.batch_size,), generator=self.rng)
        return data.to_float(idx).to(self.device)

    # -- losses ------------------------------------------------------------------------------

    def d_loss(
        self, real: torch.Tensor, fake: torch.Tensor, eps: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, float | None]:
        """The discriminator/critic loss on one real and one fake batch, and the EM estimate."""
        d_real, d_fake = self.D(real), self.D(fake)
        if self.config.model == "dcgan":
            loss = F.binary_cross_entropy_with_logits(
                d_real, torch.ones_like(d_real)
            ) + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake))
            return loss, None
        em = d_real.mean() - d_fake.mean()
        loss = -em
        if self.config.model == "wgan-gp":
            if eps is None:
                eps = torch.rand(real.shape[0], 1, 1, 1, generator=self.rng).to(self.device)
            loss = loss + self.config.gp_lambda * gradient_penalty(self.D, real, fake, eps)
        return loss, float(em.detach())

    def g_loss(self, z: torch.Tensor) -> torch.Tensor:
        out = self.D(self.G(z))
        if self.config.model == "dcgan":
            return F.binary_cross_entropy_with_logits(out, torch.ones_like(out))  # non-saturating
        return -out.mean()

    # -- updates -----------------------------------------------------------------------------

    def d_step(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[float, float | None]:
        """One discriminator/critic update (then weight clipping for WGAN)."""
        self.opt_d.zero_grad(set_to_none=True)
        loss, em = self.d_loss(real, fake.detach())
        loss.backward()
        self.opt_d.step()
        if self.config.model == "wgan":
            with torch.no_grad():
                for p in self.D.parameters():
                    p.clamp_(-self.config.clip, self.config.clip)
        return float(loss.detach()), em

    def g_step(self, z: torch.Tensor) -> float:
        """One generator update (the critic's parameters are frozen meanwhile)."""
        for p in self.D.parameters():
            p.requires_grad_(False)
        try:
            self.opt_g.zero_grad(set_to_none=True)
            loss = self.g_loss(z)
            loss.backward()
            self.opt_g.step()
        finally:
            for p in self.D.parameters():
                p.requires_grad_(True)
        return float(loss.detach())

    def train_step(self, data: TrainingData) -> StepLosses:
        """One generator step preceded by 1 (DCGAN) or ``n_critic`` (WGAN, WGAN-GP) critic steps."""
        n_d = 1 if self.config.model == "dcgan" else self.config.n_critic
        loss_d, em = 0.0, None
        for _ in range(n_d):
            real = self.sample_real(data)
            with torch.no_grad():
                fake = self.G(self.sample_z(real.shape[0]))
            loss_d, em = self.d_step(real, fake)
        loss_g = self.g_step(self.sample_z(self.config.batch_size))
        self.step += 1
        return StepLosses(loss_d, loss_g, em)

    # -- checkpoints -------------------------------------------------------------------------

    def state_dict(self) -> dict:
        return {
            "format": runs.FORMAT,
            "step": self.step,
            "config": json.dumps(self.config.to_dict()),
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "rng_state": self.rng.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.rng.set_state(state["rng_state"])
        self.step = int(state["step"])


def save_checkpoint(trainer: GANTrainer, run_dir: Path) -> Path:
    path = Path(run_dir) / runs.CHECKPOINT
    with atomic_path(path) as tmp:
        torch.save(trainer.state_dict(), tmp)
    return path


def load_checkpoint(run_dir: Path) -> dict:
    path = Path(run_dir) / runs.CHECKPOINT
    if not path.is_file():
        raise runs.RunError(f"{Path(run_dir).name}: no {runs.CHECKPOINT} to resume from")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt or foreign file
        raise runs.RunError(f"{path}: cannot read checkpoint ({type(exc).__name__}: {exc})") from None


def fixed_noise(config: TrainConfig) -> torch.Tensor:
    """The latent batch shown in every frame: ``grid`` x ``nz`` from N(0, I) seeded by the run."""
    return torch.randn(config.grid, config.nz, generator=torch.Generator().manual_seed(config.seed))


def _check_resumable(saved: dict, config: TrainConfig) -> None:
    now = config.to_dict()
    diffs = [
        f"{k}: run has {saved.get(k)!r}, asked {now[k]!r}"
        for k in RESUME_KEYS
        if k in saved and saved.get(k) != now[k]
    ]
    if diffs:
        raise ValueError("cannot resume with different settings (" + "; ".join(diffs) + ")")


def train(
    config: TrainConfig,
    run_dir: str | Path,
    *,
    device: str | torch.device = "auto",
    resume: bool = False,
    progress: Progress = null_progress,
    stop: threading.Event | None = None,
    data: TrainingData | None = None,
    gif: bool = True,
) -> TrainResult:
    """Train ``config`` into ``run_dir`` (created), or continue it from its checkpoint.

    ``stop`` (optional) ends training early at the next step; a checkpoint is written so the
    run can be resumed. Raises ValueError for a bad dataset or a folder that already holds a
    different run.
    """
    run_dir = Path(run_dir).expanduser()
    t0 = time.perf_counter()
    dev = resolve_device(device)
    start_state: dict | None = None
    if resume and (run_dir / runs.CHECKPOINT).is_file():
        start_state = load_checkpoint(run_dir)
        saved_cfg = json.loads(start_state["config"])
        _check_resumable(saved_cfg, config)
        done = int(start_state.get("step", 0))
        if done > config.steps:
            raise ValueError(
                f"{run_dir.name} is already at step {done}; cannot resume with --steps {config.steps} "
                f"(steps is the total: give at least {done})"
            )
    elif resume:
        raise runs.RunError(f"{run_dir}: no {runs.CHECKPOINT} to resume from")
    elif run_dir.exists() and any(run_dir.iterdir()):
        raise ValueError(f"{run_dir} is not empty; choose a new run folder or pass --resume")

    if data is None:
        data = load_training_data(
            config.data,
            config.size,
            max_images=config.max_images,
            min_images=config.batch_size,
            progress=progress,
        )
    elif len(data) < config.batch_size:
        raise ValueError(f"{data.name}: {len(data)} images; training needs at least {config.batch_size}")

    trainer = GANTrainer(config, dev)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        noise_path = run_dir / runs.NOISE
        if start_state is not None:
            trainer.load_state_dict(start_state)
            if not noise_path.is_file():
                raise runs.RunError(
                    f"{run_dir.name}: {runs.NOISE} (the frames' fixed noise) is missing; cannot resume"
                )
            noise = torch.load(noise_path, map_location="cpu", weights_only=True)["fixed_noise"]
            runs.truncate_after(run_dir, trainer.step)
        else:
            noise = fixed_noise(config)
            torch.save({"fixed_noise": noise}, noise_path)
        runs.write_config(
            run_dir, {**config.to_dict(), "dataset_name": data.name, "dataset_images": len(data)}
        )
        noise = noise.to(dev)
        tracker = (
            QualityTracker(data.images, config.nz, n=config.quality_n, seed=config.seed, device=dev)
            if config.quality
            else None
        )
        start_step = trainer.step
        result = TrainResult(run_dir, "done", start_step, start_step, 0.0)
        pending: list[tuple[int, float, float, float | None]] = []

        def snapshot(step: int) -> None:
            frame = image_grid(sample_train_mode(trainer.G, noise), nrow=grid_columns(config.grid))
            write_png(frame, runs.frame_path(run_dir, step))
            if tracker is not None:
                point = tracker.evaluate(trainer.G, step)
                runs.append_quality(run_dir, step, point.average, point.levels)
                result.quality.append(point)

        def flush(state: str) -> None:
            runs.append_losses(run_dir, pending)
            pending.clear()
            save_checkpoint(trainer, run_dir)
            runs.write_status(run_dir, state, trainer.step, config.steps)

        runs.write_status(run_dir, "running", trainer.step, config.steps)
        if start_step == 0:
            snapshot(0)
            flush("running")
        progress("train", trainer.step, config.steps)
        state = "done"
        while trainer.step < config.steps:
            if stop is not None and stop.is_set():
                state = "stopped"
                break
            losses = trainer.train_step(data)
            result.losses.append(losses)
            pending.append((trainer.step, losses.loss_d, losses.loss_g, losses.em_estimate))
            if trainer.step % config.snapshot_every == 0 or trainer.step == config.steps:
                snapshot(trainer.step)
                if trainer.step < config.steps:  # the last step is flushed once, below
                    flush("running")
            progress("train", trainer.step, config.steps)
        flush(state)
        if gif:
            frames = [p for _, p in runs.list_frames(run_dir)]
            if len(frames) >= 2:
                assemble_animation(frames, run_dir / runs.GIF)
        result.state, result.step = state, trainer.step
        result.seconds = time.perf_counter() - t0
        runs.write_status(
            run_dir,
            state,
            trainer.step,
            config.steps,
            f"{trainer.step - start_step} steps in {result.seconds:.1f} s",
        )
    except BaseException as exc:  # the status says so (a CLI run, the page's job, Ctrl-C alike)
        runs.write_status(run_dir, "failed", trainer.step, config.steps, f"{type(exc).__name__}: {exc}")
        raise
    return result
