"""The CycleGAN image pool behaves as the paper and the official ImagePool say: it stores and
returns images while filling, then returns a stored image (swapping the new one in) or the new
image with even odds; its checkpoint continues exactly."""

from __future__ import annotations

import pytest
import torch

from core.models.training.image_pool import ImagePool


def _images(start: int, n: int) -> torch.Tensor:
    """n distinct 1 x 2 x 2 images whose every pixel is their id."""
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 2, 2).clone()


def _ids(batch: torch.Tensor) -> list[int]:
    return [int(x) for x in batch[:, 0, 0, 0]]


def test_while_filling_it_stores_and_returns_the_new_images():
    pool = ImagePool(5, torch.Generator().manual_seed(0))
    assert _ids(pool.query(_images(0, 3))) == [0, 1, 2]
    assert _ids(pool.query(_images(3, 2))) == [3, 4] and len(pool) == 5
    assert sorted(_ids(torch.cat(pool.images))) == [0, 1, 2, 3, 4]


def test_when_full_it_swaps_with_probability_one_half_as_an_independent_replay_says():
    size, seed = 4, 7
    pool = ImagePool(size, torch.Generator().manual_seed(seed))
    pool.query(_images(0, size))
    # the paper's rule, replayed on a plain list with the same draws
    ref_g, stored = torch.Generator().manual_seed(seed), list(range(size))
    swaps, served = 0, []
    for start in range(size, size + 400, 4):
        out = _ids(pool.query(_images(start, 4)))
        expected = []
        for new in range(start, start + 4):
            if float(torch.rand((), generator=ref_g)) > 0.5:
                i = int(torch.randint(0, size, (1,), generator=ref_g))
                expected.append(stored[i])
                stored[i] = new
                swaps += 1
            else:
                expected.append(new)
        assert out == expected
        served += out
    assert _ids(torch.cat(pool.images)) == stored
    assert 0.4 < swaps / 400 < 0.6  # even odds
    assert any(s < size for s in served)  # images from the fill phase come back later


def test_size_zero_passes_the_batch_through():
    pool = ImagePool(0)
    batch = _images(0, 3)
    assert torch.equal(pool.query(batch), batch) and len(pool) == 0


def test_checkpoint_continues_exactly():
    a = ImagePool(3, torch.Generator().manual_seed(1))
    for start in range(0, 12, 2):
        a.query(_images(start, 2))
    b = ImagePool(3, torch.Generator().manual_seed(99))
    b.load_state_dict(a.state_dict())
    for start in range(12, 40, 2):
        assert torch.equal(a.query(_images(start, 2)), b.query(_images(start, 2)))
    with pytest.raises(ValueError, match="pool size 3 in the checkpoint, 5 asked"):
        ImagePool(5).load_state_dict(a.state_dict())
