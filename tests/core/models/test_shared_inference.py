"""A model shared by several sessions (``st.cache_resource``) is only read while it runs:
concurrent translations with different BatchNorm modes give the outputs of solo runs, and the
module's state (weights, running statistics, training flags, device) is unchanged afterwards."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from core.models.colorize import colorize_array
from core.models.networks.pix2pix import UnetGenerator
from core.models.translate import translate_images

pytestmark = pytest.mark.usefixtures("single_thread")


def _unet() -> UnetGenerator:
    torch.manual_seed(4)
    g = UnetGenerator(num_downs=7, ngf=2, use_dropout=False)
    for m in g.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.3, 0.3)
            m.running_var.uniform_(0.5, 1.5)
    return g.eval()


def _images(n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [rng.integers(0, 256, (40 + 8 * i, 64, 3), dtype=np.uint8) for i in range(n)]


def _state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _flags(model: torch.nn.Module) -> list[tuple[str, bool, bool | None]]:
    return [(n, m.training, getattr(m, "track_running_stats", None)) for n, m in model.named_modules()]


def test_concurrent_translations_with_mixed_batchnorm_modes_equal_solo_runs():
    g = _unet()
    images = _images(3)
    solo = {
        mode: translate_images(g, images, resolution=128, device="cpu", bn_stats=mode)
        for mode in ("image", "running")
    }
    # the two modes really differ, so a session seeing the other's mode would be caught
    assert any(np.abs(a.astype(int) - b.astype(int)).max() > 0 for a, b in zip(*solo.values(), strict=True))
    state, flags = _state(g), _flags(g)

    n_threads, n_calls = 4, 6
    outputs: dict[tuple[int, int], list[np.ndarray]] = {}
    barrier = threading.Barrier(n_threads)
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            barrier.wait()
            for c in range(n_calls):
                mode = "image" if (t + c) % 2 == 0 else "running"
                outputs[(t, c)] = translate_images(g, images, resolution=128, device="cpu", bn_stats=mode)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert len(outputs) == n_threads * n_calls
    for (t, c), outs in outputs.items():
        want = solo["image" if (t + c) % 2 == 0 else "running"]
        for got, exp in zip(outs, want, strict=True):
            np.testing.assert_array_equal(got, exp)
    after = _state(g)
    assert after.keys() == state.keys()
    assert all(torch.equal(after[k], v) for k, v in state.items())  # running stats, counters, weights
    assert _flags(g) == flags


def test_translation_leaves_a_train_mode_module_as_it_was():
    """A network passed in train mode (built in code) is run in eval/per-image mode without being
    switched: its flags and running statistics stay as they were."""
    g = _unet().train()
    images = _images(2)
    state, flags = _state(g), _flags(g)
    out = translate_images(g, images, resolution=128, device="cpu", bn_stats="running")
    ref = translate_images(_unet(), images, resolution=128, device="cpu", bn_stats="running")
    for a, b in zip(out, ref, strict=True):
        np.testing.assert_array_equal(a, b)
    assert _flags(g) == flags and all(m.training for m in g.modules())
    assert all(torch.equal(v, state[k]) for k, v in _state(g).items())


def test_colorizing_with_a_train_mode_colorizer_changes_nothing(eccv16):
    eccv16.train()
    try:
        state, flags = _state(eccv16), _flags(eccv16)
        img = np.random.default_rng(0).integers(0, 256, (48, 40, 3), dtype=np.uint8)
        out = colorize_array(eccv16, img, size=64)
        assert _flags(eccv16) == flags
        assert all(torch.equal(v, state[k]) for k, v in _state(eccv16).items())
    finally:
        eccv16.eval()
    np.testing.assert_array_equal(out, colorize_array(eccv16, img, size=64))  # ran with running stats
