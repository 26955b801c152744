"""One update of each model moves its parameters in the expected direction; the WGAN-GP penalty
matches an independent per-sample autograd computation."""

from __future__ import annotations

import torch
from torch import nn

from core.gan.config import TrainConfig
from core.gan.networks import Discriminator, Generator
from core.gan.train import GANTrainer, gradient_penalty


def _trainer(model: str, **kw) -> GANTrainer:
    cfg = TrainConfig(model=model, size=32, batch_size=8, ngf=8, ndf=8, quality=False, **kw)
    return GANTrainer(cfg, "cpu")


def _batch(seed: int, n: int = 8) -> torch.Tensor:
    return torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_shapes_for_both_sizes():
    for size in (32, 64):
        g, d = Generator(size, nz=16, ngf=8), Discriminator(size, ndf=8)
        x = g(torch.randn(5, 16))
        assert x.shape == (5, 3, size, size)
        assert x.min() >= -1 and x.max() <= 1
        assert d(x).shape == (5,)


def test_dcgan_d_step_lowers_d_loss_on_same_batch():
    t = _trainer("dcgan")
    real = _batch(1)
    with torch.no_grad():
        fake = t.G(t.sample_z(8))
        before, _ = t.d_loss(real, fake)
    t.d_step(real, fake)
    with torch.no_grad():
        after, _ = t.d_loss(real, fake)
    assert after < before


def test_dcgan_g_step_raises_d_of_g_z():
    t = _trainer("dcgan")
    z = t.sample_z(8)
    with torch.no_grad():
        before = torch.sigmoid(t.D(t.G(z))).mean()
    d_params = [p.clone() for p in t.D.parameters()]
    t.g_step(z)
    with torch.no_grad():
        after = torch.sigmoid(t.D(t.G(z))).mean()
    assert after > before
    # the generator step does not move D
    assert all(torch.equal(a, b) for a, b in zip(d_params, t.D.parameters(), strict=False))


def test_wgan_critic_step_clips_and_raises_em_estimate():
    t = _trainer("wgan")
    real = _batch(2)
    with torch.no_grad():
        fake = t.G(t.sample_z(8))
    # start from weights well outside the clip range so clipping is exercised
    with torch.no_grad():
        for p in t.D.parameters():
            p.mul_(5.0)
    t.d_step(real, fake)
    for p in t.D.parameters():
        assert p.abs().max() <= 0.01 + 1e-12
    assert any((p.abs() == 0.01).any() for p in t.D.parameters())  # something was clipped
    # from a clipped critic, a further critic step increases E[f(real)] - E[f(fake)]
    with torch.no_grad():
        before = t.D(real).mean() - t.D(fake).mean()
    t.d_step(real, fake)
    with torch.no_grad():
        after = t.D(real).mean() - t.D(fake).mean()
    assert after > before


def test_wgan_g_step_raises_critic_on_fakes():
    t = _trainer("wgan")
    z = t.sample_z(8)
    with torch.no_grad():
        before = t.D(t.G(z)).mean()
    t.g_step(z)
    with torch.no_grad():
        after = t.D(t.G(z)).mean()
    assert after > before


def _independent_penalty(critic: nn.Module, real, fake, eps) -> torch.Tensor:
    vals = []
    for i in range(real.shape[0]):
        x = (eps[i] * real[i] + (1 - eps[i]) * fake[i]).unsqueeze(0).clone().requires_grad_(True)
        (g,) = torch.autograd.grad(critic(x).sum(), x)
        vals.append((torch.sqrt((g**2).sum()) - 1) ** 2)
    return torch.stack(vals).mean()


def test_gradient_penalty_matches_independent_autograd():
    torch.manual_seed(0)
    critic = Discriminator(32, ndf=8, norm="layer")  # per-sample critic (no batch norm)
    real, fake = _batch(3, 6), _batch(4, 6)
    eps = torch.rand(6, 1, 1, 1)
    got = gradient_penalty(critic, real, fake, eps)
    want = _independent_penalty(critic, real, fake, eps)
    assert got.item() > 1e-6
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-7)


class _Linear(nn.Module):
    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return x.flatten(1) @ self.w


def test_gradient_penalty_zero_for_unit_norm_linear_critic():
    d = 3 * 32 * 32
    w = torch.randn(d)
    real, fake, eps = _batch(5), _batch(6), torch.rand(8, 1, 1, 1)
    assert gradient_penalty(_Linear(w / w.norm()), real, fake, eps).item() < 1e-10
    # a gradient of norm 2 everywhere gives exactly (2 - 1)^2 = 1
    torch.testing.assert_close(
        gradient_penalty(_Linear(2 * w / w.norm()), real, fake, eps), torch.tensor(1.0)
    )


def test_wgan_gp_critic_step_is_differentiable_through_penalty():
    t = _trainer("wgan-gp")
    real = _batch(7)
    with torch.no_grad():
        fake = t.G(t.sample_z(8))
    eps = torch.rand(8, 1, 1, 1)
    before, _ = t.d_loss(real, fake, eps)
    t.d_step(real, fake)
    after, _ = t.d_loss(real, fake, eps)
    assert after.item() < before.item()
    assert isinstance(t.opt_d, torch.optim.Adam)
    assert t.opt_d.param_groups[0]["betas"] == (0.0, 0.9)
    assert t.opt_d.param_groups[0]["lr"] == 1e-4


def test_paper_hyperparameters():
    w = _trainer("wgan")
    assert isinstance(w.opt_d, torch.optim.RMSprop) and w.opt_d.param_groups[0]["lr"] == 5e-5
    assert w.config.clip == 0.01 and w.config.n_critic == 5
    d = _trainer("dcgan")
    assert d.opt_g.param_groups[0]["betas"] == (0.5, 0.999) and d.opt_g.param_groups[0]["lr"] == 2e-4
