"""AppTest of the metrics page: built-in sets, uploads, SWD numbers and chart spec, bad input, the
plain verdict, the time estimate, stale results, set names and order independence."""

from __future__ import annotations

import io
import json
import os
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from core.images import open_image_set
from core.images.samples import make_sample_set
from core.metrics.swd import swd

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "metrics.py")


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLENS_CACHE", str(tmp_path / "cache"))


def _app() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["cache_dir"] = os.environ["GANLENS_CACHE"]
    at.run()
    assert not at.exception, at.exception
    return at


def _png(seed: int, size: int = 32) -> bytes:
    arr = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _sizes(at: AppTest, samples: int, n: int) -> None:
    """Size both built-in sample sets and the N used per set."""
    at.number_input(key="metrics_A_sample_n").set_value(samples)
    at.number_input(key="metrics_B_sample_n").set_value(samples)
    at.number_input(key="metrics_n").set_value(n)


def _run_comparison(at: AppTest, timeout: float = 240) -> AppTest:
    """Click Run, then rerun the page until it has collected the background job's outcome (the
    success or error message it sets when the job ends)."""
    at.button(key="metrics_run").click().run()
    assert not at.exception, at.exception
    deadline = time.monotonic() + timeout
    while "metrics_message" not in at.session_state and time.monotonic() < deadline:
        time.sleep(0.1)
        at.run()
    assert "metrics_message" in at.session_state, "the comparison did not finish"
    assert "metrics_job" not in at.session_state
    return at


def _table_with(at: AppTest, column: str):
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with a {column!r} column")


def _verdict(at: AppTest) -> str:
    """The one-sentence verdict shown next to the result."""
    found = [i.value for i in at.info if i.value.startswith("**In plain words:**")]
    assert len(found) == 1, [i.value for i in at.info]
    return found[0].removeprefix("**In plain words:** ")


def _chart_spec(at: AppTest) -> dict:
    charts = at.get("plotly_chart")
    assert charts, "no Plotly chart shown"
    return json.loads(charts[0].proto.spec)


def test_builtin_sets_swd_numbers_and_chart_match_core():
    at = _app()
    _sizes(at, samples=32, n=32)
    at.run()
    _run_comparison(at)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]

    expected = swd(
        open_image_set(make_sample_set("shapes", 32, 64)).subset(32, 0).to_tensor(),
        open_image_set(make_sample_set("shapes-blurred", 32, 64)).subset(32, 1).to_tensor(),
        seed=0,
        device="cpu",
    )
    spec = _chart_spec(at)
    bars = spec["data"][0]
    assert bars["x"] == ["64 px", "32 px", "16 px"]
    np.testing.assert_allclose(bars["y"], [lv.value for lv in expected.levels], rtol=1e-5)
    assert bars["text"] == [f"{lv.value:.2f}" for lv in expected.levels]  # values written on the bars
    # the average is drawn as a horizontal line, named in the legend, with no label over the bars
    assert any(abs(shape["y0"] - expected.average) < 1e-6 for shape in spec["layout"]["shapes"])
    assert not spec["layout"].get("annotations")
    assert [d["name"] for d in spec["data"]][-1] == f"average of the levels: {expected.average:.2f}"
    # plain axis titles; the unit is explained in the hover
    titles = spec["layout"]["yaxis"]["title"]["text"] + spec["layout"]["xaxis"]["title"]["text"]
    assert "1e3" not in titles and "SWD" in titles
    assert "multiplied by 1000" in bars["hovertemplate"] and "fine detail" in bars["customdata"][0]
    assert any("noisy" in w.value for w in at.warning)  # N = 32 < 64
    history = _table_with(at, "SWD avg x1e3")
    assert len(history) == 1
    assert history["SWD avg x1e3"].iloc[0] == pytest.approx(expected.average, abs=1e-4)
    assert "Result: set A vs set B — Shapes (discs) vs Shapes (discs), blurred (N = 32)" in [
        s.value for s in at.subheader
    ]
    # no noise floor: the verdict names the largest level and says it cannot tell noise from difference
    top = max(expected.levels, key=lambda lv: lv.value)
    sentence = _verdict(at)
    assert f"SWD is largest at the {top.resolution} px level" in sentence
    assert "without the noise floor one cannot tell" in sentence


def test_noise_floor_adds_second_series():
    at = _app()
    _sizes(at, samples=32, n=32)
    at.checkbox(key="metrics_floor").check()
    at.run()
    _run_comparison(at)
    assert not at.exception, at.exception
    spec = _chart_spec(at)
    assert spec["data"][1]["name"].startswith("noise floor")
    floor, main = spec["data"][1]["y"], spec["data"][0]["y"]
    assert floor[0] < main[0]  # blur difference at 64 px is far above the same-distribution floor
    assert spec["data"][1]["text"] == [f"{v:.2f}" for v in floor]  # the floor's bars carry their values


def test_uploaded_files_with_bad_ones_listed():
    at = _app()
    at.selectbox(key="metrics_A_kind").set_value("Upload files").run()
    at.file_uploader(key="metrics_A_upload_Upload files").set_value(
        [(f"g{i}.png", _png(i), "image/png") for i in range(6)] + [("broken.png", b"not a png", "image/png")]
    ).run()
    assert not at.exception, at.exception
    texts = " ".join(m.value for m in at.markdown)
    assert (
        "**g0.png and 5 more** — set A: 6 images" in texts
    )  # named after the first image (the broken one is not)
    skipped = _table_with(at, "reason")
    assert list(skipped["file"]) == ["broken.png"]
    assert "not a readable image" in skipped["reason"].iloc[0]


def test_upload_with_no_images_shows_specific_error_and_page_keeps_working():
    at = _app()
    at.selectbox(key="metrics_A_kind").set_value("Upload files").run()
    at.file_uploader(key="metrics_A_upload_Upload files").set_value([("a.png", b"zzz", "image/png")]).run()
    assert not at.exception, at.exception
    assert any("none of the uploaded files is a readable image" in e.value for e in at.error)
    # set B and the settings still render and the run button is disabled until A is usable
    assert at.button(key="metrics_run").disabled


def test_zip_with_unsafe_paths_reports_them():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(4):
            zf.writestr(f"imgs/{i}.png", _png(i))
        zf.writestr("../escape.png", _png(9))
    at = _app()
    at.selectbox(key="metrics_B_kind").set_value("Upload a zip").run()
    at.file_uploader(key="metrics_B_upload_Upload a zip").set_value(
        ("set.zip", buf.getvalue(), "application/zip")
    ).run()
    assert not at.exception, at.exception
    skipped = _table_with(at, "reason")
    assert "unsafe path in zip ('..' component)" in list(skipped["reason"])


def test_swd_with_statistics_file_is_refused_clearly(tmp_path):
    at = _app()
    at.selectbox(key="metrics_B_kind").set_value("FID statistics (.npz)").run()
    buf = io.BytesIO()
    np.savez(buf, mu=np.zeros(2048), sigma=np.eye(2048))
    at.file_uploader(key="metrics_B_stats").set_value(
        ("ref.npz", buf.getvalue(), "application/octet-stream")
    ).run()
    assert not at.exception, at.exception
    # the default SWD is narrowed to FID once, which a statistics file serves, and said
    assert at.multiselect(key="metrics_choice").value == ["fid"]
    assert any("a statistics file serves FID only" in i.value for i in at.info)
    assert not at.button(key="metrics_run").disabled
    assert not any("needs images on both sides" in w.value for w in at.warning)
    # SWD chosen again by the user: kept, and Run is off with the reason on screen
    at.multiselect(key="metrics_choice").set_value(["swd"]).run()
    assert at.multiselect(key="metrics_choice").value == ["swd"]
    assert at.button(key="metrics_run").disabled
    assert any("SWD needs images on both sides" in w.value and "set B" in w.value for w in at.warning)


def test_fid_kid_run_then_rerun_is_cached_and_stats_download():
    from core.features import extract_features
    from core.metrics.fid import fid_from_features

    at = _app()
    _sizes(at, samples=16, n=4)
    at.multiselect(key="metrics_choice").set_value(["fid", "kid"])
    at.run()
    _run_comparison(at)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]

    sa = open_image_set(make_sample_set("shapes", 16, 64)).subset(4, 0)
    sb = open_image_set(make_sample_set("shapes-blurred", 16, 64)).subset(4, 1)
    fa, fb = extract_features(sa.to_tensor(), device="cpu"), extract_features(sb.to_tensor(), device="cpu")
    expected = fid_from_features(fa, fb).value
    fid_metric = next(m for m in at.metric if m.label == "FID")
    assert float(fid_metric.value) == pytest.approx(expected, rel=1e-3)
    kid_metric = next(m for m in at.metric if m.label == "KID")
    assert kid_metric.value.endswith("± n/a (one subset)")  # subset size = N: no spread, no fake ± 0
    # the verdict says what can be said: KID without a spread cannot tell, FID has no noise reference
    assert _verdict(at).startswith(
        f"KID is {float(kid_metric.value.split()[0]):.4f}, but its spread cannot be"
    )
    assert any(
        m.value.startswith("- **FID:** FID is ") and "no noise reference" in m.value for m in at.markdown
    )
    assert any("2048" in w.value and "KID" in w.value for w in at.warning)  # small-N FID warning
    assert not any("cached" in s.value for s in at.success)

    # before the second run the estimate counts the cached features as free, from the measured run
    steps = " ".join(m.value for m in at.markdown)
    assert "Network features of set A: no work (already in the feature cache)" in steps
    assert "your comparison finished at" in " ".join(c.value for c in at.caption)
    _run_comparison(at)  # same sets again: features come from the cache
    assert any("cached: features A, features B" in s.value for s in at.success)
    history = _table_with(at, "FID")
    assert len(history) == 2 and history["FID"].iloc[0] == pytest.approx(history["FID"].iloc[1])

    dl = [d for d in at.get("download_button") if "statistics of set A" in d.proto.label]
    assert dl, "no statistics download offered"


def test_one_image_set_gives_a_specific_error():
    at = _app()
    at.selectbox(key="metrics_A_kind").set_value("Upload files").run()
    at.file_uploader(key="metrics_A_upload_Upload files").set_value(("only.png", _png(1), "image/png")).run()
    _run_comparison(at)
    assert not at.exception, at.exception
    assert any("could not run: set A: SWD needs at least 2 images, got 1" in e.value for e in at.error), [
        e.value for e in at.error
    ]


def test_page_stays_usable_while_a_comparison_runs(monkeypatch):
    import core.metrics.compare as compare_module

    release = threading.Event()
    real_compare = compare_module.compare

    def held_compare(*args, **kwargs):  # the job runs until the test lets it go
        assert release.wait(240)
        return real_compare(*args, **kwargs)

    monkeypatch.setattr(compare_module, "compare", held_compare)
    at = _app()
    _sizes(at, samples=1024, n=1024)
    at.run()
    at.button(key="metrics_run").click().run()
    job = at.session_state["metrics_job"]
    at.number_input(key="metrics_seed").set_value(5).run()  # interacting does not cancel the job
    assert not at.exception, at.exception
    assert job.running
    assert at.button(key="metrics_run").disabled  # one comparison at a time
    release.set()
    assert job.wait(240) and job.error is None
    at.run()
    assert "Result: set A vs set B — Shapes (discs) vs Shapes (discs), blurred (N = 1024)" in [
        s.value for s in at.subheader
    ]
    assert any(s.value.startswith("Done in") for s in at.success)
    assert "metrics_job" not in at.session_state


def test_extreme_aspect_ratio_image_gets_a_thumbnail_and_the_page_keeps_set_b():
    wide = np.zeros((300, 20_000, 3), np.uint8)
    wide[:, ::7] = 255
    buf = io.BytesIO()
    Image.fromarray(wide).save(buf, format="PNG")
    at = _app()
    at.selectbox(key="metrics_A_kind").set_value("Upload files").run()
    at.file_uploader(key="metrics_A_upload_Upload files").set_value(
        [("wide.png", buf.getvalue(), "image/png")] + [(f"g{i}.png", _png(i), "image/png") for i in range(3)]
    ).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    texts = " ".join(m.value for m in at.markdown)
    assert (
        "g0.png and 3 more** — set A: 4 images" in texts and "blurred** — set B: 256 images" in texts
    )  # set B still there
    thumbs = [im for im in at.get("image") if len(im.proto.imgs) == 4]
    assert len(thumbs) == 1  # set A's four thumbnails, in one grid
    assert not at.button(key="metrics_run").disabled


def _encrypted_zip(names_locked: set[str], n: int) -> bytes:
    from tests.core.images.bad_inputs import flag_encrypted

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(n):
            zf.writestr(f"{i}.png", _png(i))
    return flag_encrypted(buf.getvalue(), names_locked)


def test_encrypted_zip_upload_lists_locked_members_or_says_why_nothing_is_readable():
    at = _app()
    at.selectbox(key="metrics_B_kind").set_value("Upload a zip").run()
    at.file_uploader(key="metrics_B_upload_Upload a zip").set_value(
        ("part.zip", _encrypted_zip({"0.png"}, 4), "application/zip")
    ).run()
    assert not at.exception, at.exception
    skipped = _table_with(at, "reason")
    assert list(skipped["file"]) == ["part.zip/0.png"]
    assert list(skipped["reason"]) == ["encrypted zip member (password protected)"]
    assert "**part.zip** — set B: 3 images" in " ".join(m.value for m in at.markdown)

    at.file_uploader(key="metrics_B_upload_Upload a zip").set_value(
        ("locked.zip", _encrypted_zip({"0.png", "1.png"}, 2), "application/zip")
    ).run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        "set B: no images found (skipped: locked.zip/0.png: encrypted zip member (password protected); "
        "locked.zip/1.png: encrypted zip member (password protected))"
    ]
    assert at.button(key="metrics_run").disabled


def _history(at: AppTest):
    return _table_with(at, "finished at")


def _floor_ratios(at: AppTest) -> dict[str, float]:
    """Per level, SWD / noise floor, computed here from the bars on the chart."""
    spec = _chart_spec(at)
    main, floor = spec["data"][0], spec["data"][1]
    return {x: v / f for x, v, f in zip(main["x"], main["y"], floor["y"], strict=True)}


def test_verdict_identical_sets_no_difference_beyond_noise():
    at = _app()
    at.selectbox(key="metrics_B_sample").set_value("shapes")  # the very same images on both sides
    _sizes(at, samples=64, n=64)
    at.checkbox(key="metrics_floor").check()
    at.run()
    _run_comparison(at)
    assert not at.exception, at.exception
    ratios = _floor_ratios(at)
    assert max(ratios.values()) < 1.0  # independent check: every level below its floor
    assert _verdict(at).startswith("No difference beyond noise")


def test_verdict_blurred_b_names_the_finest_level():
    at = _app()
    _sizes(at, samples=128, n=128)
    at.checkbox(key="metrics_floor").check()
    at.run()
    _run_comparison(at)
    assert not at.exception, at.exception
    ratios = _floor_ratios(at)
    top = max(ratios, key=ratios.get)
    assert top == "64 px" and ratios[top] >= 2.0  # the blur shows at the finest level
    sentence = _verdict(at)
    assert sentence.startswith(f"Set B differs from set A mostly in fine detail and texture ({top} level: ")
    assert f"{ratios[top]:.1f}× the noise floor" in sentence
    within = [x for x, r in ratios.items() if r < 1.0]
    last = sentence.rsplit(";", 1)[-1]  # "... at 32 px and 16 px it is within noise."
    assert within and last.endswith("it is within noise.") and all(x in last for x in within)
    history = _history(at)
    assert history["verdict"].iloc[0] == sentence


def test_estimate_is_shown_before_a_run_and_progress_names_every_stage():
    at = _app()
    _sizes(at, samples=64, n=64)
    at.checkbox(key="metrics_floor").check().run()
    heads = [m.value for m in at.markdown if m.value.startswith("**Estimated time on this machine (cpu): ")]
    assert len(heads) == 1
    steps = " ".join(m.value for m in at.markdown)
    assert (
        "SWD: comparing set A and set B: " in steps
        and "Noise floor: comparing two halves of set A: " in steps
    )
    assert "a speed test on this machine" in " ".join(c.value for c in at.caption)
    at.button(key="metrics_run").click().run()
    job = at.session_state["metrics_job"]
    estimate = at.session_state["metrics_job_estimate"]
    assert [s.stage for s in estimate.stages] == [
        "SWD: comparing set A and set B",
        "Noise floor: comparing two halves of set A",
    ]
    assert job.wait(240) and job.error is None
    assert set(job.stages()) == {s.stage for s in estimate.stages}  # the run reports the same stages
    assert all(sp.done == sp.total for sp in job.stages().values())


def test_result_goes_out_of_date_when_set_b_or_a_setting_changes():
    at = _app()
    _sizes(at, samples=32, n=32)
    at.run()
    _run_comparison(at)
    assert not any(w.value.startswith("Out of date") for w in at.warning)
    assert at.session_state["metrics_last_inputs"] is not None

    at.selectbox(key="metrics_B_sample").set_value("squares").run()
    stale = [w.value for w in at.warning if w.value.startswith("Out of date — run again")]
    assert stale == [
        "Out of date — run again: set B changed since this result was computed. "
        "It is greyed out and kept for reference only."
    ]
    assert any(".st-key-metrics_result_stale" in h.proto.body for h in at.get("html"))

    at.selectbox(key="metrics_B_sample").set_value("shapes-blurred").run()  # back to what made it
    assert not any(w.value.startswith("Out of date") for w in at.warning)

    at.number_input(key="metrics_seed").set_value(3).run()
    assert any(w.value.startswith("Out of date — run again: seed changed") for w in at.warning)
    _run_comparison(at)
    assert not any(w.value.startswith("Out of date") for w in at.warning)


def _folder_upload(folder: str, images: list[np.ndarray]) -> list[tuple[str, bytes, str]]:
    out = []
    for i, img in enumerate(images):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="PNG")
        out.append((f"{folder}/img_{i:02d}.png", buf.getvalue(), "image/png"))
    return out


def test_names_in_title_history_and_csv():
    import csv

    a = _folder_upload("cats", list(make_sample_set("shapes", 24, 32)))
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        for name, data, _ in _folder_upload("x", list(make_sample_set("squares", 24, 32))):
            zf.writestr(name.split("/")[1], data)
    at = _app()
    at.selectbox(key="metrics_A_kind").set_value("Upload a folder").run()
    at.file_uploader(key="metrics_A_upload_Upload a folder").set_value(a).run()
    at.selectbox(key="metrics_B_kind").set_value("Upload a zip").run()
    at.file_uploader(key="metrics_B_upload_Upload a zip").set_value(
        ("dogs.zip", zbuf.getvalue(), "application/zip")
    )
    at.number_input(key="metrics_n").set_value(16)
    at.checkbox(key="metrics_floor").check()
    at.run()
    _run_comparison(at)
    assert not at.exception, at.exception
    assert "Result: set A vs set B — cats vs dogs.zip (N = 16)" in [s.value for s in at.subheader]
    history = _history(at)
    assert list(history["set A"]) == ["cats"] and list(history["set B"]) == ["dogs.zip"]

    result = at.session_state["metrics_last"]
    rows = list(csv.DictReader(io.StringIO(_csv(at))))
    assert len(rows) == 1
    row = rows[0]
    assert (row["set A"], row["set B"], row["N A"], row["N B"], row["seed"]) == (
        "cats",
        "dogs.zip",
        "16",
        "16",
        "0",
    )
    assert row["metrics"] == "swd" and row["SWD resolution"] == "32x32" and row["device"] == "cpu"
    assert float(row["noise floor avg x1e3"]) == pytest.approx(result.swd_noise_floor.average, abs=1e-4)
    for lv in result.swd_noise_floor.levels:
        assert float(row[f"noise floor {lv.resolution}px"]) == pytest.approx(lv.value, abs=1e-4)
    assert float(row["time s"]) == pytest.approx(result.seconds, abs=0.01)
    assert row["finished at"] == result.finished_at and len(row["finished at"]) >= 19  # ISO date and time
    assert row["verdict"]


def _csv(at: AppTest) -> str:
    """The CSV the download button offers (the same function over the session's history)."""
    from core.metrics.compare import history_csv

    return history_csv(at.session_state["metrics_history"])


def test_shuffled_upload_order_gives_identical_numbers():
    import random

    a = _folder_upload("a", list(make_sample_set("shapes", 20, 32)))
    b = _folder_upload("b", list(make_sample_set("shapes-blurred", 20, 32)))
    at = _app()
    for key in ("A", "B"):
        at.selectbox(key=f"metrics_{key}_kind").set_value("Upload a folder")
    at.number_input(key="metrics_n").set_value(12)
    at.checkbox(key="metrics_floor").check()
    at.run()
    for order in range(3):
        fa, fb = a[:], b[:]
        random.Random(order).shuffle(fa)
        random.Random(order + 10).shuffle(fb)
        at.file_uploader(key="metrics_A_upload_Upload a folder").set_value(fa)
        at.file_uploader(key="metrics_B_upload_Upload a folder").set_value(fb)
        at.run()
        _run_comparison(at)
        assert not at.exception, at.exception
    history = _history(at)
    assert len(history) == 3
    values = history.filter(like="px").to_numpy()  # every SWD and noise-floor level
    assert values.shape[1] == 4 and (values == values[0]).all()


def test_compare_settings_survive_a_page_switch(monkeypatch, tmp_path):
    monkeypatch.setenv("GANLENS_CACHE", str(tmp_path / "cache"))
    root = Path(PAGE).parents[1]
    at = AppTest.from_file(str(root / "dashboard" / "app.py"), default_timeout=120).run()
    at.switch_page(PAGE).run()
    at.selectbox(key="metrics_B_sample").set_value("squares")
    at.multiselect(key="metrics_choice").set_value(["swd", "kid"])
    at.number_input(key="metrics_n").set_value(128)
    at.number_input(key="metrics_seed").set_value(7)
    at.checkbox(key="metrics_floor").check().run()
    assert not at.exception, at.exception
    keys = ["metrics_B_sample", "metrics_choice", "metrics_n", "metrics_seed", "metrics_floor"]
    before = {k: at.get_by_key(k).value for k in keys}
    assert before["metrics_n"] == 128 and before["metrics_B_sample"] == "squares"
    at.switch_page(str(root / "pages" / "home.py")).run()
    assert not any(getattr(n, "key", None) in keys for n in at.main)  # the page's widgets are gone
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert {k: at.get_by_key(k).value for k in keys} == before


def test_realism_and_coverage_galleries_and_the_per_image_csv():
    """Set B holds two byte-identical copies of set A images and four images of its own: the copies
    gallery pairs exactly those two with their originals, the four values and the per-image CSV are
    the engine's on the same features."""
    import pandas as pd

    from core.features import extract_features
    from core.metrics.prdc import per_image_csv, per_image_rows, prdc

    at = _app()
    a = [(f"a{i}.png", _png(i), "image/png") for i in range(6)]
    b = [("copy_of_a0.png", _png(0), "image/png"), ("copy_of_a1.png", _png(1), "image/png")]
    b += [(f"b{i}.png", _png(100 + i), "image/png") for i in range(4)]
    for side, files in (("A", a), ("B", b)):
        at.selectbox(key=f"metrics_{side}_kind").set_value("Upload files").run()
        at.file_uploader(key=f"metrics_{side}_upload_Upload files").set_value(files).run()
    at.number_input(key="metrics_n").set_value(6)
    at.multiselect(key="metrics_choice").set_value(["prdc"]).run()
    _run_comparison(at)
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]

    feats = [
        extract_features(folder.to_tensor(), device="cpu") for folder in (_folder(a, "A"), _folder(b, "B"))
    ]
    expected = prdc(feats[0], feats[1], device="cpu")
    shown = {m.label: m.value for m in at.metric}
    for label in ("Precision", "Recall", "Density", "Coverage"):
        assert shown[label] == f"{getattr(expected, label.lower()):.3f}"
    tabs = [t.label for t in at.tabs]
    assert tabs[2] == "Possible copies (2)"
    captions = [c for im in at.image for c in im.captions]
    assert "B: copy_of_a0.png" in captions and "A: a0.png" in captions
    assert "B: copy_of_a1.png" in captions and "A: a1.png" in captions
    assert any(d.proto.label == "Download the per-image table (CSV)" for d in at.get("download_button"))
    result = at.session_state["metrics_last"]
    table = pd.read_csv(
        io.StringIO(per_image_csv(per_image_rows(result.prdc, result.names_a, result.names_b)))
    )
    copies = table[(table["set"] == "B") & (table["possible copy"] == True)]  # noqa: E712 (a CSV column)
    assert sorted(copies["file"]) == ["copy_of_a0.png", "copy_of_a1.png"]
    assert sorted(copies["nearest A file"]) == ["a0.png", "a1.png"]


def _folder(files, side: str):
    """The uploaded files as the set the page builds from them (canonical order)."""
    from core.images import decode_uploads

    return decode_uploads([(name, data) for name, data, _ in files], name=f"set {side}")
