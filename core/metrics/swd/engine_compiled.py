"""The compiled CPU engine of the SWD metric: NVIDIA progressive_growing_of_gans
``metrics/sliced_wasserstein.py``, as defined step by step in :mod:`.reference`, evaluated by the
Numba kernels of :mod:`.kernels` on all ``torch.get_num_threads()`` threads.

It computes the same values as the torch engine (:mod:`.engine_torch`), by shortcuts that are
exact up to float rounding; :class:`DescriptorSet` keeps a set's descriptors, :func:`level_distance`
compares two sets on one level.
"""

from __future__ import annotations

import math
import queue
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from core.metrics.swd import kernels as K
from core.metrics.swd.reference import apply_norm, channel_stats, norm_vectors
from core.metrics.swd.sampling import BLOCK, Select
from core.metrics.swd.settings import SWDSettings
from core.runtime.progress import Progress, null_progress

__all__ = ["DescriptorSet", "level_distance", "level_rows", "matrix_distance", "release_level"]

# What is done differently from the reference, and why it gives the same values:
#
# * pyramid, neighbourhoods and per-image channel sums in one kernel per image
#   (:func:`_cpu_descriptors`), bit-identical to the tensor functions of :mod:`.reference`;
# * repeated centres merged on small levels: 128 centres drawn on the 10 x 10 positions of a
#   16 px level repeat 43% of the time (9% at 32 px). There an image's repeated centre is kept
#   as one row with its multiplicity, which the distance counts that many times -- the same
#   value as projecting every copy, for ~40% less work on that level (:func:`_worth_merging`);
# * each set's descriptors written by the kernel into one preallocated matrix per level
#   (:class:`_Store`), and projected as they are: the per-set normalisation is folded into the
#   directions, ((x - μ)/σ)·d = x·(d/σ) - (μ/σ)·d, the offsets (μ/σ)·d becoming a float64 shift
#   of B's projections in the distance (equal to normalising a copy first to ~1e-6 relative; a
#   copy is still normalised when only a subset of a set's images is used);
# * the projections through torch's BLAS, in chunks of up to 128 directions;
# * no sorting: per direction, Σ |sorted A - sorted B| is computed exactly as the integral of
#   |F_A - F_B| (empirical CDFs) from bucket counts, sorting only the values of the few buckets
#   where F_A - F_B may change sign (:func:`.kernels.rows_l1`; equal to the sort result up to
#   float64 rounding).


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


def _normalize_into(
    src: torch.Tensor, nv: tuple[torch.Tensor, torch.Tensor] | None, out: torch.Tensor
) -> None:
    """out = (src - mean) / std per column (or a float32 copy when nv is None); for contiguous
    float32 by the compiled kernel on all threads (the same float32 operations as torch)."""
    if nv is not None and src.dtype == torch.float32 and src.is_contiguous():
        s, o = src.numpy(), out.numpy()
        mean, std = (v.numpy() for v in nv)
        _parallel(lambda i0, i1: K.normalize_rows(s, mean, std, o, i0, i1), s.shape[0])
    elif nv is None:
        out.copy_(src)
    else:
        apply_norm(src, *nv, out=out)


def _sorted_abs_sum(
    pa: torch.Tensor,
    pb: torch.Tensor,
    workspace: dict | None = None,
    weights: tuple[np.ndarray | None, np.ndarray | None] = (None, None),
    lengths: tuple[int, int] | None = None,
    shift: np.ndarray | None = None,
    per_row_out: np.ndarray | None = None,
) -> float:
    """Σ |sort(pa_row) - sort(pb_row)| over all rows (float64) of two rows x n float32 matrices
    (``shift``: per row, a float64 added to pb's row first);
    with ``weights`` (int32 >= 1 per column, equal sums), column j of pa stands for
    ``weights[0][j]`` equal values (likewise pb), so the rows may differ in length;
    ``lengths``: only the first (na, nb) columns are compared (the rest is padding).

    Nothing is sorted in bulk: :func:`.kernels.rows_l1` integrates |F_a - F_b| per row, rows
    spread over ``torch.get_num_threads()`` threads; the per-row values are summed in row order,
    so the result does not depend on the thread count. ``per_row_out``: also receives the per-row
    sums (what :mod:`.explain` splits the value into)."""
    wa, wb = weights
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
    if per_row_out is not None:
        per_row_out[:] = per_row
    return float(per_row.sum())


class _Rows:
    """A set's descriptors for one level: iterated as fixed-size blocks of rows (the streamed
    projections depend on the block layout only), or as ``pieces()``, the same rows in order
    in whatever views are cheapest (to fill a whole matrix). Row j stands for ``weights[j]``
    drawn descriptors (None: one each), ``total`` in all."""

    def __init__(
        self,
        blocks_fn: Callable[[], Iterator[torch.Tensor]],
        n_rows: int,
        pieces_fn: Callable[[], Iterator[torch.Tensor]] | None = None,
        weights: np.ndarray | None = None,
        total: int | None = None,
    ) -> None:
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


def _sliced_l1(
    rows_a: _Rows,
    rows_b: _Rows,
    dirs: torch.Tensor,
    budget_bytes: int,
    progress: Progress = null_progress,
    stage: str = "",
    done0: int = 0,
    total: int | None = None,
    norms: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
    workspace: dict | None = None,
    per_direction: np.ndarray | None = None,
    keep_top: object | None = None,
) -> tuple[float, int]:
    """Mean over directions and descriptors of |sorted projections A - sorted projections B|.

    ``norms``: per set, the per-channel (mean, std) to normalise with first (None: as they are).
    ``workspace``: scratch matrices kept between calls (one per level) instead of fresh ones.
    The descriptors are projected block by block onto chunks of directions sized to the budget,
    and compared; rows with multiplicities (merged repeats) count that many times. Returns
    (value, number of direction chunks). ``per_direction`` (float64, one per direction): also
    receives each direction's Σ |sorted differences| (their sum / (M * K) is the value);
    ``keep_top`` (with it; a :class:`.explain.TopProjections`) is offered each chunk's
    projections, to keep those of the directions that contribute most."""
    m = rows_a.total
    if rows_b.total != m:
        raise ValueError(f"sliced_wasserstein needs equal descriptor counts, got {m} and {rows_b.total}")
    if (rows_a.weights is None) != (rows_b.weights is None):
        raise ValueError("both sets' rows must have multiplicities, or neither")
    sizes = padded = (rows_a.n_rows, rows_b.n_rows)
    weights = (rows_a.weights, rows_b.weights)
    dim, n_dirs = dirs.shape
    vecs = (
        [None, None]
        if norms is None
        else [norm_vectors(mu, sd, dim, torch.device("cpu")) for mu, sd in norms]
    )

    def prep(blk: torch.Tensor, nv: tuple[torch.Tensor, torch.Tensor] | None) -> torch.Tensor:
        return blk.to(torch.float32) if nv is None else apply_norm(blk, *nv)

    def buffer(key: str, shape: tuple[int, int]) -> torch.Tensor:
        """A float32 scratch matrix from ``workspace`` (reused across levels: fresh pages cost)."""
        have = workspace.get(key) if workspace is not None else None
        if have is None or have.numel() < shape[0] * shape[1]:
            have = torch.empty(shape[0] * shape[1], dtype=torch.float32)
            if workspace is not None:
                workspace[key] = have
        return have[: shape[0] * shape[1]].view(shape)

    # keep the prepared float32 descriptors if both sets fit in half the budget
    desc_bytes = sum(sizes) * dim * 4
    cached: list[torch.Tensor] | None = None
    set_dirs = [dirs, dirs]
    shifts = None
    offsets = None
    if norms is not None and rows_a.matrix is not None and rows_b.matrix is not None:
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
        for si, (rows, nv) in enumerate(zip((rows_a, rows_b), vecs, strict=True)):
            full = buffer(f"desc{si}", (padded[si], dim))
            r0 = 0
            for piece in rows.pieces():
                _normalize_into(piece, nv, full[r0 : r0 + piece.shape[0]])
                r0 += piece.shape[0]
            full[r0:].zero_()
            cached.append(full)
        left = budget_bytes - desc_bytes
    else:
        left = budget_bytes - 3 * 4 * BLOCK * 128 * dim  # room for a block in flight
    left -= max(1, torch.get_num_threads()) * K.rows_l1_scratch_bytes(max(sizes), total=m)  # its scratch
    per_dir = sum(padded) * 4  # the projections
    chunk = int(max(1, min(n_dirs, _MAX_CHUNK, left // max(per_dir, 1))))
    total_l1 = 0.0
    n_chunks = math.ceil(n_dirs / chunk)
    for ci, c0 in enumerate(range(0, n_dirs, chunk)):
        projs = []
        for si, (rows, nv) in enumerate(zip((rows_a, rows_b), vecs, strict=True)):
            dT = set_dirs[si][:, c0 : c0 + chunk].T.contiguous()  # (dc, dim)
            proj = buffer(f"proj{si}", (chunk, padded[si]))[: dT.shape[0]]  # reused chunk after chunk
            if cached is not None:
                _matmul(dT, cached[si].T, proj)
            else:
                r0 = 0
                for blk in (prep(b, nv) for b in rows):
                    _matmul(dT, blk.T, proj[:, r0 : r0 + blk.shape[0]])
                    r0 += blk.shape[0]
            projs.append(proj)
        total_l1 += _sorted_abs_sum(
            *projs,
            workspace=workspace,
            weights=weights,
            lengths=sizes,
            shift=None if shifts is None else shifts[c0 : c0 + chunk],
            per_row_out=None if per_direction is None else per_direction[c0 : c0 + chunk],
        )
        if keep_top is not None:  # the normalised projections are these minus the offsets
            dc = projs[0].shape[0]
            off = None if offsets is None else [o[c0 : c0 + dc].numpy() for o in offsets]
            keep_top.offer(c0, per_direction[c0 : c0 + dc], projs, sizes, off)
        del projs
        progress(stage, done0 + ci + 1, total)
    return total_l1 / (m * n_dirs), n_chunks


def _matrix_rows(desc: torch.Tensor) -> _Rows:
    step = BLOCK * 128

    def blocks() -> Iterator[torch.Tensor]:
        for s in range(0, desc.shape[0], step):
            yield desc[s : s + step]

    return _Rows(blocks, desc.shape[0])


class _Store:
    """Descriptors of one set and one level, kept on the host as the batches arrive (chunks of
    rows with their multiplicities, see :func:`_cpu_descriptors`), read back in image order:
    all of them or the rows of a subset of the images."""

    def __init__(
        self, per_image: int, values_per_channel: int, region: torch.Tensor | None = None, first_row: int = 0
    ) -> None:
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

    def add(
        self, rows: torch.Tensor, weights: np.ndarray | None, counts: np.ndarray, moments: np.ndarray
    ) -> None:
        """Keep the rows of n images (``counts[i]`` rows for image i), their multiplicities (None:
        one each) and per-image channel sums (n x C x 2)."""
        self.starts.append(self.n_images)
        if self.region is not None:  # the kernel wrote them in place, at the fill position
            if rows.data_ptr() != self.region[self.fill :].data_ptr():
                raise RuntimeError("SWD store: rows were not written at the store's next row")
            self.fill += rows.shape[0]
        self.chunks.append(rows)
        self.weights.append(weights)
        self.row_starts.append(np.concatenate(([0], np.cumsum(counts))))
        self.moments.append(moments)
        self.n_images += len(counts)

    def stats(self, select: Select) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel mean and std of the descriptors of all (or the selected) images."""
        mom = np.concatenate(self.moments)
        if isinstance(select, int):
            mom = mom[:select]
        elif select is not None:
            mom = mom[select.numpy()]
        return channel_stats(mom, self.values_per_channel)

    def _ranges(self, idx: np.ndarray | None) -> Iterator[tuple[int, np.ndarray | None]]:
        """(chunk, row indices in it or None for all its rows) holding the images ``idx``
        (sorted, distinct; None: all), in image order."""
        bounds = (
            np.arange(len(self.chunks) + 1)
            if idx is None
            else np.searchsorted(idx, [*self.starts, self.n_images])
        )
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
        self.region[self.fill : end].zero_()
        return self.region[:end]

    def _take(self, c: int, rows: np.ndarray | None) -> torch.Tensor:
        return self.chunks[c] if rows is None else self.chunks[c].index_select(0, torch.from_numpy(rows))

    def rows(self, select: Select) -> _Rows:
        prefix = isinstance(select, int)
        idx = None if select is None else (np.arange(select) if prefix else select.numpy())
        n_sel = self.n_images if idx is None else len(idx)

        def blocks() -> Iterator[torch.Tensor]:
            ids = np.arange(self.n_images) if idx is None else idx
            for s in range(0, n_sel, BLOCK):
                parts = [self._take(c, r) for c, r in self._ranges(ids[s : s + BLOCK])]
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
        elif prefix and self.region is not None:
            # the first images' rows are the first rows of the matrix: projected in place, as a
            # set of only those images would be (its padding rows hold later images' rows here,
            # zeros there: padding is never compared, so the values are bit-identical)
            rows_.matrix = self.region[: _blas_rows(n_rows)]
        return rows_


def _worth_merging(height: int, width: int, st: SWDSettings) -> bool:
    """Whether a level's repeated patch centres are merged: when the P centres drawn
    per image are expected to hold at least 5% repeats -- e.g. 43% on a 16 px level, where 128
    centres fall on 10 x 10 positions; 9% at 32 px; 2% at 64 px (not merged)."""
    h = st.patch_size // 2
    positions = (height - 2 * h) * (width - 2 * h)
    p = st.descriptors_per_image
    distinct = positions * -math.expm1(p * math.log1p(-1.0 / positions)) if positions > 1 else 1.0
    return distinct <= 0.95 * p


def _cpu_descriptors(
    images: torch.Tensor,
    sizes: list[tuple[int, int]],
    centres: list[tuple[torch.Tensor, torch.Tensor]],
    patch_size: int,
    merge: list[bool] | None = None,
    out: torch.Tensor | None = None,
    first_rows: list[int] | None = None,
) -> tuple[list[tuple[torch.Tensor, np.ndarray | None, np.ndarray]], list[np.ndarray]]:
    """Descriptors and per-image channel sums of a uint8 n x C x H x W batch, by the compiled
    kernel (the same values as :func:`laplacian_pyramid` and :func:`extract_descriptors`),
    images spread over threads.

    Per level: (rows, multiplicities, rows per image). On a level with ``merge[lv]`` a centre
    drawn more than once for the same image gives one row (the images' distinct centres in
    order of first appearance) whose multiplicity (int32) says how often it was drawn; otherwise
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
        if (
            ends.max() > out.shape[0]
            or out.shape[1] != c * patch_size * patch_size
            or not out.is_contiguous()
        ):
            raise ValueError(f"descriptor matrix {tuple(out.shape)} cannot take rows up to {ends.max()}")
    moments = np.empty((n_lv, n, c, 2), dtype=np.float64)
    size_arr = np.array(sizes, dtype=np.int64)
    out_np = out.numpy()
    _parallel(
        lambda i0, i1: K.laplacian_descriptors(
            imgs, i0, i1, size_arr, ys, xs, slots, row0, patch_size, out_np, moments
        ),
        n,
        tasks_per_thread=4,
    )
    levels = []
    for lv in range(n_lv):
        r0, r1 = int(row0[lv, 0]), int(ends[lv, -1])
        weights = None
        if merge[lv]:
            weights = np.bincount((row0[lv, :, None] - r0 + slots[lv]).ravel(), minlength=r1 - r0)
            # one dtype whatever P: one compiled specialisation of rows_l1 (4 bytes per row
            # against the row's 588 bytes of descriptors)
            weights = weights.astype(np.int32)
        levels.append((out[r0:r1], weights, counts[lv].copy()))
    return levels, list(moments)


class DescriptorSet:
    """One set's descriptors on every level, computed batch by batch by the compiled kernel
    (``device`` must be the CPU)."""

    def __init__(
        self, sizes: list[tuple[int, int]], settings: SWDSettings, total: int | None, device: torch.device
    ) -> None:
        if device.type != "cpu":
            raise ValueError(f"the compiled SWD engine runs on the CPU only, not on {device}")
        self.sizes, self.settings = sizes, settings
        self.merge = [_worth_merging(h, w, settings) for h, w in sizes]
        self.store_dtype = torch.float32 if settings.descriptor_dtype == "float32" else torch.float16
        per, dim = settings.descriptors_per_image, 3 * settings.patch_size**2
        cap = 0
        self.flat: torch.Tensor | None = None
        if total is not None and self.store_dtype == torch.float32:
            # one matrix per set, a region per level, written in place by the kernel: each
            # level's rows end up contiguous (projected without a copy); pages beyond the
            # rows written (merged repeats) are never touched
            cap = _blas_rows(total * per)
            self.flat = torch.empty((len(sizes) * cap, dim), dtype=torch.float32)
        self.stores: list[_Store | None] = [
            _Store(
                per,
                per * settings.patch_size**2,
                None if self.flat is None else self.flat[lv * cap : (lv + 1) * cap],
                lv * cap,
            )
            for lv in range(len(sizes))
        ]

    def stats(self, level: int, select: Select) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel mean and std of one level's descriptors of all (or the selected) images."""
        return self.stores[level].stats(select)

    @property
    def n_images(self) -> int:
        return self.stores[0].n_images

    def add(self, images: torch.Tensor, centres: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        """Descriptors of a uint8 n x 3 x H x W batch at the given centres (per level, each n x P)."""
        levels, moments = _cpu_descriptors(
            images,
            self.sizes,
            centres,
            self.settings.patch_size,
            self.merge,
            self.flat,
            [sto.first_row + sto.fill for sto in self.stores],
        )
        for lv, (rows, weights, counts) in enumerate(levels):
            self.stores[lv].add(rows.to(self.store_dtype), weights, counts, moments[lv])


def level_rows(
    desc: DescriptorSet, level: int, select: Select
) -> tuple[Iterator[torch.Tensor], np.ndarray | None, np.ndarray]:
    """One level's stored rows of all (or the selected) images, for :mod:`.explain`: the rows in
    image order (as pieces), their multiplicities (None: one drawn centre each) and the number
    of rows of each image used (the rows of image i follow those of image i - 1; on a merged
    level they are its distinct centres in order of first drawing)."""
    store = desc.stores[level]
    counts = np.concatenate([np.diff(rs) for rs in store.row_starts])
    if isinstance(select, int):
        counts = counts[:select]
    elif select is not None:
        counts = counts[select.numpy()]
    rows = store.rows(select)
    return rows.pieces(), rows.weights, counts


def level_distance(
    set_a: DescriptorSet,
    set_b: DescriptorSet,
    level: int,
    select_a: Select,
    select_b: Select,
    directions: torch.Tensor,
    budget_bytes: int,
    progress: Progress = null_progress,
    stage: str = "",
    done: int = 0,
    total: int | None = None,
    workspace: dict | None = None,
    per_direction: np.ndarray | None = None,
    release: bool = True,
    keep_top: object | None = None,
) -> tuple[float, int]:
    """Mean |sorted projections A - sorted projections B| on one level, each set normalised by
    its own channel statistics; ``select_*``: the images used (sorted indices, an int n for the
    first n images, None: all). The level's descriptors are released unless ``release`` is False
    (:func:`release_level` then). ``per_direction``, ``keep_top``: see :func:`_sliced_l1`.
    Returns (value, number of direction chunks)."""
    sa, sb = set_a.stores[level], set_b.stores[level]
    norms = [sa.stats(select_a), sb.stats(select_b)]
    out = _sliced_l1(
        sa.rows(select_a),
        sb.rows(select_b),
        directions,
        budget_bytes,
        progress,
        stage,
        done,
        total,
        norms,
        workspace,
        per_direction,
        keep_top,
    )
    if release:
        release_level(set_a, set_b, level)
    return out


def release_level(set_a: DescriptorSet, set_b: DescriptorSet, level: int) -> None:
    """Free one level's descriptors of both sets."""
    set_a.stores[level] = set_b.stores[level] = None  # free as we go


def matrix_distance(
    desc_a: torch.Tensor,
    desc_b: torch.Tensor,
    directions: torch.Tensor,
    budget_bytes: int,
    norms: list[tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> float:
    """Mean |sorted projections| difference of two M x D CPU descriptor matrices (``norms``: per
    set, the channel mean and std to normalise with first)."""
    value, _ = _sliced_l1(_matrix_rows(desc_a), _matrix_rows(desc_b), directions, budget_bytes, norms=norms)
    return value
