"""Frames (grid, GIF/WebP round trip, bad animations) and the run-directory format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.gan import runs
from core.gan.frames import (
    AnimationError,
    GridLayout,
    assemble_animation,
    common_grid,
    crop_grid,
    grid_columns,
    image_grid,
    split_animation,
    write_png,
)
from core.gan.runs import frame_at_or_before, merged_steps, neighbor_step


def _frames(n: int, h: int = 20, w: int = 28) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    palette = rng.integers(0, 256, (200, 3), dtype=np.uint8)  # <= 256 colours per frame
    return [palette[rng.integers(0, 200, (h, w))] for _ in range(n)]


def test_frame_at_or_before():
    steps = [0, 25, 50, 100]
    assert frame_at_or_before(steps, 0) == 0
    assert frame_at_or_before(steps, 24) == 0
    assert frame_at_or_before(steps, 25) == 1
    assert frame_at_or_before(steps, 99) == 2
    assert frame_at_or_before(steps, 10_000) == 3
    assert frame_at_or_before([10, 20], 5) is None
    assert frame_at_or_before([], 5) is None
    # two runs with different intervals on one slider
    a, b = [0, 25, 50, 75, 100], [0, 40, 80, 120]
    assert [a[frame_at_or_before(a, s)] for s in (0, 30, 79, 80, 130)] == [0, 25, 75, 75, 100]
    assert [b[frame_at_or_before(b, s)] for s in (0, 30, 79, 80, 130)] == [0, 0, 40, 80, 120]


def test_neighbor_and_merged_steps():
    steps = merged_steps([0, 25, 50], [0, 40])
    assert steps == [0, 25, 40, 50]
    assert neighbor_step(steps, 25, +1) == 40
    assert neighbor_step(steps, 30, +1) == 40
    assert neighbor_step(steps, 30, -1) == 25
    assert neighbor_step(steps, 25, -1) == 0
    assert neighbor_step(steps, 50, +1) == 50
    assert neighbor_step(steps, 0, -1) == 0


def test_image_grid_layout():
    x = torch.full((5, 3, 4, 6), -1.0)
    x[3] = 1.0  # fourth image white
    g = image_grid(x, nrow=2, padding=1)
    assert g.shape == (1 + 3 * 5, 1 + 2 * 7, 3) and g.dtype == np.uint8
    assert (g[1 + 5 : 1 + 5 + 4, 1 + 7 : 1 + 7 + 6] == 255).all()  # row 1, col 1
    assert g[1:5, 1:7].max() == 0


@pytest.mark.parametrize(("n", "cols", "rows"), [(1, 1, 1), (4, 2, 2), (10, 3, 4), (25, 5, 5), (64, 8, 8)])
def test_grid_layout_is_the_shape_of_the_frames_written(n, cols, rows):
    layout = GridLayout(n, 6)
    assert (layout.cols, layout.rows) == (cols, rows) and grid_columns(n) == cols
    frame = image_grid(torch.zeros(n, 3, 6, 6), nrow=grid_columns(n))
    assert frame.shape == (*layout.shape, 3) == (2 + rows * 8, 2 + cols * 8, 3)


def test_crop_grid_keeps_the_top_left_samples_and_their_border():
    values = np.linspace(-1, 1, 64)
    frame = image_grid(
        torch.tensor(values, dtype=torch.float32).view(64, 1, 1, 1).expand(64, 3, 4, 4), nrow=8
    )
    layout = GridLayout(64, 4)
    cut = crop_grid(frame, layout, 5)
    assert cut.shape == (*GridLayout(25, 4).shape, 3) == (32, 32, 3)
    expected = np.zeros((32, 32), np.uint8)  # black border, sample r * 8 + c in cell (r, c)
    for r in range(5):
        for c in range(5):
            expected[2 + 6 * r : 6 + 6 * r, 2 + 6 * c : 6 + 6 * c] = round((values[r * 8 + c] + 1) * 127.5)
    assert (cut == expected[..., None]).all()
    with pytest.raises(ValueError, match="not the 8x8 grid of 4 px samples"):
        crop_grid(frame[:-1], layout, 5)
    with pytest.raises(ValueError, match="cannot cut 9x9 whole samples out of a 8x8 grid"):
        crop_grid(frame, layout, 9)


def test_common_grid_is_the_largest_whole_square_all_runs_hold():
    assert common_grid([GridLayout(25, 32), GridLayout(25, 64)]) is None  # same grid, any size
    assert common_grid([GridLayout(64, 32)]) is None
    assert common_grid([GridLayout(64, 32), GridLayout(25, 32)]) == 5
    assert common_grid([GridLayout(10, 32), GridLayout(64, 32)]) == 3  # 10: 3 per row, 3 whole rows
    assert common_grid([GridLayout(2, 32), GridLayout(25, 32)]) == 1


@pytest.mark.parametrize("suffix", [".gif", ".webp"])
def test_animation_round_trip(tmp_path, suffix):
    if suffix == ".webp":
        from PIL import features

        if not features.check("webp"):
            pytest.skip("Pillow without WebP")
    frames = _frames(5)
    path = assemble_animation(frames, tmp_path / f"a{suffix}")
    back = split_animation(path)
    assert len(back) == 5
    for a, b in zip(frames, back, strict=False):
        np.testing.assert_array_equal(a, b)
    # a frame identical to its predecessor is stored as a longer display of it (documented)
    dup = [*frames[:2], frames[1].copy(), *frames[2:]]
    back_dup = split_animation(assemble_animation(dup, tmp_path / f"d{suffix}"))
    assert len(back_dup) == 5 and all(np.array_equal(a, b) for a, b in zip(frames, back_dup, strict=False))
    # bytes input (an upload) gives the same
    assert all(
        np.array_equal(a, b) for a, b in zip(back, split_animation(path.read_bytes(), "x"), strict=False)
    )


def test_assemble_from_png_paths(tmp_path):
    frames = _frames(3)
    paths = [write_png(f, tmp_path / f"f{i}.png") for i, f in enumerate(frames)]
    back = split_animation(assemble_animation(paths, tmp_path / "p.gif"))
    assert all(np.array_equal(a, b) for a, b in zip(frames, back, strict=False))


def test_still_and_broken_animations_are_rejected(tmp_path):
    still = tmp_path / "still.gif"
    Image.fromarray(_frames(1)[0]).save(still)
    with pytest.raises(AnimationError, match="still GIF image.*not an animation"):
        split_animation(still)
    png = tmp_path / "x.png"
    Image.fromarray(_frames(1)[0]).save(png)
    with pytest.raises(AnimationError, match="not an animated GIF or WebP"):
        split_animation(png)
    good = assemble_animation(_frames(3), tmp_path / "g.gif").read_bytes()
    with pytest.raises(AnimationError, match="cut.gif: broken or unreadable"):
        split_animation(good[: len(good) // 2], "cut.gif")
    with pytest.raises(AnimationError, match="noise.gif: broken or unreadable"):
        split_animation(b"GIF89a" + bytes(range(256)) * 4, "noise.gif")
    with pytest.raises(AnimationError, match="empty"):
        split_animation(b"", "empty.gif")


def _fake_run(tmp_path, steps=(0, 10, 20)):
    d = tmp_path / "run"
    runs.write_config(d, {"model": "wgan", "steps": 20})
    for s in steps:
        write_png(_frames(1)[0], runs.frame_path(d, s))
    runs.append_losses(d, [(1, -0.5, 0.25, 0.5), (2, 0.1 + 0.2, 1 / 3, None)])
    runs.append_quality(d, 0, 12.5, [(32, 10.0), (16, 15.0)])
    runs.append_quality(d, 10, 8.0, [(32, 6.0), (16, 10.0)])
    return d


def test_run_round_trip_and_truncate(tmp_path):
    d = _fake_run(tmp_path)
    tl = runs.load_run(d)
    assert tl.steps == [0, 10, 20]
    assert tl.config["format"] == runs.FORMAT and tl.config["model"] == "wgan"
    assert tl.losses.loss_d == [-0.5, 0.1 + 0.2] and tl.losses.loss_g[1] == 1 / 3  # exact
    assert tl.losses.em_estimate == [0.5, None] and tl.losses.has_em
    assert tl.quality.steps == [0, 10] and tl.quality.levels == {32: [10.0, 6.0], 16: [15.0, 10.0]}
    assert tl.at(15) == (1, 10) and tl.frame(2).shape == (20, 28, 3)
    assert tl.notes == []  # no progress.gif: the viewer needs none, so no note about it
    runs.truncate_after(d, 1)
    tl = runs.load_run(d)
    assert tl.losses.steps == [1] and tl.quality.steps == [0] and tl.steps == [0]


def test_timeline_grid_is_the_layout_of_its_frames(tmp_path):
    from core.gan.demo import DEMO_RUNS

    demo_dir = Path(__file__).resolve().parents[3] / "dashboard" / "demo_runs"
    for name, config in DEMO_RUNS.items():
        tl = runs.load_run(demo_dir / name)
        assert tl.grid == GridLayout(config.grid, config.size)
        assert tl.frame(0).shape[:2] == tl.grid.shape
    gif = assemble_animation(_frames(2), tmp_path / "a.gif")
    assert runs.load_animation(gif).grid is None


def test_broken_run_folders_name_missing_files(tmp_path):
    d = _fake_run(tmp_path)
    (d / runs.LOSSES).unlink()
    with pytest.raises(runs.RunError, match="missing losses.csv"):
        runs.load_run(d)
    for p in (d / runs.FRAMES).iterdir():
        p.unlink()
    (d / runs.CONFIG).unlink()
    with pytest.raises(runs.RunError) as exc:
        runs.load_run(d)
    msg = str(exc.value)
    assert "config.json" in msg and "losses.csv" in msg and "frames" in msg
    with pytest.raises(runs.RunError, match="no such run folder"):
        runs.load_run(tmp_path / "nope")
    d2 = _fake_run(tmp_path / "b")
    (d2 / runs.CONFIG).write_text("{not json")
    with pytest.raises(runs.RunError, match="not valid JSON"):
        runs.load_run(d2)


def test_list_runs(tmp_path):
    _fake_run(tmp_path)
    (tmp_path / "other").mkdir()
    assert [p.name for p in runs.list_runs(tmp_path)] == ["run"]
    assert runs.list_runs(tmp_path / "missing") == []
    assert json.loads((tmp_path / "run" / "config.json").read_text())["version"] == runs.VERSION


def test_extra_loss_terms_round_trip_exactly(tmp_path):
    # a trainer with more loss terms (CycleGAN) writes them after the four standard columns
    rows = [(1, 0.5, 2.0, None, 1 / 3, 0.125), (2, 0.25, 1.5, None, 0.1 + 0.2, float("nan"))]
    runs.append_losses(tmp_path, rows, extra=("cycle_a", "idt_a"))
    log = runs.read_losses(tmp_path / runs.LOSSES)
    assert log.steps == [1] and log.non_finite_steps == [2]
    assert log.extra == {"cycle_a": [1 / 3], "idt_a": [0.125]}
    with pytest.raises(ValueError, match="needs 5 values"):
        runs.append_losses(tmp_path, [(3, 0.1, 0.2, None, 0.3)], extra=("cycle_a", "idt_a"))
