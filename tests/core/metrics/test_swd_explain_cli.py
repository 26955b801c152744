"""``python -m core swd A B --explain DIR`` (core/metrics/cli.py, core/metrics/swd_report.py):
the pictures and explanation.json it writes name the images SWD read, the JSON's exemplars are the
library's, and a folder that cannot be written is one line and exit status 1."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from core.cli import main
from core.images import open_image_set
from core.metrics.compare import CompareSettings, compare
from tests.core.metrics.swd.synthetic import structured


def _folders(tmp_path):
    a = structured(12, 32, 32, seed=1)
    b = a.copy()
    b[:, :, 10:16, 12:18] = np.array([255, 0, 0], dtype=np.uint8)[:, None, None]
    for name, arr in (("A", a), ("B", b)):
        (tmp_path / name).mkdir()
        for i, x in enumerate(arr):
            Image.fromarray(x.transpose(1, 2, 0)).save(tmp_path / name / f"img{i:02d}.png")
    return tmp_path / "A", tmp_path / "B"


def test_explain_writes_pictures_and_json_of_the_library_result(tmp_path, capsys):
    a, b = _folders(tmp_path)
    out = tmp_path / "why"
    assert main(["swd", str(a), str(b), "--explain", str(out), "--quiet", "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert f"written to {out}" in text and "B has patches like these that A lacks" in text
    doc = json.loads((out / "explanation.json").read_text())
    lib = compare(
        open_image_set(a), open_image_set(b), CompareSettings(device="cpu", swd_explain=True)
    ).swd.explanation
    assert doc["explanation"] == json.loads(json.dumps(lib.to_dict()))  # the same run, seed 0
    for lv, le in zip(doc["levels"], lib.levels, strict=True):
        assert lv["resolution"] == le.resolution
        for d, de in zip(lv["directions"], le.directions, strict=True):
            for side, region in (("B", de.b_excess), ("A", de.a_excess)):
                tiles = d["tiles"][side]
                assert [t["image"] for t in tiles] == [f"img{e.image:02d}.png" for e in region.exemplars]
                for t in tiles:
                    pic = np.asarray(Image.open(out / t["file"]))
                    assert pic.shape == (96, 56 + 4 + 96, 3)  # the patch, a gap, its box in the image


def test_unwritable_explain_folder_is_one_line_and_exit_1(tmp_path, capsys):
    a, b = _folders(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["swd", str(a), str(b), "--explain", str(blocker / "x"), "--quiet", "--device", "cpu"]) == 1
    captured = capsys.readouterr()
    assert "SWD x1e3 per level" in captured.out  # the values are still printed
    assert "the SWD explanation could not be written to" in captured.err
