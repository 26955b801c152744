"""The torch engine (core/metrics/swd/engine_torch.py), the path every CUDA/MPS user gets, run
on the CPU against the compiled engine on the same seeded draws (same centres, directions and
subset): they differ only by float32 summation order, the folded normalisation's float64 shift
and sort-free versus sorted arithmetic. Measured (64 directions x 2 repeats): at most 3.6e-7
relative per level with equal N (folded normalisation), ~1e-10 with unequal N (a subset,
normalised first as the torch engine does); the tolerance is 2e-6."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from core.metrics.swd import SWDSettings, api, engine_compiled, engine_torch, swd
from tests.core.metrics.swd.synthetic import structured

RTOL = 2e-6
ST = SWDSettings(n_directions=64, n_repeats=2)


def _bright_flat(n: int, size: int, seed: int) -> np.ndarray:
    """A large mean and a small spread per channel (the hardest case for the folded shift)."""
    return (structured(n, size, size, seed, detail=0.4).astype(np.int16) // 6 + 190).astype(np.uint8)


CASES = {
    "equal N, 32 px": lambda: (structured(24, 32, 32, 70), structured(24, 32, 32, 71, detail=0.5)),
    "unequal N (seeded subset of A), 32 px": lambda: (
        structured(26, 32, 32, 72),
        structured(19, 32, 32, 73, detail=0.5),
    ),
    "equal N, 64 px": lambda: (structured(16, 64, 64, 74), structured(16, 64, 64, 75, tint=20)),
    "unequal N (subset of B), 48 x 40": lambda: (
        structured(13, 48, 40, 78),
        structured(17, 48, 40, 79, detail=0.3),
    ),
    "flat bright set, 64 px": lambda: (structured(16, 64, 64, 76), _bright_flat(16, 64, 77)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_torch_engine_on_cpu_equals_compiled_engine_per_level(case: str) -> None:
    a, b = CASES[case]()
    compiled = swd(a, b, seed=4, device="cpu", engine="compiled", settings=ST)
    torch_ = swd(a, b, seed=4, device="cpu", engine="torch", settings=ST)
    assert [lv.shape for lv in torch_.levels] == [lv.shape for lv in compiled.levels]
    assert (torch_.n_images, torch_.n_images_a, torch_.n_images_b, torch_.note) == (
        compiled.n_images,
        compiled.n_images_a,
        compiled.n_images_b,
        compiled.note,
    )
    np.testing.assert_allclose(
        [lv.value for lv in torch_.levels], [lv.value for lv in compiled.levels], rtol=RTOL, atol=0
    )
    assert all(lv.value > 1 for lv in compiled.levels)  # real differences, not a trivial zero
    assert torch_.average == pytest.approx(compiled.average, rel=RTOL)


def test_torch_engine_batching_streaming_and_float16() -> None:
    """Batch size changes no bit; a budget too small to keep the descriptors (1 MB: streamed blocks,
    one direction per chunk) gives the same values to float32 rounding, float16 storage to 1e-2."""
    a, b = structured(12, 32, 32, seed=80), structured(10, 32, 32, seed=81, detail=0.5)
    st = SWDSettings(n_directions=16, n_repeats=1)  # the streamed run takes one direction at a time
    full = swd(a, b, seed=2, device="cpu", engine="torch", settings=st)
    batched = swd(
        torch.from_numpy(a), [b[:4], b[4:]], seed=2, device="cpu", engine="torch", settings=st, batch_size=3
    )
    assert [lv.value for lv in batched.levels] == [lv.value for lv in full.levels]
    tight = swd(a, b, seed=2, device="cpu", engine="torch", settings=st, memory_budget_mb=1.0)
    np.testing.assert_allclose([lv.value for lv in tight.levels], [lv.value for lv in full.levels], rtol=1e-6)
    half = swd(
        a,
        b,
        seed=2,
        device="cpu",
        engine="torch",
        settings=SWDSettings(n_directions=16, n_repeats=1, descriptor_dtype="float16"),
    )
    np.testing.assert_allclose([lv.value for lv in half.levels], [lv.value for lv in full.levels], rtol=1e-2)


def test_engine_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = structured(6, 32, 32, seed=82), structured(6, 32, 32, seed=83)
    auto = swd(a, b, seed=1, device="cpu", settings=ST)
    compiled = swd(a, b, seed=1, device="cpu", engine="compiled", settings=ST)
    assert [lv.value for lv in auto.levels] == [lv.value for lv in compiled.levels]  # auto on CPU: compiled
    assert api._engine_module("auto", torch.device("cpu")) is engine_compiled
    assert api._engine_module("auto", torch.device("cuda")) is engine_torch
    assert api._engine_module("auto", torch.device("mps")) is engine_torch
    with pytest.raises(ValueError, match="engine must be 'torch', 'compiled' or 'auto', got 'numba'"):
        swd(a, b, device="cpu", engine="numba")  # type: ignore[arg-type]
    # "compiled" on an accelerator is refused before anything runs there
    monkeypatch.setattr(api, "resolve_device", lambda name: torch.device("cuda"))
    with pytest.raises(ValueError, match="engine='compiled' runs on the CPU only, not on cuda"):
        swd(a, b, device="cuda", engine="compiled")


def test_cli_engine_flag_reaches_swd(tmp_path, capsys) -> None:
    from core.cli import main

    a, b = structured(8, 32, 32, seed=84), structured(8, 32, 32, seed=85, detail=0.5)
    np.save(tmp_path / "a.npy", a.transpose(0, 2, 3, 1))
    np.save(tmp_path / "b.npy", b.transpose(0, 2, 3, 1))
    args = [
        "swd",
        str(tmp_path / "a.npy"),
        str(tmp_path / "b.npy"),
        "--json",
        "--seed",
        "3",
        "--device",
        "cpu",
    ]
    assert main([*args, "--engine", "torch"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["settings"]["swd_engine"] == "torch"
    want = swd(a, b, seed=3, device="cpu", engine="torch")
    np.testing.assert_allclose(
        [lv["value"] for lv in out["swd"]["levels"]], [lv.value for lv in want.levels], rtol=1e-12
    )
    with pytest.raises(SystemExit):
        main([*args, "--engine", "numba"])
