"""The sharded feature pass (core.features.sharded, core.features.shards, core.images.manifest):
shards cover every image once, K gloo processes give the statistics of one process, merged halves
give the whole, a killed and resumed run gives an uninterrupted one, provenance is checked, and a
feature folder serves FID/KID/PRDC like the images it was made from. Exactness is checked with the
float64 fake extractor, whose features are written independently in NumPy."""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections import Counter
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
from PIL import Image

from core.cli import main
from core.features.sharded import feature_pass
from core.features.shards import (
    FeatureFolder,
    ShardError,
    plan_shards,
    rank_shards,
    shard_paths,
)
from core.images import open_image_set
from core.images.manifest import Manifest, ManifestError
from core.metrics.compare import CompareSettings, compare, open_source
from core.metrics.fid import frechet_distance
from core.metrics.stats import (
    GaussianStats,
    StatsFileError,
    load_stats,
    merge_stats,
    save_stats,
)
from core.runtime.distributed import Group
from tests.core.features.ranks import run_ranks
from tests.reference.fake_extractor import FAKE_ID, SIZE, reference_features

ALONE = Group()  # a process without torchrun: a group of one


def _images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)


def _folder(path: Path, images: np.ndarray, start: int = 0) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(images):
        sub = path / ("a" if (start + i) % 3 else "b")  # nested folders: the order is by relative path
        sub.mkdir(exist_ok=True)
        Image.fromarray(img).save(sub / f"{start + i:03d}.png")
    return path


def _reference(images: np.ndarray, names_order: list[int]) -> tuple[np.ndarray, np.ndarray, int]:
    """mean and covariance of the fake extractor's features, in NumPy (float32 rows, as stored)."""
    f = reference_features(images[names_order], "pool").astype(np.float32).astype(np.float64)
    return f.mean(0), np.cov(f, rowvar=False), f.shape[0]


def _fid_scipy(mu1, s1, mu2, s2) -> float:
    """TTUR's formula with scipy's sqrtm (independent of core.metrics.fid)."""
    covmean = np.real(scipy.linalg.sqrtm(s1 @ s2))
    d = mu1 - mu2
    return float(d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@pytest.mark.parametrize("world", [1, 2, 3])
def test_shards_cover_every_image_exactly_once(world: int) -> None:
    for n in (1, 2, 3, 5, 7, 10, 31, 101):
        for max_shard in (1, 2, 3, 10, 1000):
            bounds = plan_shards(n, world, max_shard)
            seen = Counter()
            per_rank = []
            for rank in range(world):
                mine = rank_shards(len(bounds), rank, world)
                per_rank.append(sum(bounds[i][1] - bounds[i][0] for i in mine))
                for i in mine:
                    seen.update(range(*bounds[i]))
            assert seen == Counter(range(n)), (n, world, max_shard)
            assert all(e > s for s, e in bounds)  # no empty shard
            assert max(e - s for s, e in bounds) <= max_shard
            if n >= world:  # every rank has work, and the shares differ by at most a shard
                assert len(bounds) % world == 0 or len(bounds) == n
                assert min(per_rank) > 0
                assert max(per_rank) - min(per_rank) <= max(e - s for s, e in bounds)


def test_manifest_lists_once_in_canonical_order_and_detects_edits(tmp_path) -> None:
    images = _images(7, seed=1)
    src = _folder(tmp_path / "set", images)
    (src / "notes.txt").write_text("not an image")
    m = Manifest.build(src)
    assert list(m.names) == open_image_set(src).names  # the one canonical order
    assert list(m.names) == sorted(m.names, key=lambda n: n.split("/"))
    assert [s.name for s in m.skipped] == ["notes.txt"]
    again = Manifest.from_json(m.to_json())
    assert again == m and again.digest == m.digest
    shard = m.image_set(2, 5)
    assert shard.names == list(m.names[2:5])
    np.testing.assert_array_equal(shard.read(0), open_image_set(src).read(2))
    edited = json.loads(m.to_json())
    edited["names"][0] = "b/999.png"
    with pytest.raises(ManifestError, match="does not match its digest"):
        Manifest.from_json(json.dumps(edited), "manifest.json")


def test_two_gloo_processes_equal_one_process_and_numpy(fake_extractor, tmp_path) -> None:
    images = _images(37, seed=2)  # 37: uneven over 2 ranks and over the shards
    src = _folder(tmp_path / "a", images)
    b_images = _images(37, seed=3)  # the same N, so that no subset of A is drawn
    one = feature_pass(src, tmp_path / "one", ALONE, extractor=FAKE_ID, mode="pool", max_shard=100)
    assert (one.shards, one.rows, one.computed) == (1, 37, 1)
    run_ranks(2, src, tmp_path / "two", mode="pool", max_shard=7)  # 6 shards, 3 per rank
    s1, s2 = load_stats(one.stats_path), load_stats(tmp_path / "two" / "stats.npz")
    assert len(FeatureFolder.open(tmp_path / "two").records) == 6
    assert s1.n == s2.n == 37 and s2.provenance_known and (s2.extractor, s2.mode) == (FAKE_ID, "pool")
    np.testing.assert_allclose(s2.sums.sum_outer, s1.sums.sum_outer, rtol=1e-13)
    # an independent reference: NumPy features in the manifest's order, np.cov, scipy's sqrtm
    order = [int(Path(n).stem) for n in Manifest.build(src).names]
    mu_ref, sigma_ref, _ = _reference(images, order)
    np.testing.assert_allclose(s2.mu, mu_ref, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(s2.sigma, sigma_ref, rtol=1e-6, atol=1e-9)
    fb = reference_features(b_images, "pool").astype(np.float32).astype(np.float64)
    mu_b, sigma_b = fb.mean(0), np.cov(fb, rowvar=False)
    fid1 = frechet_distance(s1.mu, s1.sigma, mu_b, sigma_b)
    fid2 = frechet_distance(s2.mu, s2.sigma, mu_b, sigma_b)
    assert fid2 == pytest.approx(fid1, rel=1e-10)
    assert fid2 == pytest.approx(_fid_scipy(mu_ref, sigma_ref, mu_b, sigma_b), rel=1e-6)
    # the CLI path: the statistics file as set A gives the FID of the images themselves
    b = _folder(tmp_path / "b", b_images)
    st = CompareSettings(metrics=("fid",), device="cpu", feature_extractor=FAKE_ID, fid_mode="pool")
    from_images = compare(open_image_set(src), open_image_set(b), st).fid.value
    from_stats = compare(open_source(tmp_path / "two" / "stats.npz"), open_image_set(b), st).fid.value
    assert from_stats == pytest.approx(from_images, rel=1e-10)


def test_merge_of_two_halves_equals_the_whole(fake_extractor, tmp_path) -> None:
    images = _images(25, seed=4)
    whole = _folder(tmp_path / "whole", images)
    _folder(tmp_path / "h1", images[:12])
    _folder(tmp_path / "h2", images[12:], start=12)
    for name in ("whole", "h1", "h2"):
        feature_pass(tmp_path / name, tmp_path / f"out-{name}", ALONE, extractor=FAKE_ID, max_shard=5)
    buf = io.StringIO()
    with redirect_stdout(buf):
        code = main(
            [
                "merge-stats",
                str(tmp_path / "out-h1" / "stats.npz"),
                str(tmp_path / "out-h2"),  # a feature folder merges as its statistics
                "--out",
                str(tmp_path / "all.npz"),
            ]
        )
    assert code == 0 and "N = 25" in buf.getvalue()
    merged, ref = load_stats(tmp_path / "all.npz"), load_stats(tmp_path / "out-whole" / "stats.npz")
    assert merged.n == ref.n == 25 and (merged.extractor, merged.mode) == (FAKE_ID, "pool")
    np.testing.assert_allclose(merged.sums.sum, ref.sums.sum, rtol=1e-13)
    np.testing.assert_allclose(merged.sums.sum_outer, ref.sums.sum_outer, rtol=1e-13)
    f = reference_features(images, "pool").astype(np.float32).astype(np.float64)
    np.testing.assert_allclose(merged.sigma, np.cov(f, rowvar=False), rtol=1e-6, atol=1e-9)
    other = np.random.default_rng(0).standard_normal((40, 8))
    mu_o, s_o = other.mean(0), np.cov(other, rowvar=False)
    assert frechet_distance(merged.mu, merged.sigma, mu_o, s_o) == pytest.approx(
        frechet_distance(ref.mu, ref.sigma, mu_o, s_o), rel=1e-10
    )
    _ = whole


def _mtimes(out: Path) -> dict[str, int]:
    # final names only: a rank killed mid-write may leave a hidden temporary file, never a final one
    return {
        p.name: p.stat().st_mtime_ns for p in sorted((out / "shards").iterdir()) if not p.name.startswith(".")
    }


def test_killed_and_resumed_run_equals_an_uninterrupted_one(fake_extractor, tmp_path) -> None:
    images = _images(23, seed=5)
    src = _folder(tmp_path / "set", images)
    whole = feature_pass(src, tmp_path / "whole", ALONE, extractor=FAKE_ID, max_shard=3)
    # a real kill: the last of 2 gloo ranks dies (SIGKILL) right after writing its first shard
    with pytest.raises(Exception):  # noqa: B017  (mp.spawn reports the dead rank)
        run_ranks(2, src, tmp_path / "run", die_after=1, max_shard=3)
    out = tmp_path / "run"
    assert not (out / "stats.npz").exists()
    with pytest.raises(ShardError, match="missing or incomplete"):
        FeatureFolder.open(out)
    # damage one finished shard as a crash of the disk would: it must be found and recomputed
    done = sorted(out.glob("shards/*.json"))
    assert done, "the killed rank wrote a shard first"
    victim = json.loads(done[0].read_text())["index"]
    with pytest.raises(ValueError, match="already holds a feature pass; add --resume"):
        feature_pass(src, out, ALONE, extractor=FAKE_ID, max_shard=3)
    with pytest.raises(ValueError, match="asks for .* with 'stride'"):
        feature_pass(src, out, ALONE, extractor=FAKE_ID, mode="stride", resume=True)
    from core.features.shards import PassPlan

    plan = PassPlan.from_json((out / "features.json").read_text(), "features.json")
    npy = shard_paths(out, plan, victim).features
    npy.write_bytes(npy.read_bytes()[:-4])  # truncated
    before = _mtimes(out)
    resumed = feature_pass(src, out, ALONE, extractor=FAKE_ID, max_shard=3, resume=True)
    assert resumed.reused == len(done) - 1 and resumed.computed == resumed.shards - resumed.reused
    after = _mtimes(out)
    finished = {p.name.split(".")[0] for p in done} - {plan.shard_name(victim)}
    kept = [f for f in before if f.split(".")[0] in finished]
    assert kept and all(after[f] == before[f] for f in kept)  # verified shards were not rewritten
    a, b = load_stats(resumed.stats_path), load_stats(whole.stats_path)
    assert a.n == b.n == 23
    np.testing.assert_allclose(a.sums.sum_outer, b.sums.sum_outer, rtol=1e-13)
    np.testing.assert_array_equal(
        FeatureFolder.open(out, digests=True).features(), FeatureFolder.open(tmp_path / "whole").features()
    )


def test_feature_folder_serves_kid_and_prdc_like_its_images(fake_extractor, tmp_path) -> None:
    a_images, b_images = _images(30, seed=6), _images(30, seed=7)
    src = _folder(tmp_path / "a", a_images)
    b = open_image_set(_folder(tmp_path / "b", b_images))
    feature_pass(src, tmp_path / "feat", ALONE, extractor=FAKE_ID, max_shard=8)
    folder = open_source(tmp_path / "feat")
    assert len(folder) == 30 and not folder.skipped
    st = CompareSettings(
        metrics=("fid", "kid", "prdc"),
        device="cpu",
        feature_extractor=FAKE_ID,
        fid_mode="pool",
        n=20,
        kid_subsets=5,
        kid_subset_size=10,
    )
    from_images = compare(open_image_set(src), b, st)
    from_folder = compare(folder, b, st)
    assert from_folder.names_a == from_images.names_a  # the same seeded subset of rows
    assert from_folder.fid.value == pytest.approx(from_images.fid.value, rel=1e-10)
    assert from_folder.kid.mean == pytest.approx(from_images.kid.mean, rel=1e-10)
    for k in ("precision", "recall", "density", "coverage"):
        assert getattr(from_folder.prdc, k) == getattr(from_images.prdc, k)
    with pytest.raises(ValueError, match="computed with the 'pool' resize, this comparison uses 'stride'"):
        compare(folder, b, CompareSettings(metrics=("kid",), feature_extractor=FAKE_ID, fid_mode="stride"))
    with pytest.raises(ValueError, match="SWD needs images on both sides; a feature folder"):
        compare(folder, b, CompareSettings(metrics=("swd",)))
    # an unreadable image is left out of its shard and recorded there with the reason
    (src / "b" / "broken.png").write_bytes(b"not a png")
    feature_pass(src, tmp_path / "feat2", ALONE, extractor=FAKE_ID, max_shard=8)
    with_broken = open_source(tmp_path / "feat2")
    assert [s.name for s in with_broken.skipped] == [
        "b/broken.png"
    ] and "b/broken.png" not in with_broken.names
    np.testing.assert_array_equal(with_broken.features(), folder.features())
    res = compare(
        with_broken, b, CompareSettings(metrics=("fid",), feature_extractor=FAKE_ID, fid_mode="pool")
    )
    assert any("1 image(s) could not be read when its features were made" in w for w in res.warnings)


def test_mismatched_or_unknown_provenance_is_refused(tmp_path) -> None:
    rng = np.random.default_rng(8)
    from core.metrics.stats import RunningStats

    x, y = rng.standard_normal((20, 8)), rng.standard_normal((20, 8))
    rx, ry = RunningStats.from_features(x), RunningStats.from_features(y)
    a = rx.to_gaussian("ext-a", "tf1")
    for other, what in (
        (ry.to_gaussian("ext-b", "tf1"), "feature extractor"),
        (ry.to_gaussian("ext-a", "clean"), "resize mode"),
    ):
        with pytest.raises(StatsFileError, match=f"y.npz: made with the {what}"):
            merge_stats([a, other], ["x.npz", "y.npz"])
    # a pytorch-fid / clean-fid file: mu and sigma only; loads, marked, but cannot be merged
    p = tmp_path / "pytorch_fid.npz"
    np.savez(p, mu=x.mean(0), sigma=np.cov(x, rowvar=False))
    plain = load_stats(p, expected_dim=None)
    assert not plain.provenance_known and plain.sums is None
    assert "provenance unknown" in plain.provenance()
    with pytest.raises(StatsFileError, match="holds only mu/sigma"):
        merge_stats([a, plain], ["x.npz", str(p)])
    # a file whose sums do not give its own mu/sigma was altered
    q = save_stats(tmp_path / "x.npz", rx.mean, rx.covariance, extractor="ext-a", mode="tf1", sums=rx)
    with np.load(q) as z:
        d = dict(z)
    d["mu"] = d["mu"] + 1.0
    np.savez(tmp_path / "altered.npz", **d)
    with pytest.raises(StatsFileError, match="do not follow from the file's sums"):
        load_stats(tmp_path / "altered.npz", expected_dim=None)
    merged = merge_stats([a, ry.to_gaussian("ext-a", "tf1")])
    np.testing.assert_allclose(merged.sigma, np.cov(np.vstack([x, y]), rowvar=False), rtol=1e-12)
    assert isinstance(merged, GaussianStats) and merged.n == 40


def _npy_header_only(shape: tuple[int, ...]) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buf.getvalue()


def test_a_small_crafted_file_cannot_make_us_allocate_its_claims(tmp_path) -> None:
    import tracemalloc

    def crafted(shape_mu, shape_sigma, held) -> Path:
        """mu/sigma members with these headers, holding ``held`` bytes of zeros (None: all they
        claim), deflated: a 5000-d sigma of zeros is 200 MB that compresses to a few hundred KB."""
        p = tmp_path / "crafted.npz"
        with zipfile.ZipFile(p, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for key, shape in (("mu", shape_mu), ("sigma", shape_sigma)):
                size = int(np.prod(shape)) * 8 if held is None else held
                with zf.open(f"{key}.npy", "w", force_zip64=True) as f:
                    f.write(_npy_header_only(shape))
                    for i in range(0, size, 1 << 22):
                        f.write(bytes(min(1 << 22, size - i)))
        return p

    for args, msg in (
        (((2048,), (2048, 2048), 64), "'mu' claims shape"),  # 32 MiB claimed, 64 bytes held
        (((5000,), (5000, 5000), None), "more than 4096 dimensions"),  # 200 MB held, deflated
    ):
        p = crafted(*args)
        assert os.path.getsize(p) < 1 << 20
        tracemalloc.start()
        with pytest.raises(StatsFileError, match=msg):
            load_stats(p, expected_dim=None)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 1 << 20, peak


def _cli(args: list[str], capsys) -> tuple[int, str]:
    try:
        code = main(args)
    except SystemExit as exc:  # argparse / parser.exit: user errors
        code = exc.code
    out = capsys.readouterr()
    return code, out.out + out.err


def test_cli_features_and_merge_say_what_is_wrong_in_one_line(fake_extractor, tmp_path, capsys) -> None:
    src = _folder(tmp_path / "set", _images(6, seed=9))
    out = tmp_path / "out"
    code, text = _cli(["features", str(src), "--out", str(out), "--extractor", FAKE_ID, "--quiet"], capsys)
    assert code == 0 and "6 of 6 images in 1 shard(s) by 1 rank(s): 1 computed, 0 reused" in text
    again = ["features", str(src), "--out", str(out), "--extractor", FAKE_ID, "--quiet"]
    code, text = _cli(again, capsys)
    assert code == 2 and text.strip().splitlines() == [
        f"error: {out} already holds a feature pass; add --resume to finish it, or choose an empty folder"
    ]
    code, text = _cli([*again, "--resume"], capsys)
    assert code == 0 and "0 computed, 1 reused (verified)" in text
    code, text = _cli(["features", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o2")], capsys)
    assert code == 2 and text.strip() == f"error: {tmp_path / 'nowhere'}: no such file or folder"
    plain = tmp_path / "pytorch_fid.npz"
    np.savez(plain, mu=np.zeros(8), sigma=np.eye(8))
    code, text = _cli(
        ["merge-stats", str(out / "stats.npz"), str(plain), "--out", str(tmp_path / "m.npz")], capsys
    )
    assert (
        code == 2 and text.startswith(f"error: {plain}: holds only mu/sigma") and len(text.splitlines()) == 1
    )
    assert not (tmp_path / "m.npz").exists()
