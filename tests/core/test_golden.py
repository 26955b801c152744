"""Golden values: metric results recorded from the code *before* the layout change of issue 10,
to prove that moving code moved no number. Every value is compared bit for bit (``float.hex``)
on the CPU, end to end through the CLI (image files on disk -> decoding -> metric -> JSON).

The recorded values come from the engine that is itself tested against independent references
(NVIDIA's SWD, TTUR/clean-fid FID, torch-fidelity KID) in ``tests/core/metrics``; this file only
guards against a refactor changing what the engine computes. To re-record after an intended change
of results, run ``python tests/core/test_golden.py`` and paste its output below.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from pathlib import Path

from PIL import Image

from core.cli import main
from core.images.samples import make_sample_set

# (set A, set B, n A, n B, size)
SETS = ("shapes", "shapes-blurred", 40, 32, 64)


def _write_folder(root: Path, name: str, n: int, size: int) -> Path:
    folder = root / name
    folder.mkdir()
    for i, img in enumerate(make_sample_set(name, n, size)):
        Image.fromarray(img).save(folder / f"{i:03d}.png")
    return folder


def _run(*argv: str) -> dict:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main([*argv, "--json", "--quiet", "--device", "cpu"]) == 0
    return json.loads(buf.getvalue())


def _measure(root: Path) -> dict[str, object]:
    name_a, name_b, n_a, n_b, size = SETS
    a = str(_write_folder(root, name_a, n_a, size))
    b = str(_write_folder(root, name_b, n_b, size))
    out: dict[str, object] = {}
    swd = _run("swd", a, b, "--seed", "3", "--noise-floor")
    out["swd_levels"] = [float(lv["value"]).hex() for lv in swd["swd"]["levels"]]
    out["swd_floor"] = [float(lv["value"]).hex() for lv in swd["swd_noise_floor"]["levels"]]
    out["swd_equal_n"] = [
        float(lv["value"]).hex() for lv in _run("swd", a, b, "-n", "24", "--seed", "0")["swd"]["levels"]
    ]
    cache = str(root / "cache")  # KID reads the tf1 features that the FID run cached
    for mode in ("tf1", "clean"):
        res = _run("fid", a, b, "--mode", mode, "--cache-dir", cache, "-n", "16")
        out[f"fid_{mode}"] = float(res["fid"]["value"]).hex()
    kid = _run("kid", a, b, "--cache-dir", cache, "-n", "16", "--subsets", "7", "--subset-size", "10")
    assert kid["cached"] == {"features A": True, "features B": True}, kid["cached"]
    out["kid"] = [float(kid["kid"]["mean"]).hex(), float(kid["kid"]["std"]).hex()]
    return out


GOLDEN = {
    # recorded on the CPU from commit ccb5103 (before the reorganisation)
    "swd_levels": ["0x1.4f7d5c9b5a48cp+6", "0x1.bdb5bf84ceb73p+5", "0x1.be6b44106e872p+6"],
    "swd_floor": ["0x1.ba7db7111ec8fp+6", "0x1.06726dc758a50p+7", "0x1.2c5b895fcf375p+7"],
    "swd_equal_n": ["0x1.6ae06614eff4cp+6", "0x1.ea8ab7f04b065p+5", "0x1.0d0928dc00e94p+7"],
    "fid_tf1": "0x1.5a390bf710b54p+7",
    "fid_clean": "0x1.51a257d32f0e1p+7",
    "kid": ["0x1.b4e38873abac0p-5", "0x1.802ca3cc1c8abp-7"],
}


def test_metric_values_are_bit_identical_to_the_recorded_ones(tmp_path: Path) -> None:
    assert GOLDEN, "no golden values recorded"
    assert _measure(tmp_path) == GOLDEN


if __name__ == "__main__":  # print the values to record
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        vals = _measure(Path(d))
    for k, v in vals.items():
        print(f"    {k!r}: {v!r},")
    sys.exit(0)
