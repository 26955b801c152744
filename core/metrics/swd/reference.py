"""The SWD algorithm in plain torch, step by step as NVIDIA progressive_growing_of_gans
``metrics/sliced_wasserstein.py`` (NumPy) defines it; these functions are what the torch engine
(:mod:`.engine_torch`, the CUDA/MPS path) runs, and the definition the compiled CPU engine
(:mod:`.engine_compiled`) reproduces bit for bit (pyramid, descriptors) or to float rounding.

Reference function            here
``pyr_down`` / ``pyr_up``     :func:`pyr_down` / :func:`pyr_up` (separable, odd sizes defined)
``generate_laplacian_pyramid``  :func:`laplacian_pyramid` (levels: :func:`level_sizes`)
``get_descriptors_for_minibatch``  :func:`draw_patch_centres` + :func:`extract_descriptors`
``finalize_descriptors``      :func:`normalize_descriptors` (:func:`image_moments`, :func:`channel_stats`)
``sliced_wasserstein``        :func:`random_directions` + projection + :func:`sorted_l1`
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "apply_norm",
    "channel_stats",
    "draw_patch_centres",
    "extract_descriptors",
    "gaussian_pyramid",
    "image_moments",
    "laplacian_pyramid",
    "level_sizes",
    "norm_vectors",
    "normalize_descriptors",
    "pyr_down",
    "pyr_up",
    "random_directions",
    "sorted_l1",
]


# --------------------------------------------------------------------------------------------
# Laplacian pyramid
# --------------------------------------------------------------------------------------------

# Values are the uint8 pixels converted to float32 *without* rescaling (0..255, as
# ``np.float32(minibatch)`` in the reference). ``pyr_down`` = 5x5 binomial filter
# [1,4,6,4,1]ᵀ[1,4,6,4,1]/256 with ``scipy.ndimage.convolve(mode="mirror")`` boundaries
# (d c b | a b c d | c b a, i.e. torch "reflect"), then every second pixel; ``pyr_up`` = zero
# insertion then the same filter x4. Here the filter is applied separably (mathematically
# identical; float32 rounding differs from the 2-D convolution by ~1e-6 relative). Odd sizes,
# which the reference cannot handle, are defined by zero-inserting G_{i+1} into an array of
# G_i's exact size (ceil halving).


def _taps(p: torch.Tensor, dim: int, n_out: int, stride: int, gain: float) -> torch.Tensor:
    """Binomial [1,4,6,4,1]/16 * gain along ``dim`` of a tensor padded by 2 on that dim; output
    sample j is centred on padded index 2 + j*stride. Plain mul/add only (no fused ops), so every
    element is computed identically whatever the batch size or SIMD path."""
    span = stride * (n_out - 1) + 1

    def s(k: int) -> torch.Tensor:
        return p.narrow(dim, k, span)[(slice(None),) * (dim % p.ndim) + (slice(None, None, stride),)]

    # the same operations in the same order as
    # (s0 + s4) * (g/16) + (s1 + s3) * (4g/16) + s2 * (6g/16), with fewer temporaries
    out = torch.add(s(0), s(4))
    out.mul_(gain / 16.0)
    tmp = torch.add(s(1), s(3))
    tmp.mul_(gain * 4.0 / 16.0)
    out.add_(tmp)
    torch.mul(s(2), gain * 6.0 / 16.0, out=tmp)
    return out.add_(tmp)


def _pad(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Mirror (scipy ``mode='mirror'`` = torch ``'reflect'``) padding by 2 along dim -1 or -2."""
    pad = (2, 2, 0, 0) if dim == -1 else (0, 0, 2, 2)
    return F.pad(x, pad, mode="reflect")


def pyr_down(x: torch.Tensor) -> torch.Tensor:
    """Blur a float B x C x H x W batch with the 5x5 binomial filter (mirror boundaries) and keep
    every second pixel: shape B x C x ceil(H/2) x ceil(W/2). Matches the reference ``pyr_down``."""
    h, w = x.shape[-2:]
    if min(h, w) < 3:
        raise ValueError(f"pyr_down needs at least 3 x 3 pixels, got {h} x {w}")
    t = _taps(_pad(x, -1), -1, (w + 1) // 2, 2, 1.0)
    return _taps(_pad(t, -2), -2, (h + 1) // 2, 2, 1.0)


def pyr_up(x: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
    """Zero-insert a float B x C x h x w batch into ``size`` (default 2h x 2w; it must satisfy
    ``ceil(H/2) == h``) and filter with 4 x the binomial filter (mirror boundaries). Matches the
    reference ``pyr_up`` for even sizes."""
    h, w = x.shape[-2:]
    H, W = size if size is not None else (2 * h, 2 * w)
    if h != (H + 1) // 2 or w != (W + 1) // 2:
        raise ValueError(f"pyr_up: {h} x {w} does not upsample to {H} x {W}")
    if min(H, W) < 3:
        raise ValueError(f"pyr_up needs an output of at least 3 x 3 pixels, got {H} x {W}")
    z = x.new_zeros((*x.shape[:-1], W))
    z[..., ::2] = x
    t = _taps(_pad(z, -1), -1, W, 1, 2.0)  # rows that are all zero stay zero: skip them
    z2 = t.new_zeros((*t.shape[:-2], H, W))
    z2[..., ::2, :] = t
    return _taps(_pad(z2, -2), -2, H, 1, 2.0)


def level_sizes(
    height: int, width: int, min_res: int = 16, n_levels: int | None = None
) -> list[tuple[int, int]]:
    """(H, W) of each pyramid level: halving (ceil) from full size while min(H, W) >= min_res.
    ``n_levels`` may ask for fewer levels, not more."""
    sizes: list[tuple[int, int]] = []
    h, w = height, width
    while min(h, w) >= min_res:
        sizes.append((h, w))
        if max(h, w) == 1:  # 1 x 1 does not halve any further (min_res 1)
            break
        h, w = (h + 1) // 2, (w + 1) // 2
    if n_levels is not None:
        if n_levels > len(sizes):
            raise ValueError(
                f"n_levels={n_levels} but {height} x {width} images only have "
                f"{len(sizes)} level(s) of at least {min_res} px"
            )
        sizes = sizes[:n_levels]
    return sizes


def gaussian_pyramid(images: torch.Tensor, n_levels: int) -> list[torch.Tensor]:
    """Gaussian pyramid G_0..G_{n-1} of a B x C x H x W batch (uint8 is converted to float32
    without rescaling, as the reference does)."""
    if images.ndim != 4:
        raise ValueError(f"expected a B x C x H x W batch, got shape {tuple(images.shape)}")
    g = [images.to(torch.float32) if images.dtype != torch.float32 else images]
    for _ in range(1, n_levels):
        g.append(pyr_down(g[-1]))
    return g


def laplacian_pyramid(images: torch.Tensor, n_levels: int) -> list[torch.Tensor]:
    """Laplacian pyramid L_0..L_{n-1} (L_i = G_i - pyr_up(G_{i+1}), the last level is G_{n-1}),
    as the reference ``generate_laplacian_pyramid``."""
    g = gaussian_pyramid(images, n_levels)
    if g[0] is images:
        g[0] = images.clone()
    for i in range(n_levels - 1):
        g[i].sub_(pyr_up(g[i + 1], tuple(g[i].shape[-2:])))
    return g


# --------------------------------------------------------------------------------------------
# Descriptors: 7x7x3 neighbourhoods at random centres
# --------------------------------------------------------------------------------------------


def draw_patch_centres(
    n_images: int,
    height: int,
    width: int,
    per_image: int,
    patch_size: int = 7,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random neighbourhood centres (ys, xs), each ``n_images x per_image`` int64, uniform in
    ``[h, size - h)`` with ``h = patch_size // 2`` (the reference's ``randint`` range)."""
    h = patch_size // 2
    if height - h <= h or width - h <= h:
        raise ValueError(f"{height} x {width} is too small for {patch_size} x {patch_size} patches")
    xs = torch.randint(h, width - h, (n_images, per_image), generator=generator)
    ys = torch.randint(h, height - h, (n_images, per_image), generator=generator)
    return ys, xs


def extract_descriptors(
    level: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor, patch_size: int = 7
) -> torch.Tensor:
    """Gather ``patch_size`` x ``patch_size`` neighbourhoods of a B x C x H x W level centred at
    (ys, xs) (each B x P). Returns B x P x (C * patch_size²), components ordered channel, row,
    column as the reference's flattened (channel, height, width) neighbourhoods."""
    b, c, H, W = level.shape
    if ys.shape != xs.shape or ys.ndim != 2 or ys.shape[0] != b:
        raise ValueError(f"ys/xs must both be {b} x P, got {tuple(ys.shape)} and {tuple(xs.shape)}")
    h = patch_size // 2
    dev = level.device
    ys = ys.to(dev)
    xs = xs.to(dev)
    if ys.min() < h or xs.min() < h or ys.max() >= H - h or xs.max() >= W - h:
        raise ValueError("patch centres fall outside the valid range")
    # all p x p windows as a view (b, c, H-p+1, W-p+1, p, p), indexed at the (b, P) top-left
    # corners: the advanced indices (dims 0, 2, 3) give (b, P, c, p, p), a pure gather
    win = level.unfold(2, patch_size, 1).unfold(3, patch_size, 1)
    bi = torch.arange(b, device=dev)[:, None]
    return win[bi, :, ys - h, xs - h].reshape(b, ys.shape[1], c * patch_size * patch_size)


# --------------------------------------------------------------------------------------------
# Normalisation (the reference's finalize_descriptors)
# --------------------------------------------------------------------------------------------


def image_moments(desc: torch.Tensor, n_channels: int = 3) -> np.ndarray:
    """Per image of n x P x D descriptors (channel-major D) and channel: the float64 sum and sum
    of squares of its values, an n x C x 2 array (computed on the CPU: MPS has no float64)."""
    n, p = desc.shape[0], desc.shape[1]
    # each (image, channel) a contiguous row reduced on its own: the same bits whatever n
    d = (
        desc.detach()
        .to("cpu", torch.float64)
        .reshape(n, p, n_channels, -1)
        .transpose(1, 2)
        .reshape(n, n_channels, -1)
    )
    return torch.stack([d.sum(-1), d.square().sum(-1)], dim=-1).numpy()


def channel_stats(moments: np.ndarray, values_per_image: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and population std (float64) from per-image n x C x 2 sums. A variance
    below float64 resolution (a constant channel) is 0."""
    total = moments.sum(0)  # fixed order: the same images give the same bits
    count = moments.shape[0] * values_per_image
    mean = total[:, 0] / count
    ex2 = total[:, 1] / count
    var = ex2 - mean * mean
    var[var <= 1e-12 * ex2] = 0.0
    return torch.from_numpy(mean), torch.from_numpy(np.sqrt(var))


def norm_vectors(
    mean: torch.Tensor, std: torch.Tensor, dim: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel (mean, std) as float32 vectors over the D components of a descriptor. A
    channel with zero spread (constant images) is left centred but unscaled (the reference
    would divide by zero)."""
    k = dim // mean.numel()
    std = torch.where(std > 0, std, torch.ones_like(std))
    return (
        mean.to(torch.float32).repeat_interleave(k).to(device),
        std.to(torch.float32).repeat_interleave(k).to(device),
    )


def apply_norm(
    blk: torch.Tensor, mean_vec: torch.Tensor, std_vec: torch.Tensor, out: torch.Tensor | None = None
) -> torch.Tensor:
    """(blk - mean) / std per column, in float32 (into ``out`` if given)."""
    if out is None:
        return (blk.to(torch.float32) - mean_vec) / std_vec
    torch.sub(blk.to(torch.float32), mean_vec, out=out)
    return out.div_(std_vec)


def normalize_descriptors(desc: torch.Tensor, n_channels: int = 3) -> torch.Tensor:
    """The reference's ``finalize_descriptors``: M x (C*k) descriptors minus each channel's mean,
    divided by each channel's population std (over all descriptors and positions). float32."""
    desc = desc.reshape(desc.shape[0], -1).to(torch.float32)
    mean, std = channel_stats(image_moments(desc[:, None], n_channels), desc.shape[1] // n_channels)
    return apply_norm(desc, *norm_vectors(mean, std, desc.shape[1], desc.device))


# --------------------------------------------------------------------------------------------
# The sliced distance
# --------------------------------------------------------------------------------------------


def random_directions(
    dim: int, n_directions: int = 128, n_repeats: int = 4, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``dim x (n_repeats * n_directions)`` float32 unit-L2 Gaussian directions (drawn in float64,
    normalised, then cast, like the reference), repeat-major column order."""
    d = torch.randn(n_repeats, dim, n_directions, dtype=torch.float64, generator=generator)
    d = d / d.square().sum(1, keepdim=True).sqrt()
    return d.to(torch.float32).permute(1, 0, 2).reshape(dim, n_repeats * n_directions).contiguous()


def sorted_l1(pa: torch.Tensor, pb: torch.Tensor, per_row_out: np.ndarray | None = None) -> float:
    """Σ over rows of Σ_i |sort(pa_row)_i - sort(pb_row)_i| (float64) of two rows x M float32
    projection matrices: the reference's sorted projections compared (before the mean).
    ``per_row_out``: also receives each row's Σ (float64)."""
    sa = torch.sort(pa, dim=1).values
    sb = torch.sort(pb, dim=1).values
    diff = (sa - sb).abs_()
    if per_row_out is not None:  # MPS has no float64: per-row float32 sums there
        rows = diff.sum(1) if diff.device.type == "mps" else diff.sum(1, dtype=torch.float64)
        per_row_out[:] = rows.cpu().to(torch.float64).numpy()
    if diff.device.type == "mps":  # no float64 there: per-row float32 sums, then float64 on the host
        return float(diff.sum(1).cpu().to(torch.float64).sum())
    return float(diff.sum(dtype=torch.float64).item())
