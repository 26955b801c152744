"""CycleGAN training (Zhu, Park, Isola, Efros, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks", ICCV 2017), as the official repository defines it
(junyanz/pytorch-CycleGAN-and-pix2pix ``models/cycle_gan_model.py``), into a Training lab run folder.

Exports ``latest_net_G_A.pth`` (A -> B) and ``latest_net_G_B.pth`` (B -> A): plain state dicts
of :class:`core.models.networks.cyclegan.ResnetGenerator` in the official key layout, which
:func:`core.models.loading.load_model_info` and the Translate page load unchanged.
"""

from __future__ import annotations

import itertools
import json
import threading
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.gan import runs
from core.gan.frames import image_grid
from core.images import WalkLimits
from core.models.networks.cyclegan import ResnetGenerator
from core.models.networks.init import init_normal
from core.models.networks.patchgan import NLayerDiscriminator
from core.models.training.configs import CycleGANConfig
from core.models.training.data import (
    ImageDomain,
    center_crop,
    load_image_domain,
    random_crop_flip,
    split_held_out,
    to_signed,
)
from core.models.training.image_pool import ImagePool
from core.models.training.run_loop import RunResult, open_run, run_training, save_weights
from core.runtime.device import resolve_device
from core.runtime.progress import Progress, null_progress

KIND = CycleGANConfig.kind
#: Loss columns after the standard four of losses.csv, the official names in lower case.
LOSS_TERMS = ("gan_a", "gan_b", "cycle_a", "cycle_b", "idt_a", "idt_b", "d_a", "d_b")
#: The exported generators, named as the official ``BaseModel.save_networks`` names them.
EXPORTS = {"G_A": "latest_net_G_A.pth", "G_B": "latest_net_G_B.pth"}
#: Settings a resumed run must share with the run it continues (``steps`` may grow;
#: ``snapshot_every`` may change).
RESUME_KEYS = tuple(
    k for k in CycleGANConfig(a="-", b="-", size=32).to_dict() if k not in ("steps", "snapshot_every")
)


def lsgan_loss(prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
    """The official ``GANLoss('lsgan')``: mean squared error of the patch scores to 1 (real) or
    0 (fake) (Mao et al. 2017)."""
    target = torch.ones_like(prediction) if target_is_real else torch.zeros_like(prediction)
    return F.mse_loss(prediction, target)


def linear_decay_factor(step: int, steps: int, decay_steps: int) -> float:
    """The official ``lr_policy='linear'`` rule in steps: ``1 - max(0, t + 1 - n_const) /
    (n_decay + 1)`` for step ``t`` (0-based; ``epoch_count = 1``), ``n_const = steps -
    decay_steps``: the rate stays for the first half and falls linearly towards 0 over the second."""
    n_const = steps - decay_steps
    return 1.0 - max(0, step + 1 - n_const) / float(decay_steps + 1)


class CycleGANTrainer:
    """Two generators, two discriminators, their optimisers, schedulers, image pools and the data
    RNG; :meth:`train_step` is one official ``optimize_parameters``."""

    def __init__(
        self,
        config: CycleGANConfig,
        domain_a: ImageDomain,
        domain_b: ImageDomain,
        device: torch.device | str = "cpu",
    ) -> None:
        self.config = config
        self.device = resolve_device(device)
        train_a, self.samples_a, held_a = split_held_out(domain_a.images, config.samples)
        train_b, self.samples_b, held_b = split_held_out(domain_b.images, config.samples)
        self.held_out = held_a and held_b
        for name, images in ((domain_a.name, train_a), (domain_b.name, train_b)):
            small = [i for i, img in enumerate(images) if min(img.shape[:2]) < config.size]
            if small:
                raise ValueError(f"{name}: {len(small)} image(s) smaller than the crop size {config.size}")
        self.train_a, self.train_b = train_a, train_b

        init = torch.Generator().manual_seed(config.seed)  # own RNGs: thread-safe, reproducible

        def generator() -> nn.Module:
            net = ResnetGenerator(3, 3, config.ngf, config.n_blocks, norm="instance", use_dropout=False)
            return init_normal(net, generator=init).to(self.device)

        def discriminator() -> nn.Module:
            net = NLayerDiscriminator(3, config.ndf, config.n_layers_d, norm="instance")
            return init_normal(net, generator=init).to(self.device)

        self.G_A, self.G_B = generator(), generator()
        self.D_A, self.D_B = discriminator(), discriminator()
        betas = (config.beta1, 0.999)
        self.opt_g = torch.optim.Adam(
            itertools.chain(self.G_A.parameters(), self.G_B.parameters()), lr=config.lr, betas=betas
        )
        self.opt_d = torch.optim.Adam(
            itertools.chain(self.D_A.parameters(), self.D_B.parameters()), lr=config.lr, betas=betas
        )

        def rule(t: int) -> float:
            return linear_decay_factor(t, config.steps, config.decay_steps)

        self.sched_g = torch.optim.lr_scheduler.LambdaLR(self.opt_g, rule)
        self.sched_d = torch.optim.lr_scheduler.LambdaLR(self.opt_d, rule)
        self.pool_a = ImagePool(config.pool_size, torch.Generator().manual_seed(config.seed + 2))  # fake A
        self.pool_b = ImagePool(config.pool_size, torch.Generator().manual_seed(config.seed + 3))  # fake B
        self.rng = torch.Generator().manual_seed(config.seed + 1)
        self.step = 0

    # -- data --------------------------------------------------------------------------------

    def sample_batch(self, images: list[np.ndarray]) -> torch.Tensor:
        """``batch_size`` random crops (random images, with replacement) in [-1, 1] on the device."""
        idx = torch.randint(0, len(images), (self.config.batch_size,), generator=self.rng).tolist()
        crops = np.stack([random_crop_flip(images[i], self.config.size, self.rng) for i in idx])
        return to_signed(crops).to(self.device)

    # -- losses (the official backward_G / backward_D_basic) ---------------------------------

    def generator_losses(self, real_a: torch.Tensor, real_b: torch.Tensor) -> dict[str, torch.Tensor]:
        """The generator terms (weighted as in the objective) and the fakes the discriminators
        will see: ``fake_a``, ``fake_b`` (detached in use)."""
        c = self.config
        lam_a = lam_b = c.lambda_cycle
        fake_b = self.G_A(real_a)
        rec_a = self.G_B(fake_b)
        fake_a = self.G_B(real_b)
        rec_b = self.G_A(fake_a)
        terms: dict[str, torch.Tensor] = {}
        if c.lambda_identity > 0:
            terms["idt_a"] = F.l1_loss(self.G_A(real_b), real_b) * lam_b * c.lambda_identity
            terms["idt_b"] = F.l1_loss(self.G_B(real_a), real_a) * lam_a * c.lambda_identity
        else:
            terms["idt_a"] = terms["idt_b"] = torch.zeros((), device=real_a.device)
        terms["gan_a"] = lsgan_loss(self.D_A(fake_b), True)
        terms["gan_b"] = lsgan_loss(self.D_B(fake_a), True)
        terms["cycle_a"] = F.l1_loss(rec_a, real_a) * lam_a
        terms["cycle_b"] = F.l1_loss(rec_b, real_b) * lam_b
        terms["total"] = (
            terms["gan_a"]
            + terms["gan_b"]
            + terms["cycle_a"]
            + terms["cycle_b"]
            + terms["idt_a"]
            + terms["idt_b"]
        )
        terms["fake_a"], terms["fake_b"] = fake_a, fake_b
        return terms

    @staticmethod
    def discriminator_loss(net: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """``(LSGAN(D(real), 1) + LSGAN(D(fake), 0)) / 2`` (the official ``backward_D_basic``)."""
        return (lsgan_loss(net(real), True) + lsgan_loss(net(fake.detach()), False)) * 0.5

    # -- one step ----------------------------------------------------------------------------

    def generator_step(self, real_a: torch.Tensor, real_b: torch.Tensor) -> dict[str, torch.Tensor]:
        """Update G_A and G_B on the full objective with both discriminators frozen."""
        for p in itertools.chain(self.D_A.parameters(), self.D_B.parameters()):
            p.requires_grad_(False)
        try:
            self.opt_g.zero_grad(set_to_none=True)
            terms = self.generator_losses(real_a, real_b)
            terms["total"].backward()
            self.opt_g.step()
        finally:
            for p in itertools.chain(self.D_A.parameters(), self.D_B.parameters()):
                p.requires_grad_(True)
        return terms

    def discriminator_step(
        self, real_a: torch.Tensor, real_b: torch.Tensor, fake_a: torch.Tensor, fake_b: torch.Tensor
    ) -> tuple[float, float]:
        """Update D_A (real B vs pooled fake B) and D_B (real A vs pooled fake A)."""
        self.opt_d.zero_grad(set_to_none=True)
        d_a = self.discriminator_loss(self.D_A, real_b, self.pool_b.query(fake_b))
        d_a.backward()
        d_b = self.discriminator_loss(self.D_B, real_a, self.pool_a.query(fake_a))
        d_b.backward()
        self.opt_d.step()
        return float(d_a.detach()), float(d_b.detach())

    def train_step(self) -> tuple[float | None, ...]:
        """One step: a batch from each domain, the G update, the D update, the schedulers;
        returns ``(loss_d, loss_g, None, *LOSS_TERMS values)``."""
        real_a = self.sample_batch(self.train_a)
        real_b = self.sample_batch(self.train_b)
        terms = self.generator_step(real_a, real_b)
        d_a, d_b = self.discriminator_step(real_a, real_b, terms["fake_a"], terms["fake_b"])
        self.sched_g.step()
        self.sched_d.step()
        self.step += 1
        values = {k: float(terms[k].detach()) for k in LOSS_TERMS[:6]} | {"d_a": d_a, "d_b": d_b}
        return (d_a + d_b, float(terms["total"].detach()), None, *(values[k] for k in LOSS_TERMS))

    # -- samples, export, checkpoint -----------------------------------------------------------

    @torch.no_grad()
    def frame(self) -> np.ndarray:
        """Rows ``real A | G_A(A) | real B | G_B(B)`` for the fixed sample inputs (centre crops)."""
        size = self.config.size
        a = to_signed(np.stack([center_crop(i, size) for i in self.samples_a])).to(self.device)
        b = to_signed(np.stack([center_crop(i, size) for i in self.samples_b])).to(self.device)
        n = min(len(a), len(b))
        fa, fb = self.G_A(a[:n]), self.G_B(b[:n])
        rows = torch.stack([a[:n], fa, b[:n], fb], dim=1).flatten(0, 1)
        return image_grid(rows, nrow=4)

    def export(self, run_dir: Path) -> list[Path]:
        """Write both generators as plain official-layout state dicts (CPU tensors)."""
        return [
            save_weights(
                {k: v.detach().cpu() for k, v in getattr(self, attr).state_dict().items()},
                Path(run_dir) / name,
            )
            for attr, name in EXPORTS.items()
        ]

    def state_dict(self) -> dict:
        return {
            "format": runs.FORMAT,
            "kind": KIND,
            "step": self.step,
            "config": json.dumps(self.config.to_dict()),
            **{name: getattr(self, name).state_dict() for name in ("G_A", "G_B", "D_A", "D_B")},
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "sched_g": self.sched_g.state_dict(),
            "sched_d": self.sched_d.state_dict(),
            "pool_a": self.pool_a.state_dict(),
            "pool_b": self.pool_b.state_dict(),
            "rng_state": self.rng.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        for name in ("G_A", "G_B", "D_A", "D_B"):
            getattr(self, name).load_state_dict(state[name], strict=True)
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.sched_g.load_state_dict(state["sched_g"])
        self.sched_d.load_state_dict(state["sched_d"])
        self.pool_a.load_state_dict(state["pool_a"], self.device)
        self.pool_b.load_state_dict(state["pool_b"], self.device)
        self.rng.set_state(state["rng_state"])
        self.step = int(state["step"])


def load_domains(
    config: CycleGANConfig, progress: Progress = null_progress, walk: WalkLimits | None = None
) -> tuple[ImageDomain, ImageDomain]:
    """Domains A and B of ``config`` at its ``load_size`` (``walk``: folder-walk limits for a
    browser user, :data:`core.images.BROWSER_WALK`); pass them to :func:`train_cyclegan` as
    ``domains`` (or to a job as an input) to load them before training starts."""
    size = int(config.load_size)  # type: ignore[arg-type]
    a = load_image_domain(config.a, size, progress=progress, stage="Loading domain A", walk=walk)
    b = load_image_domain(config.b, size, progress=progress, stage="Loading domain B", walk=walk)
    return a, b


def train_cyclegan(
    config: CycleGANConfig,
    run_dir: str | Path,
    *,
    device: str | torch.device = "auto",
    resume: bool = False,
    progress: Progress = null_progress,
    stop: threading.Event | None = None,
    domains: tuple[ImageDomain, ImageDomain] | None = None,
) -> RunResult:
    """Train (or, with ``resume``, continue) a CycleGAN into ``run_dir`` up to ``config.steps``.
    ``domains``: images already loaded (else read from ``config.a`` / ``config.b``). ``stop``
    ends training before the next step, with a checkpoint. ``ValueError`` for unusable data,
    settings or run folders."""
    run_dir = Path(run_dir).expanduser()
    settings = config.to_dict()
    state = open_run(run_dir, kind=KIND, config=settings, resume=resume, resume_keys=RESUME_KEYS)
    domain_a, domain_b = domains if domains is not None else load_domains(config, progress)
    trainer = CycleGANTrainer(config, domain_a, domain_b, device)
    if state is not None:
        trainer.load_state_dict(state)
    settings |= {
        "domain_a": domain_a.name,
        "domain_b": domain_b.name,
        "images_a": len(trainer.train_a),
        "images_b": len(trainer.train_b),
        "samples_held_out": trainer.held_out,
        "exports": {"G_A (A -> B)": EXPORTS["G_A"], "G_B (B -> A)": EXPORTS["G_B"]},
    }
    return run_training(
        trainer,
        run_dir,
        config=settings,
        steps=config.steps,
        snapshot_every=config.snapshot_every,
        extra=LOSS_TERMS,
        stop=stop,
        progress=progress,
        skipped=[*domain_a.skipped, *domain_b.skipped],
    )
