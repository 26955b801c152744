"""Per-pyramid-level Sliced Wasserstein Distance (SWD) of Karras et al. 2018 (Progressive GAN).

Reference followed: NVIDIA ``tkarras/progressive_growing_of_gans``, ``metrics/sliced_wasserstein.py``
(NumPy). What is computed, for each of the two image sets:

1. Laplacian pyramid of every image, on the uint8 values converted to float32 *without* rescaling
   (0..255, as ``np.float32(minibatch)`` in the reference). ``pyr_down`` = 5x5 binomial filter
   ``[1,4,6,4,1]ᵀ[1,4,6,4,1]/256`` with ``scipy.ndimage.convolve(mode="mirror")`` boundaries
   (``d c b | a b c d | c b a``, i.e. torch ``"reflect"``), then every second pixel;
   ``pyr_up`` = zero insertion then the same filter x4 with the same boundaries. Level ``i`` is
   ``G_i - pyr_up(G_{i+1})``; the last level is the Gaussian ``G_{n-1}``. Levels go from the full
   resolution down, halving, while the smaller side is still ``>= min_res`` (16), e.g. 64 px gives
   levels 64, 32, 16. Here the filter is applied separably (mathematically identical; float32
   rounding differs by ~1e-6 relative). Odd sizes, which the reference cannot handle, are defined
   by zero-inserting ``G_{i+1}`` into an array of ``G_i``'s exact size (``ceil`` halving).
2. Per image and level, ``descriptors_per_image`` (128) neighbourhoods of ``patch_size``² x 3
   (7x7x3 = 147 values, ordered channel, row, column) at centres drawn uniformly and
   independently per neighbourhood (so per image), ``randint(h, size - h)`` with ``h = 7 // 2``,
   exactly the reference's range.
3. ``finalize_descriptors``: per level, each set's descriptors are normalised per colour channel
   by that set's own mean and (population) standard deviation over all of its descriptors and
   the 7x7 positions. A channel with zero spread (constant images) is left centred but
   unscaled (the reference would divide by zero).
4. ``sliced_wasserstein``: ``n_repeats`` (4) x ``n_directions`` (128) random Gaussian directions
   in the 147-d descriptor space, each scaled to unit L2 length; both sets are projected, each
   projection is sorted, and the mean absolute difference of the sorted projections is averaged
   over descriptors, directions and repeats. Each level's value is multiplied by 1e3 and the
   average is the mean over levels (the reference's ``SWDx1e3_<res>`` / ``SWDx1e3_avg``).

The sort-matching needs the same number of descriptors in both sets. When the sets have
different numbers of images, ``min(N_a, N_b)`` images are drawn (seeded, without replacement)
from the larger set and the result says so in ``note``.

Randomness (patch centres, directions, that subsample) comes from ``torch.Generator`` streams
derived from ``seed``: patch centres are drawn per block of 256 consecutive images of a set and
per level, so they do not depend on how the input is batched; directions are drawn per level
(in float64, normalised, then cast to float32 like the reference) and shared by both sets.
Every descriptor is computed from its own image only, the per-set channel statistics are summed
from per-image float64 sums in image order, and the projections are computed on the whole
descriptor matrix (or, when it does not fit the budget, on fixed blocks of 256 images), so for
the same seed, device and ``memory_budget_mb`` the result is bit-identical whatever
``batch_size`` is. ``seed=None`` draws a fresh random seed.

CPU path (``device="cpu"``), compiled with Numba (:mod:`core.metrics.swd_kernels`), images and
rows spread over ``torch.get_num_threads()`` threads:

* pyramid, neighbourhoods and per-image channel sums in one kernel per image, bit-identical to
  the tensor functions :func:`pyr_down`/:func:`pyr_up`/:func:`extract_descriptors` (which the
  CUDA/MPS path uses);
* repeated centres merged on small levels: 128 centres drawn on the 10 x 10 positions of a
  16 px level repeat 43% of the time (9% at 32 px). There an image's repeated centre is kept
  as one row with its multiplicity, which the distance counts that many times -- the same
  value as projecting every copy, for ~40% less work on that level (:func:`_worth_merging`);
* each set's descriptors written by the kernel into one preallocated matrix per level, and
  projected as they are: the per-set normalisation is folded into the directions,
  ((x - μ)/σ)·d = x·(d/σ) - (μ/σ)·d, the offsets (μ/σ)·d becoming a float64 shift of B's
  projections in the distance (equal to normalising a copy first to ~1e-6 relative; a copy is
  still normalised when only a subset of a set's images is used);
* the projections through torch's BLAS, in chunks of up to 128 directions;
* no sorting: per direction, Σ |sorted A - sorted B| is computed exactly as the integral of
  |F_A - F_B| (empirical CDFs) from bucket counts, sorting only the values of the few buckets
  where F_A - F_B may change sign (:func:`core.metrics.swd_kernels.rows_l1`; equal to the
  sort result up to float64 rounding). On CUDA/MPS ``torch.sort``.

Memory: only the pyramid of one image (CPU) or batch exists at a time; patches are gathered by
index (nothing is unfolded in memory); what is kept are the descriptors the reference also keeps,
``N x 128 x 147`` values per level per set, in host memory (float32, or float16 with
``descriptor_dtype="float16"`` to halve it at a small cost in exactness) -- see
:func:`descriptor_memory_bytes`. The projection stage works on chunks of directions sized so
that the normalised descriptors, the projected matrices and the per-thread scratch fit
``memory_budget_mb``; its buffers are reused from level to level.

Not comparable: ``koshian2/swd-pytorch`` scales its random directions by their standard
deviation instead of their L2 length (a factor ~sqrt(147) ≈ 12 larger), so its values are
about 12x the reference's and must not be compared with these.
"""

from __future__ import annotations

import math
import queue
import secrets
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from core.runtime.device import resolve_device
from core.metrics import swd_kernels as K
from core.runtime.progress import Progress, null_progress

__all__ = [
    "SWDSettings",
    "SWDLevel",
    "SWDResult",
    "swd",
    "gaussian_pyramid",
    "laplacian_pyramid",
    "pyr_down",
    "pyr_up",
    "level_sizes",
    "extract_descriptors",
    "draw_patch_centres",
    "normalize_descriptors",
    "random_directions",
    "sliced_wasserstein",
    "descriptor_memory_bytes",
    "compile_kernels",
]

ImageSource = Iterable[torch.Tensor] | torch.Tensor | np.ndarray

#: Images per block for the batch-independent random streams and the projection blocks.
_BLOCK = 256
_DEFAULT_BUDGET_MB = 1024


# --------------------------------------------------------------------------------------------
# Settings and results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SWDSettings:
    """Parameters of the metric; the defaults are the paper's (and the reference code's)."""

    min_res: int = 16
    patch_size: int = 7
    descriptors_per_image: int = 128
    n_directions: int = 128  # per repeat
    n_repeats: int = 4
    n_levels: int | None = None  # None: every level down to min_res
    descriptor_dtype: Literal["float32", "float16"] = "float32"

    def validate(self) -> None:
        if self.patch_size < 1 or self.patch_size % 2 == 0:
            raise ValueError(f"patch_size must be a positive odd number, got {self.patch_size}")
        if self.min_res < self.patch_size:
            raise ValueError(f"min_res ({self.min_res}) must be at least patch_size ({self.patch_size})")
        for name in ("descriptors_per_image", "n_directions", "n_repeats"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.n_levels is not None and self.n_levels < 1:
            raise ValueError(f"n_levels must be at least 1 (or None), got {self.n_levels}")
        if self.descriptor_dtype not in ("float32", "float16"):
            raise ValueError(f"descriptor_dtype must be 'float32' or 'float16', got {self.descriptor_dtype!r}")


@dataclass
class SWDLevel:
    resolution: int  # image height at this level (the reference's label, e.g. SWDx1e3_64)
    value: float  # SWD x 1e3
    shape: tuple[int, int] = (0, 0)  # (height, width) of the level


@dataclass
class SWDResult:
    levels: list[SWDLevel]
    average: float  # mean of the level values
    n_images: int  # images per set actually used
    seed: int | None
    settings: SWDSettings
    n_images_a: int = 0
    n_images_b: int = 0
    note: str | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict (plain floats, ints, strings, lists)."""
        return {
            "levels": [{"resolution": lv.resolution, "value": float(lv.value),
                        "shape": [int(lv.shape[0]), int(lv.shape[1])]} for lv in self.levels],
            "average": float(self.average),
            "n_images": int(self.n_images),
            "n_images_a": int(self.n_images_a),
            "n_images_b": int(self.n_images_b),
            "seed": self.seed,
            "settings": asdict(self.settings),
            "note": self.note,
        }


# --------------------------------------------------------------------------------------------
# Pyramid (pure tensor functions)
# --------------------------------------------------------------------------------------------


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
    if (H + 1) // 2 != h or (W + 1) // 2 != w:
        raise ValueError(f"pyr_up: {h} x {w} does not upsample to {H} x {W}")
    if min(H, W) < 3:
        raise ValueError(f"pyr_up needs an output of at least 3 x 3 pixels, got {H} x {W}")
    z = x.new_zeros(x.shape[:-1] + (W,))
    z[..., ::2] = x
    t = _taps(_pad(z, -1), -1, W, 1, 2.0)  # rows that are all zero stay zero: skip them
    z2 = t.new_zeros(t.shape[:-2] + (H, W))
    z2[..., ::2, :] = t
    return _taps(_pad(z2, -2), -2, H, 1, 2.0)


def level_sizes(height: int, width: int, min_res: int = 16, n_levels: int | None = None) -> list[tuple[int, int]]:
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
            raise ValueError(f"n_levels={n_levels} but {height} x {width} images only have "
                             f"{len(sizes)} level(s) of at least {min_res} px")
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
# Descriptors and the distance (pure tensor functions)
# --------------------------------------------------------------------------------------------


def draw_patch_centres(n_images: int, height: int, width: int, per_image: int, patch_size: int = 7,
                       generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Random neighbourhood centres (ys, xs), each ``n_images x per_image`` int64, uniform in
    ``[h, size - h)`` with ``h = patch_size // 2`` (the reference's ``randint`` range)."""
    h = patch_size // 2
    if height - h <= h or width - h <= h:
        raise ValueError(f"{height} x {width} is too small for {patch_size} x {patch_size} patches")
    xs = torch.randint(h, width - h, (n_images, per_image), generator=generator)
    ys = torch.randint(h, height - h, (n_images, per_image), generator=generator)
    return ys, xs


def extract_descriptors(level: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor,
                        patch_size: int = 7) -> torch.Tensor:
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
    if (ys.min() < h or xs.min() < h or ys.max() >= H - h or xs.max() >= W - h):
        raise ValueError("patch centres fall outside the valid range")
    # all p x p windows as a view (b, c, H-p+1, W-p+1, p, p), indexed at the (b, P) top-left
    # corners: the advanced indices (dims 0, 2, 3) give (b, P, c, p, p), a pure gather
    win = level.unfold(2, patch_size, 1).unfold(3, patch_size, 1)
    bi = torch.arange(b, device=dev)[:, None]
    return win[bi, :, ys - h, xs - h].reshape(b, ys.shape[1], c * patch_size * patch_size)


def _parallel(fn: Callable[[int, int], object], n_items: int, tasks_per_thread: int = 1) -> None:
    """Run ``fn(i0, i1)`` on contiguous ranges covering ``0..n_items`` on
    ``torch.get_num_threads()`` threads (the compiled kernels release the GIL); with
    ``tasks_per_thread`` > 1 the ranges are smaller and taken by whichever thread is free."""
    n_threads = max(1, min(torch.get_num_threads(), n_items))
    if n_threads == 1:
        fn(0, n_items)
        return
    step = math.ceil(n_items / (n_threads * tasks_per_thread))
    with ThreadPoolExecutor(max_workers=n_threads, thread_name_prefix="swd") as ex:
        for f in [ex.submit(fn, i, min(i + step, n_items)) for i in range(0, n_items, step)]:
            f.result()


def _image_moments(desc: torch.Tensor, n_channels: int) -> np.ndarray:
    """Per image of n x P x D descriptors (channel-major D) and channel: the float64 sum and sum
    of squares, an n x C x 2 array (computed on the CPU)."""
    d = np.ascontiguousarray(desc.detach().to("cpu", torch.float32).numpy())
    out = np.empty((d.shape[0], n_channels, 2), dtype=np.float64)
    _parallel(lambda i0, i1: K.descriptor_moments(d, i0, i1, n_channels, out), d.shape[0])
    return out


def _moment_stats(moments: np.ndarray, values_per_image: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and population std (float64) from per-image n x C x 2 sums. A variance
    below float64 resolution (a constant channel) is 0."""
    total = moments.sum(0)  # fixed order: the same images give the same bits
    count = moments.shape[0] * values_per_image
    mean = total[:, 0] / count
    ex2 = total[:, 1] / count
    var = ex2 - mean * mean
    var[var <= 1e-12 * ex2] = 0.0
    return torch.from_numpy(mean), torch.from_numpy(np.sqrt(var))


def normalize_descriptors(desc: torch.Tensor, n_channels: int = 3) -> torch.Tensor:
    """The reference's ``finalize_descriptors``: M x (C*k) descriptors minus each channel's mean,
    divided by each channel's population std (over all descriptors and positions). float32."""
    desc = desc.reshape(desc.shape[0], -1).to(torch.float32)
    mean, std = _moment_stats(_image_moments(desc[:, None], n_channels), desc.shape[1] // n_channels)
    return _apply_norm(desc, *_norm_vectors(mean, std, desc.shape[1], desc.device))


def _norm_vectors(mean: torch.Tensor, std: torch.Tensor, dim: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    k = dim // mean.numel()
    std = torch.where(std > 0, std, torch.ones_like(std))
    return (mean.to(torch.float32).repeat_interleave(k).to(device),
            std.to(torch.float32).repeat_interleave(k).to(device))


def _apply_norm(blk: torch.Tensor, mean_vec: torch.Tensor, std_vec: torch.Tensor,
                out: torch.Tensor | None = None) -> torch.Tensor:
    if out is None:
        return (blk.to(torch.float32) - mean_vec) / std_vec
    torch.sub(blk.to(torch.float32), mean_vec, out=out)
    return out.div_(std_vec)


def _normalize_into(src: torch.Tensor, nv: tuple[torch.Tensor, torch.Tensor] | None, out: torch.Tensor) -> None:
    """out = (src - mean) / std per column (or a float32 copy when nv is None); on the CPU for
    float32 by the compiled kernel on all threads (the same float32 operations as torch)."""
    if nv is not None and out.device.type == "cpu" and src.dtype == torch.float32 and src.is_contiguous():
        s, o = src.numpy(), out.numpy()
        mean, std = (v.numpy() for v in nv)
        _parallel(lambda i0, i1: K.normalize_rows(s, mean, std, o, i0, i1), s.shape[0])
    elif nv is None:
        out.copy_(src)
    else:
        _apply_norm(src.to(out.device), *nv, out=out)


def random_directions(dim: int, n_directions: int = 128, n_repeats: int = 4,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """``dim x (n_repeats * n_directions)`` float32 unit-L2 Gaussian directions (drawn in float64,
    normalised, then cast, like the reference), repeat-major column order."""
    d = torch.randn(n_repeats, dim, n_directions, dtype=torch.float64, generator=generator)
    d = d / d.square().sum(1, keepdim=True).sqrt()
    return d.to(torch.float32).permute(1, 0, 2).reshape(dim, n_repeats * n_directions).contiguous()


def _sorted_abs_sum(pa: torch.Tensor, pb: torch.Tensor, workspace: dict | None = None,
                    weights: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
                    lengths: tuple[int, int] | None = None, shift: np.ndarray | None = None) -> float:
    """Σ |sort(pa_row) - sort(pb_row)| over all rows (float64) of two rows x n float32 matrices
    (``shift``: per row, a float64 added to pb's row first);
    with ``weights`` (uint8/int32 >= 1 per column, equal sums), column j of pa stands for
    ``weights[0][j]`` equal values (likewise pb), so the rows may differ in length;
    ``lengths``: only the first (na, nb) columns are compared (the rest is padding).

    On CPU nothing is sorted in bulk: :func:`core.metrics.swd_kernels.rows_l1` integrates
    |F_a - F_b| per row, rows spread over ``torch.get_num_threads()`` threads; the per-row values
    are summed in row order, so the result does not depend on the thread count. Elsewhere
    ``torch.sort`` (:func:`_sort_abs_sum`)."""
    wa, wb = weights
    if pa.device.type == "cpu":
        a = np.ascontiguousarray(pa.numpy())
        b = np.ascontiguousarray(pb.numpy())
        per_row = np.empty(a.shape[0], dtype=np.float64)
        na, nb = lengths or (a.shape[1], b.shape[1])
        n = max(na, nb)
        total = n if wa is None else int(wa.sum())

        n_threads = max(1, torch.get_num_threads())
        have = (workspace or {}).get("l1-scratch")  # (n, total, scratch sets): big enough is fine
        if have is not None and have[0] >= n and have[1] >= total and len(have[2]) == n_threads:
            scratch = have[2]
        else:
            scratch = [K.rows_l1_scratch(n, total=total) for _ in range(n_threads)]
            if workspace is not None:
                workspace["l1-scratch"] = (n, total, scratch)
        free: queue.SimpleQueue = queue.SimpleQueue()
        for ws in scratch:
            free.put(ws)

        def rows(i0: int, i1: int) -> None:
            ws = free.get()  # one scratch set per running task
            try:
                K.rows_l1(a, b, na, nb, wa, wb, shift, i0, i1, per_row, K.PER_BUCKET, K.MIN_HIST_N, False, *ws)
            finally:
                free.put(ws)

        _parallel(rows, a.shape[0], tasks_per_thread=4)
        return float(per_row.sum())
    return _sort_abs_sum(pa, pb, weights, lengths, shift)


def _sort_abs_sum(pa: torch.Tensor, pb: torch.Tensor,
                  weights: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
                  lengths: tuple[int, int] | None = None, shift: np.ndarray | None = None) -> float:
    """:func:`_sorted_abs_sum` by ``torch.sort`` (the CUDA/MPS path; ``pa``/``pb`` are consumed).
    The accelerated paths do not merge repeated centres, but multiplicities are honoured (by
    repeating columns) all the same."""
    wa, wb = weights
    if lengths is not None:
        pa, pb = pa[:, :lengths[0]], pb[:, :lengths[1]]
    if wa is not None:
        pa = pa.repeat_interleave(torch.from_numpy(wa.astype(np.int64)).to(pa.device), dim=1)
        pb = pb.repeat_interleave(torch.from_numpy(wb.astype(np.int64)).to(pb.device), dim=1)
    if shift is not None:
        pa = pa.to(torch.float64)
        pb = pb.to(torch.float64) + torch.from_numpy(shift).to(pb.device)[:, None]
    sa = torch.sort(pa, dim=1).values
    del pa
    sb = torch.sort(pb, dim=1).values
    del pb
    diff = (sa - sb).abs_()
    if diff.device.type == "mps":  # no float64 there: per-row float32 sums, then float64 on the host
        return float(diff.sum(1).cpu().to(torch.float64).sum())
    return float(diff.sum(dtype=torch.float64).item())


class _Rows:
    """A set's descriptors for one level: iterated as fixed-size blocks of rows (the streamed
    projections depend on the block layout only), or as ``pieces()``, the same rows in order
    in whatever views are cheapest (to fill a whole matrix). Row j stands for ``weights[j]``
    drawn descriptors (None: one each), ``total`` in all."""

    def __init__(self, blocks_fn: Callable[[], Iterator[torch.Tensor]], n_rows: int,
                 pieces_fn: Callable[[], Iterator[torch.Tensor]] | None = None,
                 weights: np.ndarray | None = None, total: int | None = None) -> None:
        self._fn = blocks_fn
        self._pieces = pieces_fn or blocks_fn
        self.n_rows = n_rows
        self.weights = weights
        self.total = n_rows if total is None else total
        #: the rows as one contiguous float32 matrix (possibly followed by zero rows), if any
        self.matrix: torch.Tensor | None = None

    def __iter__(self) -> Iterator[torch.Tensor]:
        return self._fn()

    def pieces(self) -> Iterator[torch.Tensor]:
        return self._pieces()


def _matmul(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> None:
    """out = a @ b with torch's BLAS. (NumPy's OpenBLAS runs this skinny product ~1.4x faster
    on its own, but its worker thread then spins ~0.1 s after every call and takes a core from
    the distance kernel that follows: measured slower overall.)"""
    if out.is_contiguous():
        torch.matmul(a, b, out=out)
    else:
        out.copy_(a @ b)


#: directions per projection chunk at most (the projections of a chunk stay small, reused)
_MAX_CHUNK = 128


def _blas_rows(n: int) -> int:
    """n rounded up to a multiple of 64: BLAS runs the projection ~20% faster on such row counts
    (measured here: 47 ms for 119398 rows, 38 ms for 119424), so matrices are padded to it (the
    padding is never compared)."""
    return -(-n // 64) * 64


def _sliced_l1(rows_a: _Rows, rows_b: _Rows, dirs: torch.Tensor, device: torch.device,
               budget_bytes: int, progress: Progress = null_progress, stage: str = "",
               done0: int = 0, total: int | None = None,
               norms: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
               workspace: dict | None = None) -> tuple[float, int]:
    """Mean over directions and descriptors of |sorted projections A - sorted projections B|.

    ``norms``: per set, the per-channel (mean, std) to normalise with first (None: as they are).
    ``workspace``: scratch matrices kept between calls (one per level) instead of fresh ones.
    The descriptors are projected block by block onto chunks of directions sized to the budget,
    and compared; rows with multiplicities (merged repeats) count that many times. Returns
    (value, number of direction chunks)."""
    m = rows_a.total
    if rows_b.total != m:
        raise ValueError(f"sliced_wasserstein needs equal descriptor counts, got {m} and {rows_b.total}")
    if (rows_a.weights is None) != (rows_b.weights is None):
        raise ValueError("both sets' rows must have multiplicities, or neither")
    sizes = padded = (rows_a.n_rows, rows_b.n_rows)
    weights = (rows_a.weights, rows_b.weights)
    dim, n_dirs = dirs.shape
    vecs = [None, None] if norms is None else [_norm_vectors(mu, sd, dim, device) for mu, sd in norms]

    def prep(blk: torch.Tensor, nv: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        blk = blk.to(device)
        return blk.to(torch.float32) if nv is None else _apply_norm(blk, *nv)

    def buffer(key: str, shape: tuple[int, int]) -> torch.Tensor:
        """A float32 scratch matrix from ``workspace`` (reused across levels: fresh pages cost)."""
        have = workspace.get(key) if workspace is not None else None
        if have is None or have.numel() < shape[0] * shape[1] or have.device != device:
            have = torch.empty(shape[0] * shape[1], dtype=torch.float32, device=device)
            if workspace is not None:
                workspace[key] = have
        return have[:shape[0] * shape[1]].view(shape)

    # keep the prepared float32 descriptors if both sets fit in half the budget
    desc_bytes = sum(sizes) * dim * 4
    cached: list[torch.Tensor] | None = None
    set_dirs = [dirs, dirs]
    shifts = None
    if device.type == "cpu" and norms is not None and rows_a.matrix is not None and rows_b.matrix is not None:
        # normalisation folded into the directions: ((x - μ)/σ)·d = x·(d/σ) - (μ/σ)·d, so the
        # stored matrices are projected as they are (no normalised copy: one pass over the
        # descriptors less), and B's projections are compared shifted by A's offset minus B's
        cached = [rows_a.matrix, rows_b.matrix]
        padded = (cached[0].shape[0], cached[1].shape[0])
        d64 = dirs.to(torch.float64)
        offsets = []
        for si, (mu, sd) in enumerate(norms):
            k = dim // mu.numel()
            sd = torch.where(sd > 0, sd, torch.ones_like(sd)).to(torch.float64).repeat_interleave(k)
            set_dirs[si] = (d64 / sd[:, None]).to(torch.float32)
            offsets.append((mu.to(torch.float64).repeat_interleave(k) / sd) @ d64)
        shifts = (offsets[0] - offsets[1]).numpy()
        left = budget_bytes
    elif desc_bytes <= budget_bytes // 2:  # one matrix per set: one matmul, no temporaries
        if weights[0] is not None:  # merged rows: any count
            padded = (_blas_rows(sizes[0]), _blas_rows(sizes[1]))
        cached = []
        for si, (rows, nv) in enumerate(zip((rows_a, rows_b), vecs)):
            full = buffer(f"desc{si}", (padded[si], dim))
            r0 = 0
            for piece in rows.pieces():
                _normalize_into(piece, nv, full[r0:r0 + piece.shape[0]])
                r0 += piece.shape[0]
            full[r0:].zero_()
            cached.append(full)
        left = budget_bytes - desc_bytes
    else:
        left = budget_bytes - 3 * 4 * _BLOCK * 128 * dim  # room for a block in flight
    if device.type == "cpu":  # per-thread scratch of rows_l1
        left -= max(1, torch.get_num_threads()) * K.rows_l1_scratch_bytes(max(sizes), total=m)
    per_dir = sum(padded) * (4 if device.type == "cpu" else 14)  # the projections (+ sort temporaries)
    chunk = int(max(1, min(n_dirs, _MAX_CHUNK, left // max(per_dir, 1))))
    set_dirs = [d.to(device) for d in set_dirs]
    total_l1 = 0.0
    n_chunks = math.ceil(n_dirs / chunk)
    for ci, c0 in enumerate(range(0, n_dirs, chunk)):
        projs = []
        for si, (rows, nv) in enumerate(zip((rows_a, rows_b), vecs)):
            dT = set_dirs[si][:, c0:c0 + chunk].T.contiguous()  # (dc, dim)
            # on the CPU the projection buffers are reused; elsewhere the sort consumes them
            proj = (buffer(f"proj{si}", (chunk, padded[si])) if device.type == "cpu"
                    else torch.empty((chunk, padded[si]), dtype=torch.float32, device=device))[:dT.shape[0]]
            if cached is not None:
                _matmul(dT, cached[si].T, proj)
            else:
                r0 = 0
                for blk in (prep(b, nv) for b in rows):
                    _matmul(dT, blk.T, proj[:, r0:r0 + blk.shape[0]])
                    r0 += blk.shape[0]
            projs.append(proj)
        total_l1 += _sorted_abs_sum(*projs, workspace=workspace, weights=weights, lengths=sizes,
                                    shift=None if shifts is None else shifts[c0:c0 + chunk])
        del projs
        progress(stage, done0 + ci + 1, total)
    return total_l1 / (m * n_dirs), n_chunks


def _matrix_rows(desc: torch.Tensor) -> _Rows:
    step = _BLOCK * 128

    def blocks() -> Iterator[torch.Tensor]:
        for s in range(0, desc.shape[0], step):
            yield desc[s:s + step]

    return _Rows(blocks, desc.shape[0])


def sliced_wasserstein(desc_a: torch.Tensor, desc_b: torch.Tensor, *, n_directions: int = 128,
                       n_repeats: int = 4, generator: torch.Generator | None = None,
                       directions: torch.Tensor | None = None, normalize: bool = False,
                       memory_budget_mb: float = _DEFAULT_BUDGET_MB) -> float:
    """The reference's ``sliced_wasserstein(A, B, dir_repeats, dirs_per_repeat)`` on two M x D
    descriptor matrices (not multiplied by 1e3): mean |sorted projection differences| over
    descriptors and directions. ``directions`` (D x K, unit columns) overrides the random draw of
    :func:`random_directions`; ``normalize=True`` first normalises each set per channel as the
    reference's ``finalize_descriptors`` (which the reference applies before calling it).
    Computed on ``desc_a``'s device, directions in chunks that fit ``memory_budget_mb``."""
    if desc_a.ndim != 2 or desc_a.shape != desc_b.shape:
        raise ValueError(f"descriptor matrices must both be M x D with the same shape, got "
                         f"{tuple(desc_a.shape)} and {tuple(desc_b.shape)}")
    dim = desc_a.shape[1]
    if not (torch.isfinite(desc_a).all() and torch.isfinite(desc_b).all()):
        raise ValueError("descriptors must be finite (found NaN or infinity)")
    if directions is None:
        directions = random_directions(dim, n_directions, n_repeats, generator)
    if directions.ndim != 2 or directions.shape[0] != dim:
        raise ValueError(f"directions must be {dim} x K, got {tuple(directions.shape)}")
    norms = None
    if normalize:
        n_ch = 3 if dim % 3 == 0 else 1
        norms = [_moment_stats(_image_moments(d[:, None], n_ch), dim // n_ch) for d in (desc_a, desc_b)]
    value, _ = _sliced_l1(_matrix_rows(desc_a), _matrix_rows(desc_b), directions.to(torch.float32),
                          desc_a.device, int(memory_budget_mb * 2**20), norms=norms)
    return value


# --------------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------------


def _as_nchw(batch: object, label: str) -> torch.Tensor:
    if isinstance(batch, np.ndarray):
        if batch.dtype != np.uint8:
            raise ValueError(f"set {label}: images must be uint8 (0..255), got NumPy dtype {batch.dtype}")
        if batch.ndim != 4:
            raise ValueError(f"set {label}: expected an N x 3 x H x W or N x H x W x 3 array, got shape {batch.shape}")
        if batch.shape[1] == 3 and batch.shape[3] != 3:
            t = torch.from_numpy(np.ascontiguousarray(batch))
        elif batch.shape[3] == 3:
            t = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2)
        else:
            raise ValueError(f"set {label}: images must have 3 (RGB) channels, got array shape {batch.shape}")
        return t
    if not isinstance(batch, torch.Tensor):
        raise ValueError(f"set {label}: expected uint8 tensors or arrays, got {type(batch).__name__}")
    if batch.dtype != torch.uint8:
        raise ValueError(f"set {label}: images must be uint8 (0..255), got {batch.dtype}")
    if batch.ndim != 4:
        raise ValueError(f"set {label}: expected batches shaped N x 3 x H x W, got shape {tuple(batch.shape)}")
    if batch.shape[1] != 3:
        raise ValueError(f"set {label}: images must have 3 (RGB) channels, got {batch.shape[1]}")
    return batch


def _iter_batches(images: ImageSource, label: str, batch_size: int) -> Iterator[torch.Tensor]:
    source: Iterable = [images] if isinstance(images, (torch.Tensor, np.ndarray)) else images
    for batch in source:
        t = _as_nchw(batch, label)
        for s in range(0, t.shape[0], batch_size):
            yield t[s:s + batch_size]


def _count(images: ImageSource) -> int | None:
    if isinstance(images, (torch.Tensor, np.ndarray)):
        return int(images.shape[0]) if images.ndim == 4 else None
    if isinstance(images, (list, tuple)) and all(isinstance(b, (torch.Tensor, np.ndarray)) and b.ndim == 4 for b in images):
        return sum(int(b.shape[0]) for b in images)
    return None


# --------------------------------------------------------------------------------------------
# Seeded streams
# --------------------------------------------------------------------------------------------


def _mix(*xs: int) -> int:
    """SplitMix64-style hash of integers to a 63-bit seed (for independent generator streams)."""
    h = 0x243F6A8885A308D3
    for x in xs:
        h = (h ^ (x & 0xFFFFFFFFFFFFFFFF)) + 0x9E3779B97F4A7C15 & 0xFFFFFFFFFFFFFFFF
        h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        h = (h ^ (h >> 27)) * 0x94D049BB133111EB & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 31
    return h & 0x7FFFFFFFFFFFFFFF


def _gen(*xs: int) -> torch.Generator:
    return torch.Generator().manual_seed(_mix(*xs))


class _Centres:
    """Patch centres for one set, drawn per (level, block of _BLOCK images): batch-independent."""

    def __init__(self, base: int, set_id: int, sizes: list[tuple[int, int]], st: SWDSettings) -> None:
        self.base, self.set_id, self.sizes, self.st = base, set_id, sizes, st
        self._cache: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = {}

    def _block(self, level: int, block: int) -> tuple[torch.Tensor, torch.Tensor]:
        key = (level, block)
        if key not in self._cache:
            self._cache = {k: v for k, v in self._cache.items() if k[1] >= block}  # drop old blocks
            h, w = self.sizes[level]
            self._cache[key] = draw_patch_centres(_BLOCK, h, w, self.st.descriptors_per_image,
                                                  self.st.patch_size, _gen(self.base, 1, self.set_id, level, block))
        return self._cache[key]

    def get(self, level: int, start: int, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        ys, xs = [], []
        i = start
        while i < start + count:
            blk, off = divmod(i, _BLOCK)
            n = min(_BLOCK - off, start + count - i)
            y, x = self._block(level, blk)
            ys.append(y[off:off + n])
            xs.append(x[off:off + n])
            i += n
        return torch.cat(ys), torch.cat(xs)


class _Store:
    """Descriptors of one set and one level, kept on the host as the batches arrive (chunks of
    rows with their multiplicities, see :func:`_cpu_descriptors`), read back in image order:
    all of them or the rows of a subset of the images."""

    def __init__(self, per_image: int, values_per_channel: int, region: torch.Tensor | None = None,
                 first_row: int = 0) -> None:
        self.per_image = per_image  # descriptors drawn per image (the rows' multiplicities sum)
        self.values_per_channel = values_per_channel  # per image, for the channel statistics
        # optional: a preallocated matrix (rows first_row.. of a bigger one) the rows are written
        # into in order, so that the whole set is one contiguous matrix (see matrix())
        self.region = region
        self.first_row = first_row
        self.fill = 0
        self.chunks: list[torch.Tensor] = []
        self.weights: list[np.ndarray | None] = []
        self.row_starts: list[np.ndarray] = []  # per chunk: first row of each image, then the end
        self.moments: list[np.ndarray] = []
        self.starts: list[int] = []
        self.n_images = 0

    def add(self, rows: torch.Tensor, weights: np.ndarray | None, counts: np.ndarray, moments: np.ndarray) -> None:
        """Keep the rows of n images (``counts[i]`` rows for image i), their multiplicities (None:
        one each) and per-image channel sums (n x C x 2)."""
        self.starts.append(self.n_images)
        if self.region is not None:  # the kernel wrote them in place, at the fill position
            if rows.data_ptr() != self.region[self.fill:].data_ptr():
                raise RuntimeError("SWD store: rows were not written at the store's next row")
            self.fill += rows.shape[0]
        self.chunks.append(rows)
        self.weights.append(weights)
        self.row_starts.append(np.concatenate(([0], np.cumsum(counts))))
        self.moments.append(moments)
        self.n_images += len(counts)

    def stats(self, select: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel mean and std of the descriptors of all (or the selected) images."""
        mom = np.concatenate(self.moments)
        if select is not None:
            mom = mom[select.numpy()]
        return _moment_stats(mom, self.values_per_channel)

    def _ranges(self, idx: np.ndarray | None) -> Iterator[tuple[int, np.ndarray | None]]:
        """(chunk, row indices in it or None for all its rows) holding the images ``idx``
        (sorted, distinct; None: all), in image order."""
        bounds = (np.arange(len(self.chunks) + 1) if idx is None
                  else np.searchsorted(idx, self.starts + [self.n_images]))
        for c in range(len(self.chunks)):
            lo, hi = int(bounds[c]), int(bounds[c + 1])
            n_c = len(self.row_starts[c]) - 1
            if idx is None or hi - lo == n_c:
                yield c, None
            elif hi > lo:
                rs = self.row_starts[c]
                local = idx[lo:hi] - self.starts[c]
                first, lengths = rs[local], rs[local + 1] - rs[local]
                shift = np.repeat(first - (np.cumsum(lengths) - lengths), lengths)
                yield c, shift + np.arange(int(lengths.sum()))

    def matrix(self) -> torch.Tensor | None:
        """All rows as one contiguous float32 matrix followed by zero rows up to
        :func:`_blas_rows`, or None without a preallocated region."""
        if self.region is None:
            return None
        end = _blas_rows(self.fill)
        self.region[self.fill:end].zero_()
        return self.region[:end]

    def _take(self, c: int, rows: np.ndarray | None) -> torch.Tensor:
        return self.chunks[c] if rows is None else self.chunks[c].index_select(0, torch.from_numpy(rows))

    def rows(self, select: torch.Tensor | None) -> _Rows:
        idx = None if select is None else select.numpy()
        n_sel = self.n_images if idx is None else len(idx)

        def blocks() -> Iterator[torch.Tensor]:
            ids = np.arange(self.n_images) if idx is None else idx
            for s in range(0, n_sel, _BLOCK):
                parts = [self._take(c, r) for c, r in self._ranges(ids[s:s + _BLOCK])]
                yield parts[0] if len(parts) == 1 else torch.cat(parts)

        def pieces() -> Iterator[torch.Tensor]:
            return (self._take(c, r) for c, r in self._ranges(idx))

        sel = list(self._ranges(idx))
        n_rows = sum(self.chunks[c].shape[0] if r is None else len(r) for c, r in sel)
        weights = None
        if self.weights[0] is not None:
            weights = np.concatenate([self.weights[c] if r is None else self.weights[c][r] for c, r in sel])
        rows_ = _Rows(blocks, n_rows, pieces, weights, n_sel * self.per_image)
        if idx is None:
            rows_.matrix = self.matrix()
        return rows_


def descriptor_memory_bytes(n_images: int, height: int, width: int,
                            settings: SWDSettings = SWDSettings()) -> int:
    """Host memory held by the descriptors of ONE set over all levels (x2 for both sets); on the
    CPU, merging repeated centres keeps less on small levels (this is the bound)."""
    n_lv = len(level_sizes(height, width, settings.min_res, settings.n_levels))
    per = settings.descriptors_per_image * 3 * settings.patch_size ** 2
    bytes_per = 4 if settings.descriptor_dtype == "float32" else 2
    return n_images * n_lv * per * bytes_per


# --------------------------------------------------------------------------------------------
# The metric
# --------------------------------------------------------------------------------------------


def _worth_merging(height: int, width: int, st: SWDSettings) -> bool:
    """Whether a level's repeated patch centres are merged (CPU path): when the P centres drawn
    per image are expected to hold at least 5% repeats -- e.g. 43% on a 16 px level, where 128
    centres fall on 10 x 10 positions; 9% at 32 px; 2% at 64 px (not merged)."""
    h = st.patch_size // 2
    positions = (height - 2 * h) * (width - 2 * h)
    p = st.descriptors_per_image
    distinct = positions * -math.expm1(p * math.log1p(-1.0 / positions)) if positions > 1 else 1.0
    return distinct <= 0.95 * p


def _cpu_descriptors(images: torch.Tensor, sizes: list[tuple[int, int]],
                     centres: list[tuple[torch.Tensor, torch.Tensor]], patch_size: int,
                     merge: list[bool] | None = None, out: torch.Tensor | None = None,
                     first_rows: list[int] | None = None
                     ) -> tuple[list[tuple[torch.Tensor, np.ndarray | None, np.ndarray]], list[np.ndarray]]:
    """Descriptors and per-image channel sums of a uint8 n x C x H x W batch, by the compiled
    kernel (the same values as :func:`laplacian_pyramid` and :func:`extract_descriptors`),
    images spread over threads.

    Per level: (rows, multiplicities, rows per image). On a level with ``merge[lv]`` a centre
    drawn more than once for the same image gives one row (the images' distinct centres in
    order of first appearance) whose multiplicity (uint8, int32 for P > 255) says how often
    it was drawn; otherwise
    the rows are all n x P descriptors in order and the multiplicities None. The channel sums
    (per level n x C x 2) count every drawn centre. ``out``/``first_rows``: write level lv's
    rows into the float32 matrix ``out`` from row ``first_rows[lv]`` on (default: a new one)."""
    if len(sizes) > 1 and min(min(hw) for hw in sizes[:-1]) < 3:
        raise ValueError(f"pyr_down needs at least 3 x 3 pixels, got {sizes[-2][0]} x {sizes[-2][1]}")
    imgs = np.ascontiguousarray(images.numpy())
    n, c = imgs.shape[:2]
    n_lv = len(sizes)
    ys = np.ascontiguousarray(np.stack([y.numpy() for y, _ in centres]))
    xs = np.ascontiguousarray(np.stack([x.numpy() for _, x in centres]))
    per = ys.shape[2]
    merge = merge or [False] * n_lv
    slots = np.empty((n_lv, n, per), dtype=np.int64)
    counts = np.empty((n_lv, n), dtype=np.int64)
    for lv, (h, w) in enumerate(sizes):
        if merge[lv]:
            K.centre_slots(ys[lv], xs[lv], h, w, slots[lv], counts[lv])
        else:
            slots[lv] = np.arange(per)
            counts[lv] = per
    ends = np.cumsum(counts.ravel()).reshape(n_lv, n)
    row0 = ends - counts
    if out is None:
        # torch's allocator: NumPy asks for transparent huge pages on big arrays, which stalls
        # page faults in compaction on some kernels (measured here: 2 ms/MB against 0.5 ms/MB)
        out = torch.empty((int(ends[-1, -1]), c * patch_size * patch_size), dtype=torch.float32)
    else:  # level lv from first_rows[lv] on
        shift = np.asarray(first_rows, dtype=np.int64)[:, None] - row0[:, :1]
        row0 += shift
        ends += shift
        if ends.max() > out.shape[0] or out.shape[1] != c * patch_size * patch_size or not out.is_contiguous():
            raise ValueError(f"descriptor matrix {tuple(out.shape)} cannot take rows up to {ends.max()}")
    moments = np.empty((n_lv, n, c, 2), dtype=np.float64)
    size_arr = np.array(sizes, dtype=np.int64)
    out_np = out.numpy()
    _parallel(lambda i0, i1: K.laplacian_descriptors(imgs, i0, i1, size_arr, ys, xs, slots, row0, patch_size,
                                                     out_np, moments), n, tasks_per_thread=4)
    levels = []
    for lv in range(n_lv):
        r0, r1 = int(row0[lv, 0]), int(ends[lv, -1])
        weights = None
        if merge[lv]:
            weights = np.bincount((row0[lv, :, None] - r0 + slots[lv]).ravel(), minlength=r1 - r0)
            weights = weights.astype(np.uint8 if per <= 255 else np.int32)
        levels.append((out[r0:r1], weights, counts[lv].copy()))
    return levels, list(moments)


def _collect(images: ImageSource, label: str, set_id: int, base: int, st: SWDSettings,
             device: torch.device, batch_size: int | None, budget_bytes: int,
             progress: Progress, expect_hw: tuple[int, int] | None) -> tuple[list[_Store], tuple[int, int]]:
    total = _count(images)
    stage = f"SWD descriptors {label}"
    progress(stage, 0, total)
    store_dtype = torch.float32 if st.descriptor_dtype == "float32" else torch.float16
    stores: list[_Store] = []
    sizes: list[tuple[int, int]] = []
    centres: _Centres | None = None
    merge: list[bool] = []
    flat: torch.Tensor | None = None
    hw: tuple[int, int] | None = None
    done = 0
    bs = batch_size or 1 << 30
    for batch in _iter_batches(images, label, bs):
        if batch.shape[0] == 0:
            continue
        bhw = (int(batch.shape[2]), int(batch.shape[3]))
        if hw is None:
            hw = bhw
            if min(hw) < st.min_res:
                raise ValueError(f"set {label}: images are {hw[0]} x {hw[1]} px; SWD needs at least "
                                 f"{st.min_res} x {st.min_res} (min_res)")
            if expect_hw is not None and hw != expect_hw:
                raise ValueError(f"sets A and B have different resolutions: {expect_hw[0]} x {expect_hw[1]} "
                                 f"vs {hw[0]} x {hw[1]}; resize them to a common size first")
            sizes = level_sizes(hw[0], hw[1], st.min_res, st.n_levels)
            centres = _Centres(base, set_id, sizes, st)
            merge = [_worth_merging(h, w, st) for h, w in sizes]
            per, dim = st.descriptors_per_image, 3 * st.patch_size ** 2
            cap = 0
            if device.type == "cpu" and total is not None and store_dtype == torch.float32:
                # one matrix per set, a region per level, written in place by the kernel: each
                # level's rows end up contiguous (projected without a copy); pages beyond the
                # rows written (merged repeats) are never touched
                cap = _blas_rows(total * per)
                flat = torch.empty((len(sizes) * cap, dim), dtype=torch.float32)
            stores = [_Store(per, per * st.patch_size ** 2,
                             None if flat is None else flat[lv * cap:(lv + 1) * cap], lv * cap)
                      for lv in range(len(sizes))]
            if batch_size is None:  # pyramid working set ≈ 12 float32 copies of the batch
                bs = max(1, min(512, budget_bytes // (12 * 4 * 3 * hw[0] * hw[1])))
        elif bhw != hw:
            raise ValueError(f"set {label}: all images must have the same size; got {hw[0]} x {hw[1]} "
                             f"and then {bhw[0]} x {bhw[1]}")
        for s in range(0, batch.shape[0], bs):
            sub = batch[s:s + bs]
            n = sub.shape[0]
            cs = [centres.get(lv, done, n) for lv in range(len(sizes))]
            if device.type == "cpu":
                levels, moments = _cpu_descriptors(sub, sizes, cs, st.patch_size, merge, flat,
                                                   [sto.first_row + sto.fill for sto in stores])
            else:
                pyr = laplacian_pyramid(sub.to(device), len(sizes))
                descs = [extract_descriptors(level, ys, xs, st.patch_size).to("cpu", torch.float32)
                         for level, (ys, xs) in zip(pyr, cs)]
                del pyr
                moments = [_image_moments(d, sub.shape[1]) for d in descs]
                levels = [(d.reshape(-1, d.shape[-1]), None, np.full(n, d.shape[1])) for d in descs]
            for lv, (rows, weights, counts) in enumerate(levels):
                stores[lv].add(rows.to(store_dtype), weights, counts, moments[lv])
            done += n
            progress(stage, done, total)
    if hw is None or done < 2:
        raise ValueError(f"set {label}: SWD needs at least 2 images, got {done}")
    return stores, hw


def swd(set_a: ImageSource, set_b: ImageSource, *, settings: SWDSettings = SWDSettings(),
        seed: int | None = 0, device: str | torch.device = "auto", batch_size: int | None = None,
        memory_budget_mb: float = _DEFAULT_BUDGET_MB, progress: Progress = null_progress) -> SWDResult:
    """Per-level SWD x 1e3 between two sets of uint8 RGB images (see the module docstring).

    ``set_a``/``set_b``: a uint8 N x 3 x H x W tensor, a uint8 NumPy array (NCHW or NHWC), or an
    iterable of such batches; all images of both sets must share one H x W (>= min_res).
    ``batch_size``: images per pyramid batch (None: from ``memory_budget_mb``); it does not change
    the result. ``memory_budget_mb`` bounds the working memory (pyramid batches, projection and
    sort chunks); the stored descriptors come on top (:func:`descriptor_memory_bytes`).
    """
    settings.validate()
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    dev = resolve_device(device)
    budget = int(memory_budget_mb * 2**20)
    base = secrets.randbits(63) if seed is None else int(seed)
    stores_a, hw = _collect(set_a, "A", 0, base, settings, dev, batch_size, budget, progress, None)
    stores_b, _ = _collect(set_b, "B", 1, base, settings, dev, batch_size, budget, progress, hw)
    na, nb = stores_a[0].n_images, stores_b[0].n_images
    n = min(na, nb)
    sel_a = sel_b = None
    note = None
    if na != nb:
        pick = torch.randperm(max(na, nb), generator=_gen(base, 3))[:n].sort().values
        if na > nb:
            sel_a = pick
        else:
            sel_b = pick
        big = "A" if na > nb else "B"
        note = (f"set A has {na} images and set B {nb}: {n} images were drawn at random (seeded) from "
                f"set {big} so that both sets give the same number of descriptors, as the reference's "
                "sort-matching requires")
    sizes = level_sizes(hw[0], hw[1], settings.min_res, settings.n_levels)
    dim = 3 * settings.patch_size ** 2
    levels: list[SWDLevel] = []
    workspace: dict = {}
    stage = "SWD distance"
    done = 0
    total = None
    for lv, (h, w) in enumerate(sizes):
        dirs = random_directions(dim, settings.n_directions, settings.n_repeats, _gen(base, 2, lv))
        norms = [stores_a[lv].stats(sel_a), stores_b[lv].stats(sel_b)]
        value, k = _sliced_l1(stores_a[lv].rows(sel_a), stores_b[lv].rows(sel_b), dirs, dev, budget,
                              progress, stage, done, total, norms, workspace)
        if total is None:
            total = k * len(sizes)
        done += k
        levels.append(SWDLevel(resolution=h, value=value * 1e3, shape=(h, w)))
        stores_a[lv] = stores_b[lv] = None  # type: ignore[assignment]  # free as we go
    progress(stage, done, done)
    average = float(np.mean([lv.value for lv in levels]))
    return SWDResult(levels=levels, average=average, n_images=n, seed=seed, settings=settings,
                     n_images_a=na, n_images_b=nb, note=note)


def compile_kernels() -> float:
    """Compile the CPU kernels (:mod:`core.metrics.swd_kernels`) into their on-disk cache by a tiny
    run of the CPU path (the Makefile does this at install, so that the first real comparison does
    not wait for the compiler). Returns the seconds it took."""
    import time

    t0 = time.perf_counter()
    g = torch.Generator().manual_seed(0)
    # 64 px: a level with single rows (64) and levels with merged repeats (32, 16); equal sets
    # (normalisation folded into the directions) and unequal ones (a subset, normalised first)
    a = torch.randint(0, 256, (4, 3, 64, 64), dtype=torch.uint8, generator=g)
    b = torch.randint(0, 256, (4, 3, 64, 64), dtype=torch.uint8, generator=g)
    for b_images in (b, b[:3]):
        swd(a, b_images, seed=0, device="cpu", settings=SWDSettings(n_directions=4, n_repeats=1))
    normalize_descriptors(torch.rand(8, 147, generator=g))
    return time.perf_counter() - t0
