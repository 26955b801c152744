"""sRGB (D65) <-> CIE L*a*b* conversion, in PyTorch and NumPy.

Follows scikit-image's ``skimage.color.rgb2lab`` / ``lab2rgb`` (the conversion used by the
official colorization code, richzhang/colorization ``colorizers/util.py``):

1. sRGB gamma expansion: ``c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4``.
2. linear RGB -> XYZ with the sRGB/D65 matrix (the same 0.412453 ... 0.950227 matrix as skimage).
3. XYZ normalised by the D65 (2 degree observer) white point (0.95047, 1.0, 1.08883).
4. ``f(t) = t ** (1/3)`` for ``t > (6/29) ** 3`` else ``t / (3 (6/29)**2) + 4/29``;
   ``L = 116 f(Y) - 16``, ``a = 500 (f(X) - f(Y))``, ``b = 200 (f(Y) - f(Z))``.

The inverse undoes each step; like skimage, a negative Z after step 4's inverse is clipped to 0
and the final sRGB values are clipped to [0, 1]. This module uses the exact CIE constants
((6/29)**3 and 1/(3 (6/29)**2)); skimage rounds them to 0.008856 and 7.787, which changes Lab
values by less than 1e-4.

Torch functions take channels on ``dim=-3`` (``3 x H x W`` or ``N x 3 x H x W``) and work in the
input's floating dtype (uint8 input is scaled by 1/255 first). NumPy functions take channels on
the last axis (``H x W x 3``, like skimage) and compute in float64 through the torch functions.
"""

from __future__ import annotations

import numpy as np
import torch

#: sRGB (linear) -> XYZ, D65 (skimage's ``xyz_from_rgb``).
XYZ_FROM_RGB: tuple[tuple[float, float, float], ...] = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
#: D65 reference white for the 2 degree observer.
D65_WHITE: tuple[float, float, float] = (0.95047, 1.0, 1.08883)

_DELTA = 6.0 / 29.0
_T0 = _DELTA**3  # threshold of f(t)
_SLOPE = 1.0 / (3.0 * _DELTA**2)  # linear part slope (7.787...)
_OFFSET = 4.0 / 29.0  # = 16/116


def _as_float(t: torch.Tensor) -> torch.Tensor:
    if not torch.is_floating_point(t):
        if t.dtype == torch.uint8:
            return t.to(torch.float32) / 255.0
        return t.to(torch.float32)
    return t


def _check_channels(t: torch.Tensor) -> None:
    if t.dim() < 3 or t.shape[-3] != 3:
        raise ValueError(
            f"expected channels on dim -3 (3 x H x W or N x 3 x H x W), got shape {tuple(t.shape)}"
        )


def _matrix(rows: tuple[tuple[float, float, float], ...], like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(rows, dtype=like.dtype, device=like.device)


def _apply_matrix(m: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    # t: (..., 3, H, W); out[..., i, h, w] = sum_j m[i, j] t[..., j, h, w]
    return torch.einsum("ij,...jhw->...ihw", m, t)


def srgb_to_linear(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB gamma expansion of values in [0, 1]."""
    return torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)


def linear_to_srgb(lin: torch.Tensor) -> torch.Tensor:
    """sRGB gamma compression (inverse of :func:`srgb_to_linear`); negative inputs stay linear."""
    safe = torch.clamp(lin, min=0.0031308)
    return torch.where(lin > 0.0031308, 1.055 * safe ** (1.0 / 2.4) - 0.055, lin * 12.92)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] (or uint8) with channels on dim -3 -> CIE Lab (L in [0, 100])."""
    _check_channels(rgb)
    rgb = _as_float(rgb)
    xyz = _apply_matrix(_matrix(XYZ_FROM_RGB, rgb), srgb_to_linear(rgb))
    white = torch.tensor(D65_WHITE, dtype=rgb.dtype, device=rgb.device).view(3, 1, 1)
    t = xyz / white
    f = torch.where(t > _T0, torch.clamp(t, min=_T0) ** (1.0 / 3.0), t * _SLOPE + _OFFSET)
    fx, fy, fz = f.unbind(dim=-3)
    L = 116.0 * fy - 16.0
    a = 500.0 * (fx - fy)
    b = 200.0 * (fy - fz)
    return torch.stack((L, a, b), dim=-3)


def lab_to_xyz(lab: torch.Tensor) -> torch.Tensor:
    """CIE Lab -> XYZ (D65 scaled, Y of white = 1); negative Z is clipped to 0 like skimage."""
    _check_channels(lab)
    lab = _as_float(lab)
    L, a, b = lab.unbind(dim=-3)
    fy = (L + 16.0) / 116.0
    fx = a / 500.0 + fy
    fz = torch.clamp(fy - b / 200.0, min=0.0)
    f = torch.stack((fx, fy, fz), dim=-3)
    t = torch.where(f > _DELTA, f**3, (f - _OFFSET) / _SLOPE)
    white = torch.tensor(D65_WHITE, dtype=lab.dtype, device=lab.device).view(3, 1, 1)
    return t * white


def lab_to_rgb(lab: torch.Tensor, clip: bool = True) -> torch.Tensor:
    """CIE Lab with channels on dim -3 -> sRGB in [0, 1] (clipped unless ``clip=False``)."""
    xyz = lab_to_xyz(lab)
    rgb_from_xyz = torch.linalg.inv(torch.tensor(XYZ_FROM_RGB, dtype=torch.float64)).to(
        dtype=xyz.dtype, device=xyz.device
    )
    rgb = linear_to_srgb(_apply_matrix(rgb_from_xyz, xyz))
    return torch.clamp(rgb, 0.0, 1.0) if clip else rgb


# --------------------------------------------------------------------------------------------
# NumPy, channels last (H x W x 3), like skimage
# --------------------------------------------------------------------------------------------


def _np_to_chw(arr: np.ndarray) -> torch.Tensor:
    a = np.asarray(arr)
    if a.ndim < 1 or a.shape[-1] != 3:
        raise ValueError(f"expected channels on the last axis (... x 3), got shape {a.shape}")
    if a.dtype == np.uint8:
        a = a.astype(np.float64) / 255.0
    t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float64))
    squeeze = t.dim() == 1
    if squeeze:
        t = t.view(1, 1, 3)
    while t.dim() < 3:
        t = t.unsqueeze(0)
    return t.movedim(-1, -3)


def _chw_to_np(t: torch.Tensor, shape: tuple[int, ...]) -> np.ndarray:
    return t.movedim(-3, -1).reshape(shape).numpy()


def rgb2lab(rgb: np.ndarray) -> np.ndarray:
    """NumPy ``... x 3`` sRGB (float in [0, 1] or uint8) -> float64 Lab, like ``skimage.color.rgb2lab``."""
    a = np.asarray(rgb)
    return _chw_to_np(rgb_to_lab(_np_to_chw(a)), a.shape)


def lab2rgb(lab: np.ndarray, clip: bool = True) -> np.ndarray:
    """NumPy ``... x 3`` Lab -> float64 sRGB in [0, 1], like ``skimage.color.lab2rgb``."""
    a = np.asarray(lab)
    return _chw_to_np(lab_to_rgb(_np_to_chw(a), clip=clip), a.shape)


def rgb_float_to_uint8(rgb: np.ndarray) -> np.ndarray:
    """[0, 1] float RGB -> uint8 by ``round(255 x)`` after clipping."""
    return np.clip(np.rint(np.asarray(rgb, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)
