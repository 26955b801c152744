"""AppTest of the class balance on the Compare page (dashboard/class_balance_view.py): set A as an
uploaded zip of class folders, set B lacking one class: the view names exactly that class, its
table is the library's result, and a set A without class folders says so."""

from __future__ import annotations

import io
import os
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "metrics.py")
COLOURS = {"blue": (30, 40, 200), "green": (40, 190, 50), "red": (210, 30, 40)}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLENS_CACHE", str(tmp_path / "cache"))


def _zip(counts: dict[str, int], seed: int, root: str = "") -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, n in counts.items():
            for i in range(n):
                arr = np.clip(np.array(COLOURS[name]) + rng.normal(0, 25, (32, 32, 3)), 0, 255).astype(
                    np.uint8
                )
                png = io.BytesIO()
                Image.fromarray(arr).save(png, format="PNG")
                zf.writestr(f"{root}{name}/{i:02d}.png", png.getvalue())
    return buf.getvalue()


def _upload(at: AppTest, side: str, data: bytes, name: str) -> None:
    at.selectbox(key=f"metrics_{side}_kind").set_value("Upload a zip").run()
    at.file_uploader(key=f"metrics_{side}_upload_Upload a zip").set_value(
        (name, data, "application/zip")
    ).run()
    assert not at.exception, at.exception


def test_class_balance_names_the_class_b_lacks() -> None:
    from core.images import decode_uploads
    from core.metrics.class_compare import class_balance
    from core.metrics.compare import CompareSettings

    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["cache_dir"] = os.environ["GANLENS_CACHE"]
    at.run()
    a_zip = _zip({"blue": 12, "green": 12, "red": 12}, 1, root="train/")
    b_zip = _zip({"green": 12, "red": 12}, 2)
    _upload(at, "A", a_zip, "ref.zip")
    _upload(at, "B", b_zip, "gen.zip")
    assert any("Set A has 3 classes: blue, green, red" in c.value for c in at.caption)
    at.button(key="metrics_classes_run").click().run()
    deadline = time.monotonic() + 240
    while "metrics_classes_last" not in at.session_state and time.monotonic() < deadline:
        assert "metrics_classes_message" not in at.session_state, at.session_state["metrics_classes_message"]
        time.sleep(0.2)
        at.run()
    assert not at.exception, at.exception
    balance = at.session_state["metrics_classes_last"]
    assert balance.loo_accuracy == 1.0  # Inception separates the three colours
    assert [(r.name, r.flag) for r in balance.flagged] == [("blue", "missing")]
    said = [w.value for w in at.warning]
    assert any("In plain words" in w and "missing: blue" in w for w in said)
    table = next(df.value for df in at.dataframe if "flag" in df.value.columns)
    assert list(table["flag"]) == ["missing", "—", "—"]
    assert list(table["B images"]) == [0, 12, 12]
    assert table["KID in class"].iloc[0] == "too few"
    # the library on the same uploads gives the same numbers
    sets = [decode_uploads([(n, z)], name=n) for n, z in (("ref.zip", a_zip), ("gen.zip", b_zip))]
    direct = class_balance(*sets, CompareSettings(cache_dir=Path(os.environ["GANLENS_CACHE"])))
    assert [r.count_b for r in direct.rows] == list(table["B images"])
    assert [round(100 * r.share_a, 1) for r in direct.rows] == list(table["A share %"])
    assert direct.rows[1].kid.mean == balance.rows[1].kid.mean


def test_set_a_without_class_folders_says_so() -> None:
    at = AppTest.from_file(PAGE, default_timeout=240)
    at.session_state["cache_dir"] = os.environ["GANLENS_CACHE"]
    at.run()  # the built-in samples: no class folders
    assert any("no class sub-folders" in c.value for c in at.caption)
    assert not [b for b in at.button if b.key == "metrics_classes_run"]
