"""Animations are read within bounded memory: frames are downscaled as they are decoded, and
frames x pixels are capped (issue 11, section 5)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from core.gan import frames as frames_mod
from core.gan.frames import MAX_FRAME_SIDE, AnimationError, split_animation
from tests.memory import run_probe


def _flat_gif(side: int, n: int) -> bytes:
    """``n`` flat-colour ``side`` x ``side`` palette frames: a few KB however large the frames."""
    ims = [Image.new("P", (side, side), color=i % 200) for i in range(n)]
    pal = [v for i in range(256) for v in (i, 255 - i, (7 * i) % 256)]
    for im in ims:
        im.putpalette(pal)
    buf = io.BytesIO()
    ims[0].save(buf, format="GIF", save_all=True, append_images=ims[1:], duration=100, loop=0, disposal=1)
    return buf.getvalue()


def test_large_frames_are_downscaled_as_read_within_a_memory_ceiling(tmp_path):
    side, n = 2500, 25  # 25 full frames would be 25 x 18.75 MB = 470 MB as RGB arrays
    gif = tmp_path / "big.gif"
    gif.write_bytes(_flat_gif(side, n))
    assert gif.stat().st_size < 200_000
    probe = run_probe(
        f"""
        from core.gan.frames import split_animation
        path = {str(gif)!r}
        """,
        """
        fr = split_animation(path)
        result = {"n": len(fr), "shapes": sorted({a.shape for a in fr}), "first": fr[0][0, 0].tolist(),
                  "last": fr[-1][0, 0].tolist()}
        """,
    )
    assert probe.result["n"] == n
    assert probe.result["shapes"] == [[MAX_FRAME_SIDE, MAX_FRAME_SIDE, 3]]
    assert probe.result["first"] == [0, 255, 0] and probe.result["last"] == [24, 231, 168]
    assert probe.growth_mib < 256, f"peak grew by {probe.growth_mib:.0f} MiB"


def test_too_many_pixels_times_frames_is_refused_before_decoding_them(monkeypatch):
    data = _flat_gif(100, 12)
    assert len(split_animation(data, "ok.gif")) == 12
    monkeypatch.setattr(frames_mod, "MAX_PIXEL_FRAMES", 100 * 100 * 10)
    with pytest.raises(AnimationError, match=r"many\.gif: animation has more than 100,000 pixels x frames"):
        split_animation(data, "many.gif")


def test_small_frames_come_back_exactly():
    rng = np.random.default_rng(0)
    pal_frames = [rng.integers(0, 4, (30, 40), dtype=np.uint8) * 60 for _ in range(3)]
    ims = [Image.fromarray(np.stack([f] * 3, axis=2)) for f in pal_frames]
    buf = io.BytesIO()
    ims[0].save(buf, format="GIF", save_all=True, append_images=ims[1:], duration=100, loop=0, disposal=1)
    got = split_animation(buf.getvalue(), "small.gif")
    assert [g.shape for g in got] == [(30, 40, 3)] * 3
    for g, f in zip(got, pal_frames, strict=True):
        np.testing.assert_array_equal(g[:, :, 0], f)
