"""The shipped demo models: listed by the zoo as present without download, checked against their
manifest digest, never fetched or deleted, a damaged one says how to rebuild it; the shipped
translator turns the example discs into squares (and back) and the shipped colorizer colours the
example photos better than gray, measured here through the pages' own pipelines; the builder
writes a manifest that matches its files."""

from __future__ import annotations

import dataclasses
import urllib.request

import numpy as np
import pytest
import torch

from core.cli import main as cli_main
from core.images.examples import example_images
from core.models.demo.manifest import REBUILD_COMMAND, WEIGHTS_DIR, demo_entries
from core.models.download import (
    DownloadError,
    cache_status,
    cached_path,
    ensure_model,
    model_dir,
    remove_cached,
    require_cached,
)
from core.models.lab import rgb2lab
from core.models.loading import load_model_info
from core.models.networks.cyclegan import ResnetGenerator
from core.models.zoo import ModelSpec, demo_models, find_spec, get_spec, list_models
from core.runtime.hashing import sha256_file

DEMO_NAMES = ["demo_discs2squares", "demo_squares2discs", "demo_colorizer"]


@pytest.fixture
def offline(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a demo model must never touch the network")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


@pytest.fixture
def fake_demo(tmp_path) -> ModelSpec:
    path = tmp_path / "shipped" / "demo_x.pth"
    path.parent.mkdir()
    torch.manual_seed(0)
    torch.save(ResnetGenerator(ngf=4, n_blocks=2).state_dict(), path)
    return ModelSpec(
        "demo_x", "cyclegan_resnet", path.as_uri(), sha256_file(path), "Demo: x", bundled=path, resolution=32
    )


def test_a_shipped_file_is_present_without_any_download(fake_demo, tmp_path, offline):
    cache = tmp_path / "cache"
    status = cache_status(fake_demo, cache)
    assert (status.state, status.usable, status.path, status.label) == (
        "shipped",
        True,
        fake_demo.bundled,
        "shipped with GAN Lens",
    )
    assert ensure_model(fake_demo, cache_dir=cache) == require_cached(fake_demo, cache) == fake_demo.bundled
    assert cached_path(fake_demo, cache) == fake_demo.bundled
    assert not remove_cached(fake_demo, cache) and fake_demo.bundled.is_file()
    assert not model_dir(cache).exists() or not any(model_dir(cache).iterdir())  # nothing copied
    assert fake_demo.is_demo and fake_demo.secure
    assert load_model_info(ensure_model(fake_demo, cache_dir=cache)).config["n_blocks"] == 2


def test_a_damaged_or_missing_shipped_file_says_how_to_rebuild_it(fake_demo, tmp_path, offline):
    path = fake_demo.bundled
    path.write_bytes(path.read_bytes()[:-1] + b"x")
    status = cache_status(fake_demo, tmp_path)
    assert status.state == "corrupt" and "make demo-models" in status.problem
    with pytest.raises(
        DownloadError, match="demo_x: .*SHA-256.*rebuild the demo models with `make demo-models`"
    ):
        ensure_model(fake_demo, cache_dir=tmp_path)
    path.unlink()
    assert cache_status(fake_demo, tmp_path).state == "missing"
    with pytest.raises(DownloadError, match=f"demo_x: the shipped file {path} is missing; rebuild"):
        ensure_model(fake_demo, cache_dir=tmp_path)


def test_the_shipped_demos_are_listed_verified_and_loadable(offline):
    assert [s.name for s in demo_models()] == DEMO_NAMES
    assert [s.name for s in demo_models("colorization")] == ["demo_colorizer"]
    assert not any(s.is_demo for s in list_models())  # the download catalog stays as it was
    translation = list_models("translation", include_demos=True)
    assert [s.name for s in translation[-2:]] == DEMO_NAMES[:2] and not translation[0].is_demo
    entries = {e.name: e for e in demo_entries()}
    total = 0
    for name in DEMO_NAMES:
        spec = get_spec(name)
        assert find_spec(name.upper()) is spec and spec.bundled == WEIGHTS_DIR / f"{name}.pth"
        assert cache_status(spec).state == "shipped"
        entry = entries[name]
        assert entry.sha256 == sha256_file(spec.bundled) == spec.sha256
        assert entry.command == REBUILD_COMMAND and entry.steps > 0 and entry.trained_on
        info = load_model_info(spec.bundled)
        assert (info.arch, info.family) == (spec.arch, spec.family) == (entry.arch, entry.family)
        total += spec.bundled.stat().st_size
    assert total < 6_000_000  # a few MB in all


def _box_fills(images: list[np.ndarray]) -> list[float]:
    """For every amber shape (red minus blue above 60: amber is +210, the blue-teal background at
    most -50) not touching the border: the share of its bounding box it covers."""
    from scipy import ndimage

    fills = []
    for img in images:
        labels, n = ndimage.label(img[..., 0].astype(int) - img[..., 2].astype(int) > 60)
        for i in range(1, n + 1):
            ys, xs = np.nonzero(labels == i)
            h, w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
            if (
                len(ys) >= 16
                and ys.min() > 0
                and xs.min() > 0
                and ys.max() < img.shape[0] - 1
                and xs.max() < img.shape[1] - 1
            ):
                fills.append(len(ys) / (h * w))
    return fills


@pytest.mark.parametrize(
    "name,source,target",
    [("demo_discs2squares", "discs", "squares"), ("demo_squares2discs", "squares", "discs")],
)
def test_the_demo_translator_changes_the_shapes_of_the_examples(name, source, target, offline):
    """Through the Translate page's pipeline at the model's resolution: the shapes of the output
    fill their bounding boxes like the target shapes do (squares all of it, discs pi/4), and the
    background stays."""
    from core.models.translate import translate_named

    spec = get_spec(name)
    info = load_model_info(ensure_model(spec), spec.arch)
    inputs, wanted = example_images(source), example_images(target)
    results = translate_named(info, inputs, model_name=name, resolution=spec.resolution, device="cpu")
    outputs = [r.output for r in results]
    fill_in, fill_out = np.mean(_box_fills([i for _, i in inputs])), np.mean(_box_fills(outputs))
    fill_target = np.mean(_box_fills([w for _, w in wanted]))
    assert abs(fill_out - fill_target) < abs(fill_out - fill_in), (fill_in, fill_out, fill_target)
    for out, (_, w), (_, i) in zip(outputs, wanted, inputs, strict=True):
        rest = (w == i).all(axis=2)  # away from the shapes' corners and sides
        assert np.abs(out.astype(int) - i.astype(int))[rest].mean() < 20


def test_the_demo_colorizer_colours_the_example_photos_better_than_gray(offline):
    from core.models.colorize import colorize_array, load_colorizer

    loaded = load_colorizer("demo_colorizer", device="cpu")
    assert loaded.arch == "color_unet" and loaded.net_size == get_spec("demo_colorizer").resolution
    for _name, photo in example_images("photos"):
        out = colorize_array(loaded, photo)
        ab_true = rgb2lab(photo)[..., 1:]
        ab_out = rgb2lab(out)[..., 1:]
        error, gray = np.abs(ab_out - ab_true).mean(), np.abs(ab_true).mean()
        assert error < 0.8 * gray, (error, gray)


def test_the_translate_cli_runs_a_demo_by_name_offline(tmp_path, offline, capsys):
    from PIL import Image

    (_, disc), *_ = example_images("discs")
    Image.fromarray(disc).save(tmp_path / "disc.png")
    assert (
        cli_main(
            [
                "translate",
                "--model",
                "demo_discs2squares",
                str(tmp_path / "disc.png"),
                "--out",
                str(tmp_path / "out"),
                "--resolution",
                "64",
                "--device",
                "cpu",
                "--quiet",
            ]
        )
        == 0
    )
    assert (tmp_path / "out" / "disc_demo_discs2squares.png").is_file()
    assert cli_main(["models", "list", "--family", "colorization"]) == 0
    listing = capsys.readouterr().out
    assert "demo_colorizer" in listing and "shipped with GAN Lens" in listing


def test_the_builder_writes_weights_and_a_manifest_that_match(tmp_path):
    from core.models.demo.build import COLORIZER, TRANSLATOR, make_demo_models

    tiny_t = dataclasses.replace(
        TRANSLATOR, steps=2, size=32, load_size=32, ngf=4, ndf=4, n_blocks=1, snapshot_every=2
    )
    tiny_c = dataclasses.replace(COLORIZER, steps=2, base_channels=4, depth=1, snapshot_every=2)
    report = make_demo_models(tmp_path / "w", translator=tiny_t, colorizer=tiny_c, runs_dir=tmp_path / "runs")
    models = report.manifest["models"]
    assert [m["name"] for m in models] == DEMO_NAMES
    for m in models:
        path = tmp_path / "w" / m["file"]
        assert m["sha256"] == sha256_file(path) and m["steps"] == 2 and m["command"] == REBUILD_COMMAND
        assert load_model_info(path).arch == m["arch"]
    assert set(models[0]["quality"]) >= {"box_fill_output", "corners_moved", "rest_l1_output_to_input"}
    assert set(models[2]["quality"]) == {"held_out_crops", "whole_photos"}
    assert (tmp_path / "runs" / "translator" / "losses.csv").is_file()
    assert (tmp_path / "w" / "manifest.json").is_file() and not (tmp_path / "w" / ".build").exists()


def test_the_shape_check_on_known_answers():
    """An identity "translator" moves nothing; box fill is 1 for a square and about pi r^2 / (2r + 1)^2
    for a pixel disc of radius r (pi / 4 for large ones)."""
    from core.models.demo.evaluate import box_fill, shape_check

    check = shape_check(torch.nn.Identity(), "disc", n=16, size=64)
    assert check.box_fill_output == check.box_fill_input and check.corners_moved == 0
    assert check.rest_l1_output_to_input == 0
    assert check.box_fill_target > check.box_fill_input
    yy, xx = np.mgrid[0:101, 0:101]
    square = np.zeros((1, 101, 101), bool)
    square[0, 20:60, 30:70] = True
    disc = ((yy - 50) ** 2 + (xx - 50) ** 2 <= 30**2)[None]
    assert box_fill(square) == 1.0 and box_fill(disc) == pytest.approx(np.pi * 30**2 / 61**2, abs=0.01)
