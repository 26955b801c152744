"""The feature-extractor registry, through a tiny extractor registered by this test only: its
features from ``extract_features`` against a direct NumPy computation, and its id carried into the
feature cache's keys and into statistics files, end to end through the ``fid`` CLI."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.cli import main
from core.features import (
    FeatureCache,
    FeatureExtractor,
    extract_features,
    get_extractor,
    list_extractors,
    register,
    unregister,
)
from core.features.inception import EXTRACTOR_ID as INCEPTION_ID
from core.images import open_image_set
from core.metrics.compare import CompareSettings, StatsSource, compare
from core.metrics.stats import load_stats
from tests.reference.fake_extractor import FAKE, FAKE_ID, SIZE, reference_features


def _images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)


def _folder(path: Path, images: np.ndarray) -> Path:
    path.mkdir()
    for i, img in enumerate(images):
        Image.fromarray(img).save(path / f"{i:03d}.png")
    return path


def _sorted_rows(a: np.ndarray) -> np.ndarray:
    return a[np.lexsort(a.T[::-1])]


def test_registration_lookup_and_removal(fake_extractor) -> None:
    assert get_extractor("means-proj") is FAKE and get_extractor(FAKE_ID) is FAKE
    assert list_extractors()[0] is get_extractor("inception")  # the default stays first
    assert FAKE in list_extractors()
    with pytest.raises(ValueError, match="already registered"):
        register(FAKE)
    with pytest.raises(ValueError, match=r"unknown feature extractor 'dinov2'; registered: inception"):
        get_extractor("dinov2")
    with pytest.raises(ValueError, match="must be letters"):
        FeatureExtractor(
            id="bad id",
            name="x",
            description="",
            dim=1,
            modes=("m",),
            load=FAKE.load,
            preprocess=FAKE.preprocess,
            forward=FAKE.forward,
        )


def test_unregister_removes_by_name() -> None:
    before = list_extractors()
    register(FAKE)
    assert unregister("means-proj") is FAKE
    assert list_extractors() == before
    with pytest.raises(ValueError, match="unknown feature extractor"):
        get_extractor(FAKE_ID)


@pytest.mark.parametrize("mode", ["pool", "stride"])
def test_extract_features_matches_numpy(fake_extractor, mode: str) -> None:
    imgs = _images(7, seed=1)
    stages: list[tuple[str, int, int | None]] = []
    # NHWC array, NCHW tensor and one H x W x 3 image, regrouped into model batches of 3
    source = [imgs[:4], torch.from_numpy(imgs[4:6]).permute(0, 3, 1, 2), imgs[6]]
    feats = extract_features(
        source,
        extractor="means-proj",
        mode=mode,
        device="cpu",
        batch_size=3,
        progress=lambda s, d, t: stages.append((s, d, t)),
    )
    assert feats.shape == (7, 8) and feats.dtype == np.float32
    np.testing.assert_allclose(feats, reference_features(imgs, mode), rtol=1e-6, atol=1e-6)
    assert [d for _, d, _ in stages] == [0, 3, 6, 7] and {t for _, _, t in stages} == {7}
    # the default mode is the first one
    np.testing.assert_array_equal(
        extract_features(imgs, extractor=FAKE, device="cpu"),
        extract_features(imgs, extractor=FAKE, mode="pool", device="cpu"),
    )
    with pytest.raises(ValueError, match="resize mode 'tf1' for the means-proj extractor"):
        extract_features(imgs, extractor=FAKE, mode="tf1", device="cpu")


def _run_cli(*argv: str) -> dict:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main([*argv, "--json", "--quiet", "--device", "cpu"]) == 0
    return json.loads(buf.getvalue())


def test_cache_key_and_stats_file_carry_the_extractor_id(fake_extractor, tmp_path) -> None:
    imgs_a, imgs_b = _images(12, seed=2), _images(10, seed=3)
    a, b = _folder(tmp_path / "a", imgs_a), _folder(tmp_path / "b", imgs_b)
    out_stats = tmp_path / "a_stats.npz"
    res = _run_cli(
        "fid",
        str(a),
        str(b),
        "--extractor",
        "means-proj",
        "--mode",
        "stride",
        "-n",
        "10",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--save-stats",
        str(out_stats),
    )
    assert res["feature_extractor"] == FAKE_ID and res["n_a"] == 10

    # the cache holds one entry per set, keyed by content, mode and the extractor's id
    cache = FeatureCache.in_cache_dir(tmp_path / "cache")
    files = sorted(cache.root.glob("*.npz"))
    assert len(files) == 2 and all(p.name.endswith(f"__stride__{FAKE_ID}.npz") for p in files)
    key_b = cache.key_for(open_image_set(b).content_hash(), "stride", FAKE_ID)
    np.testing.assert_allclose(
        _sorted_rows(cache.get(key_b)),
        _sorted_rows(reference_features(imgs_b, "stride").astype(np.float32)),
        rtol=1e-6,
        atol=1e-6,
    )

    # the statistics file names the extractor and the mode; mu/sigma are those of A's 10 images
    stats = load_stats(out_stats)  # an 8-d file is accepted: its extractor is registered with dim 8
    assert (stats.extractor, stats.mode, stats.n) == (FAKE_ID, "stride", 10)
    used = open_image_set(a).subset(10, 0).to_tensor().permute(0, 2, 3, 1).numpy()
    ref = reference_features(used, "stride")
    np.testing.assert_allclose(stats.mu, ref.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stats.sigma, np.cov(ref, rowvar=False), rtol=1e-4, atol=1e-6)
    with np.load(out_stats) as raw:  # the file's own keys, as another tool sees them
        assert str(raw["extractor"]) == FAKE_ID and str(raw["mode"]) == "stride"

    # a second run re-uses both cached sets
    again = _run_cli(
        "fid",
        str(a),
        str(b),
        "--extractor",
        FAKE_ID,
        "--mode",
        "stride",
        "-n",
        "10",
        "--cache-dir",
        str(tmp_path / "cache"),
    )
    assert again["cached"] == {"features A": True, "features B": True}
    assert again["fid"]["value"] == res["fid"]["value"]


def test_compare_refuses_statistics_of_another_extractor(fake_extractor, tmp_path) -> None:
    b = open_image_set(_folder(tmp_path / "b", _images(4, seed=4)))
    rng = np.random.default_rng(5)
    x = rng.standard_normal((50, 8))
    settings = CompareSettings(
        metrics=("fid",), device="cpu", feature_extractor="means-proj", fid_mode="pool"
    )
    inception_stats = StatsSource("ref.npz", x.mean(0), np.cov(x, rowvar=False), 50, INCEPTION_ID, "tf1")
    with pytest.raises(
        ValueError, match=f"computed with the feature extractor '{INCEPTION_ID}', not '{FAKE_ID}'"
    ):
        compare(inception_stats, b, settings)

    # another resize mode of the same extractor is refused too
    stride = StatsSource("ref.npz", x.mean(0), np.cov(x, rowvar=False), 50, FAKE_ID, "stride")
    with pytest.raises(ValueError, match="computed with the 'stride' resize, this comparison uses 'pool'"):
        compare(stride, b, settings)
    # unlabelled statistics (pytorch-fid / clean-fid files) are taken, marked "provenance unknown"
    for extractor, mode, unknown in ((None, None, True), (FAKE_ID, "pool", False)):
        src = StatsSource("ref.npz", x.mean(0), np.cov(x, rowvar=False), 50, extractor, mode)
        res = compare(src, b, settings)
        assert res.fid.value > 0 and res.extractor == FAKE_ID
        assert any("provenance unknown" in w for w in res.warnings) == unknown
