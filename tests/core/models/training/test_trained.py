"""core.models.training.trained: the models a runs folder holds, as the generator pages offer them."""

from __future__ import annotations

import os

from core.gan import runs
from core.models.training.trained import trained_models


def _run(folder, name, config, files, started):
    run_dir = folder / name
    runs.write_config(run_dir, config)
    for f in files:
        (run_dir / f).write_bytes(b"weights")
    os.utime(run_dir / runs.CONFIG, (started, started))
    return run_dir


def test_exported_models_of_a_family_newest_run_first(tmp_path):
    cyc = {"kind": "cyclegan", "size": 64, "exports": {"G_A (A -> B)": "a.pth", "G_B (B -> A)": "b.pth"}}
    old = _run(tmp_path, "old", cyc, ["a.pth", "b.pth"], 1000)
    new = _run(tmp_path, "new", cyc, ["a.pth"], 2000)  # its B -> A file is not written yet
    _run(
        tmp_path,
        "colour",
        {"kind": "colorizer", "size": 32, "exports": {"colorizer": "c.pt"}},
        ["c.pt"],
        3000,
    )
    _run(tmp_path, "gan", {"model": "dcgan"}, [], 4000)  # a GAN lab run exports nothing
    _run(tmp_path, "sneaky", {**cyc, "exports": {"x": "../old/a.pth"}}, [], 5000)  # outside its folder
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / runs.CONFIG).write_text("{not json")

    found = trained_models(tmp_path, "translation")
    assert [(m.name, m.path) for m in found] == [
        ("new G_A (A -> B)", new / "a.pth"),
        ("old G_A (A -> B)", old / "a.pth"),
        ("old G_B (B -> A)", old / "b.pth"),
    ]
    assert {(m.family, m.resolution, m.state) for m in found} == {("translation", 64, None)}
    [colour] = trained_models(tmp_path, "colorization")
    assert (colour.name, colour.path.name, colour.resolution) == ("colour", "c.pt", 32)
    assert trained_models(tmp_path / "absent", "translation") == []
