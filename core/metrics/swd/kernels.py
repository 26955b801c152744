"""Numba kernels of the compiled CPU engine of SWD (:mod:`core.metrics.swd.engine_compiled`).

What they compute is defined by NVIDIA's ``metrics/sliced_wasserstein.py`` (progressive_growing_of_gans),
as written out in :mod:`core.metrics.swd.reference`; these are faster CPU evaluations of the same maths:

* :func:`laplacian_descriptors`: per image, the Laplacian pyramid (5-tap binomial filter, mirror
  boundaries, zero-insertion upsampling; exactly the float32 operations, in the same order, as
  the tensor functions ``pyr_down``/``pyr_up`` of :mod:`core.metrics.swd.reference`, so the values are
  bit-identical to them), the 7x7x3 neighbourhoods at the given centres, and per image and
  channel the float64 sum and sum of squares of those descriptors (for the per-set
  normalisation). Nothing but one image's pyramid exists at a time per thread.
* :func:`normalize_rows`: the per-channel normalisation of a float32 matrix, on a range of rows.
* :func:`rows_l1`: per row, Σ_i |a_(i) - b_(i)| of two equal-length float32 vectors (the sorted
  projections' L1 distance of the reference's ``sliced_wasserstein``) *without sorting*: it equals
  ∫ |G(x)| dx with G = n (F_a - F_b) (F the empirical CDFs). The common range is cut into
  buckets of a power-of-two width ``w`` aligned on multiples of ``w`` (bucket of ``v`` =
  ``floor(v / w)``, exact in float64). A counting pass gives G at every bucket edge and so the
  sign G keeps inside each bucket where it cannot change; a second pass adds up
  ``sign * (right edge - v)`` over the values, which with the edge values gives ∫ |G| over all
  those buckets; the values of the few buckets where G may change sign are bucket-sorted and
  integrated piece by piece. Equal to the sort result up to float64 rounding, O(n) per row.
  A value may stand for several equal values (a multiplicity: merged repeated patch centres);
  counts and sums are then weighted, which equals sorting the rows with the values repeated.
  B's row may be shifted by a float64 (the folded normalisation): positions are computed in
  bucket widths, u = a * s - k_a and u = b * s - k_b, the shift living in k_b, so it costs
  nothing per value.
* :func:`centre_slots`: which of an image's patch centres repeat an earlier one (the merging).

All kernels release the GIL (``nogil``) and work on a given range of images or rows, so the caller
spreads work over threads with deterministic, thread-count-independent results. Compiled on
first use and cached on disk next to this module (``cache=True``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "MIN_HIST_N",
    "PER_BUCKET",
    "centre_slots",
    "laplacian_descriptors",
    "normalize_rows",
    "rows_l1",
    "rows_l1_scratch",
    "rows_l1_scratch_bytes",
]

_F32 = np.float32
# binomial [1,4,6,4,1]/16 taps: pyr_down (gain 1) and pyr_up (gain 2); all exact in float32
_D0, _D1, _D2 = _F32(1.0 / 16.0), _F32(4.0 / 16.0), _F32(6.0 / 16.0)
_U0, _U1, _U2 = _F32(2.0 / 16.0), _F32(8.0 / 16.0), _F32(12.0 / 16.0)

#: values per histogram bucket (before the power-of-two rounding of the width)
PER_BUCKET = 2
#: shorter rows are simply sorted
MIN_HIST_N = 64
_SMALL_SEGMENT = 64  # ambiguous buckets with more values are sorted by argsort, not by insertion


# --------------------------------------------------------------------------------------------
# Pyramid and descriptors
# --------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True)
def _pad_row(row, buf):
    """Mirror-pad (scipy 'mirror' = torch 'reflect') a row by 2 on each side into buf."""
    n = row.shape[0]
    buf[0] = row[2]
    buf[1] = row[1]
    buf[2 : n + 2] = row
    buf[n + 2] = row[n - 2]
    buf[n + 3] = row[n - 3]


@njit(nogil=True, cache=True)
def _reflect(i, n):
    if i < 0:
        return -i
    if i >= n:
        return 2 * (n - 1) - i
    return i


@njit(nogil=True, cache=True)
def _h_down(src, dst, buf):
    """Horizontal blur + keep every second column: (C, R, W) -> (C, R, ceil(W/2))."""
    C, R, _W = src.shape
    w = dst.shape[2]
    for c in range(C):
        for r in range(R):
            _pad_row(src[c, r], buf)
            out = dst[c, r]
            for j in range(w):
                k = 2 * j
                o = (buf[k] + buf[k + 4]) * _D0
                o = o + (buf[k + 1] + buf[k + 3]) * _D1
                out[j] = o + buf[k + 2] * _D2


@njit(nogil=True, cache=True)
def _v_down(src, dst):
    """Vertical blur + keep every second row: (C, H, w) -> (C, ceil(H/2), w)."""
    C, H, w = src.shape
    h = dst.shape[1]
    for c in range(C):
        for i in range(h):
            r0 = src[c, _reflect(2 * i - 2, H)]
            r1 = src[c, _reflect(2 * i - 1, H)]
            r2 = src[c, 2 * i]
            r3 = src[c, _reflect(2 * i + 1, H)]
            r4 = src[c, _reflect(2 * i + 2, H)]
            out = dst[c, i]
            for j in range(w):
                o = (r0[j] + r4[j]) * _D0
                o = o + (r1[j] + r3[j]) * _D1
                out[j] = o + r2[j] * _D2


@njit(nogil=True, cache=True)
def _h_up(src, dst, zrow, buf):
    """Zero-insert columns (w -> W) and blur with gain 2: (C, h, w) -> (C, h, W)."""
    C, h, w = src.shape
    W = dst.shape[2]
    zrow[:] = 0.0
    for c in range(C):
        for r in range(h):
            row = src[c, r]
            for m in range(w):
                zrow[2 * m] = row[m]
            _pad_row(zrow, buf)
            out = dst[c, r]
            for j in range(W):
                o = (buf[j] + buf[j + 4]) * _U0
                o = o + (buf[j + 1] + buf[j + 3]) * _U1
                out[j] = o + buf[j + 2] * _U2


@njit(nogil=True, cache=True)
def _up_row(src, c, k, H, zero):
    k = _reflect(k, H)
    if k % 2 == 1:
        return zero
    return src[c, k // 2]


@njit(nogil=True, cache=True)
def _v_up_sub(src, g, dst, zero):
    """Zero-insert rows (h -> H), blur with gain 2 and subtract from g: dst = g - up(src)."""
    C, H, W = g.shape
    for c in range(C):
        for i in range(H):
            r0 = _up_row(src, c, i - 2, H, zero)
            r1 = _up_row(src, c, i - 1, H, zero)
            r2 = _up_row(src, c, i, H, zero)
            r3 = _up_row(src, c, i + 1, H, zero)
            r4 = _up_row(src, c, i + 2, H, zero)
            gr = g[c, i]
            out = dst[c, i]
            for j in range(W):
                o = (r0[j] + r4[j]) * _U0
                o = o + (r1[j] + r3[j]) * _U1
                out[j] = gr[j] - (o + r2[j] * _U2)


@njit(nogil=True, cache=True)
def _gather(level, ys, xs, slot, patch, out, r0, mom):
    """Neighbourhoods (channel, row, column order) at centres (ys, xs): the centre p whose slot
    is new (``slot[p]`` = number of distinct centres before it) goes to row ``r0 + slot[p]`` of
    ``out`` (rows, C*patch²), a repeated centre is not written again; mom (C, 2) receives the
    float64 sum and sum of squares per channel over all P centres, repeats included."""
    C = level.shape[0]
    half = patch // 2
    for c in range(C):
        mom[c, 0] = 0.0
        mom[c, 1] = 0.0
    nxt = 0
    row = out[r0]
    for p in range(ys.shape[0]):
        y0 = ys[p] - half
        x0 = xs[p] - half
        new = slot[p] == nxt
        if new:
            row = out[r0 + nxt]
            nxt += 1
        k = 0
        for c in range(C):
            s = 0.0
            q = 0.0
            for dy in range(patch):
                src = level[c, y0 + dy]
                for dx in range(patch):
                    v = src[x0 + dx]
                    if new:
                        row[k] = v
                    k += 1
                    f = np.float64(v)
                    s += f
                    q += f * f
            mom[c, 0] += s
            mom[c, 1] += q


@njit(nogil=True, cache=True)
def centre_slots(ys, xs, height, width, slot, counts):
    """Per image i (rows of ys/xs (n, P), centres on a ``height`` x ``width`` level):
    ``slot[i, p]`` = index of centre p among the image's distinct centres, numbered in order
    of first appearance, and ``counts[i]`` = the number of distinct centres."""
    mark = np.full(height * width, -1, np.int64)
    for i in range(ys.shape[0]):
        k = 0
        for p in range(ys.shape[1]):
            key = ys[i, p] * width + xs[i, p]
            if mark[key] < 0:
                mark[key] = k
                k += 1
            slot[i, p] = mark[key]
        for p in range(ys.shape[1]):
            mark[ys[i, p] * width + xs[i, p]] = -1
        counts[i] = k


@njit(nogil=True, cache=True)
def laplacian_descriptors(images, i0, i1, sizes, ys, xs, slots, row0, patch, out, moments):
    """For images i0..i1-1 of ``images`` (n, C, H, W) uint8: Laplacian pyramid with the levels
    ``sizes`` (L, 2), descriptors at centres ``ys``/``xs`` (L, n, P) into the rows of ``out``
    (rows, D) float32 -- image i's distinct centres of level lv (``slots`` (L, n, P), see
    :func:`centre_slots`) from row ``row0[lv, i]`` on -- and per-channel sums over all P
    centres into ``moments`` (L, n, C, 2) float64."""
    L = sizes.shape[0]
    C = images.shape[1]
    W0 = sizes[0, 1]
    buf = np.empty(W0 + 4, _F32)
    zrow = np.empty(W0, _F32)
    zero = np.zeros(W0, _F32)
    for i in range(i0, i1):
        g = images[i].astype(_F32)
        for lv in range(L):
            H = sizes[lv, 0]
            W = sizes[lv, 1]
            if lv + 1 < L:
                h = sizes[lv + 1, 0]
                w = sizes[lv + 1, 1]
                t = np.empty((C, H, w), _F32)
                _h_down(g, t, buf)
                nxt = np.empty((C, h, w), _F32)
                _v_down(t, nxt)
                t2 = np.empty((C, h, W), _F32)
                _h_up(nxt, t2, zrow[:W], buf)
                lap = np.empty((C, H, W), _F32)
                _v_up_sub(t2, g, lap, zero[:W])
            else:
                lap = g
                nxt = g
            _gather(lap, ys[lv, i], xs[lv, i], slots[lv, i], patch, out, row0[lv, i], moments[lv, i])
            g = nxt


@njit(nogil=True, cache=True)
def normalize_rows(src, mean, std, out, r0, r1):
    """out[r] = (src[r] - mean) / std (float32, per column) for rows r0..r1-1 of (rows, D)."""
    for r in range(r0, r1):
        s = src[r]
        o = out[r]
        for j in range(s.shape[0]):
            o[j] = (s[j] - mean[j]) / std[j]


# --------------------------------------------------------------------------------------------
# Σ |sorted a - sorted b| without sorting
# --------------------------------------------------------------------------------------------


@njit(nogil=True, cache=True, inline="always")
def _weight(w, i):
    """Multiplicity of value i: 1 without weights (``w`` None: this branch is compiled away)."""
    if w is None:
        return 1
    return w[i]


@njit(nogil=True, cache=True)
def _sorted_l1(a, b, wa, wb, sh):
    """Σ |a_(i) - (b_(i) + sh)| by sorting; with multiplicities, the two sorted lists are walked
    together, each value standing for ``w`` equal values."""
    if wa is None:
        sa = np.sort(a)
        sb = np.sort(b)
        t = 0.0
        for i in range(sa.shape[0]):
            t += abs(np.float64(sa[i]) - (np.float64(sb[i]) + sh))
        return t
    oa = np.argsort(a)
    ob = np.argsort(b)
    i = j = 0
    ra = wa[oa[0]]
    rb = wb[ob[0]]
    t = 0.0
    while True:
        take = min(ra, rb)
        t += take * abs(np.float64(a[oa[i]]) - (np.float64(b[ob[j]]) + sh))
        ra -= take
        rb -= take
        if ra == 0:
            i += 1
            if i == a.shape[0]:
                break
            ra = wa[oa[i]]
        if rb == 0:
            j += 1
            if j == b.shape[0]:
                break
            rb = wb[ob[j]]
    return t


@njit(nogil=True, cache=True)
def _insertion_sort(vals, tags, s, e):
    for i in range(s + 1, e):
        v = vals[i]
        t = tags[i]
        j = i - 1
        while j >= s and vals[j] > v:
            vals[j + 1] = vals[j]
            tags[j + 1] = tags[j]
            j -= 1
        vals[j + 1] = v
        tags[j + 1] = t


@njit(nogil=True, cache=True)
def _bucket_counts(a, w, s, k0, cnt):
    """cnt[k] += multiplicity for the bucket k = int(u) of every value of a, at u = a * s - k0
    (float64, in bucket widths from the first bucket's left edge; truncation is the floor as
    u >= 0, up to a rounding error of B's shifted offset, which int() also sends to bucket 0)."""
    for i in range(a.shape[0]):
        cnt[int(np.float64(a[i]) * s - k0)] += _weight(w, i)


@njit(nogil=True, cache=True)
def _signed_pass(a, w, s, k0, sign, cur, vals, tags, tag):
    """Σ sign[k] * m * (k + 1 - u) over the values of a with multiplicity m, at u = a * s - k0
    in bucket k = int(u) (the distance to the bucket's right edge, in bucket widths), with
    four float64 accumulators; the u of values in ambiguous buckets (sign 0) are appended to
    their bucket's segment of vals, with tag * m in tags."""
    n = a.shape[0]
    t0 = t1 = t2 = t3 = 0.0
    m = n - n % 4
    for i in range(0, m, 4):
        for j in range(4):
            u = np.float64(a[i + j]) * s - k0
            k = int(u)
            sg = sign[k]
            mult = _weight(w, i + j)
            if sg == 0.0:
                vals[cur[k]] = u
                tags[cur[k]] = tag * mult
                cur[k] += 1
            part = sg * mult * ((k + 1) - u)
            if j == 0:
                t0 += part
            elif j == 1:
                t1 += part
            elif j == 2:
                t2 += part
            else:
                t3 += part
    for i in range(m, n):
        u = np.float64(a[i]) * s - k0
        k = int(u)
        sg = sign[k]
        mult = _weight(w, i)
        if sg == 0.0:
            vals[cur[k]] = u
            tags[cur[k]] = tag * mult
            cur[k] += 1
        t0 += sg * mult * ((k + 1) - u)
    return (t0 + t1) + (t2 + t3)


@njit(nogil=True, cache=True)
def _range(a, lo, hi):
    """Smallest and largest value of a (and of lo/hi), and the number of NaNs in a."""
    nan = 0
    for i in range(a.shape[0]):
        v = a[i]
        lo = min(lo, v)
        hi = max(hi, v)
        nan += v != v
    return lo, hi, nan


@njit(nogil=True, cache=True)
def _row_l1(a, b, wa, wb, sh, per_bucket, min_hist_n, force, cnt, sign, amb_d, cur, vals, tags):
    """Σ_i |a_(i) - (b_(i) + sh)| of one row pair (see the module docstring), value j of a
    standing for ``wa[j]`` equal values (likewise b; None: 1 each). ``force`` skips the
    fall-back to sorting for short rows (tests)."""
    n = max(a.shape[0], b.shape[0])
    lo_a, hi_a, nan_a = _range(a, a[0], a[0])
    lo_b, hi_b, nan_b = _range(b, b[0], b[0])
    if nan_a + nan_b > 0:
        return np.nan
    lo = min(np.float64(lo_a), np.float64(lo_b) + sh)
    hi = max(np.float64(hi_a), np.float64(hi_b) + sh)
    span = hi - lo
    if not (span > 0.0 and math.isfinite(span)) or (n < min_hist_n and not force):
        return _sorted_l1(a, b, wa, wb, sh)
    ex = math.frexp(span * per_bucket / n)[1]  # w = 2**ex > span * per_bucket / n
    w = math.ldexp(1.0, ex)
    s = math.ldexp(1.0, -ex)
    # positions in bucket widths: u = a * s - ka for A (exact: a float32 times a power of two,
    # minus an integer), u = b * s - kb for B, whose shift is in kb (one rounding; none
    # without a shift); ka is the bucket of the minimum
    ka = np.float64(math.floor(lo * s))
    kb = ka - sh * s
    # one spare bucket: B's rounding may put its largest value on the last bucket's right edge
    nb = int(max(np.float64(hi_a) * s - ka, np.float64(hi_b) * s - kb)) + 2
    ca = cnt[0, :nb]
    cb = cnt[1, :nb]
    ca[:] = 0
    cb[:] = 0
    _bucket_counts(a, wa, s, ka, ca)
    _bucket_counts(b, wb, s, kb, cb)
    # G = n (F_a - F_b) at each bucket's left edge (D, exact); in a bucket G goes up by its a
    # values and down by its b values, so it keeps the sign of D - cb >= 0 or of D + ca <= 0;
    # there |∫ G| = sign * (D + Σ_a (k + 1 - u) - Σ_b (k + 1 - u)) bucket widths
    base = 0.0
    D = 0
    pos = 0
    for k in range(nb):
        na = ca[k]
        nb_ = cb[k]
        if D - nb_ >= 0:
            sign[k] = 1.0
            base += D
        elif D + na <= 0:
            sign[k] = -1.0
            base -= D
        else:  # G may change sign inside: its values are sorted and integrated piecewise
            sign[k] = 0.0
            amb_d[k] = D
            cur[k] = pos
            pos += na + nb_  # room for that many values (fewer when multiplicities > 1)
        D += na - nb_
    total = (
        base
        + _signed_pass(a, wa, s, ka, sign, cur, vals, tags, 1)
        - _signed_pass(b, wb, s, kb, sign, cur, vals, tags, -1)
    )
    pos = 0
    for k in range(nb):
        if sign[k] != 0.0:
            continue
        start = pos  # the segment reserved above; cur[k] is now the end of its values
        pos += ca[k] + cb[k]
        end = cur[k]
        if end - start <= _SMALL_SEGMENT:
            _insertion_sort(vals, tags, start, end)
        else:
            order = np.argsort(vals[start:end])
            vals[start:end] = vals[start:end][order]
            tags[start:end] = tags[start:end][order]
        g = amb_d[k]
        prev = np.float64(k)
        part = 0.0
        for i in range(start, end):
            u = vals[i]
            part += abs(g) * (u - prev)
            g += tags[i]
            prev = u
        part += abs(g) * ((k + 1) - prev)
        total += part
    return total * w


def _scratch_layout(n: int, per_bucket: int, total: int) -> list[tuple[tuple[int, ...], type]]:
    """(shape, dtype) of the scratch arrays of :func:`rows_l1`: counts, signs, G at the edges
    of ambiguous buckets, their fill cursors, their values and signed multiplicities."""
    nb = n // (per_bucket or PER_BUCKET) + 4  # w > span * per_bucket / n: at most n / per_bucket + 3
    return [
        ((2, nb), np.int32),
        ((nb,), np.float64),
        ((nb,), np.float64),
        ((nb,), np.int64),
        ((2 * total,), np.float64),
        ((2 * total,), np.int32),
    ]


def rows_l1_scratch(n: int, per_bucket: int = 0, total: int | None = None) -> tuple[np.ndarray, ...]:
    """Scratch arrays of :func:`rows_l1` for rows of at most n values standing for ``total``
    values each (their multiplicities' sum; default n) -- one set per concurrent call."""
    return tuple(np.empty(shape, dtype) for shape, dtype in _scratch_layout(n, per_bucket, total or n))


def rows_l1_scratch_bytes(n: int, per_bucket: int = 0, total: int | None = None) -> int:
    """Memory of :func:`rows_l1_scratch`."""
    return sum(
        math.prod(shape) * np.dtype(dtype).itemsize
        for shape, dtype in _scratch_layout(n, per_bucket, total or n)
    )


@njit(nogil=True, cache=True)
def rows_l1(
    pa,
    pb,
    na,
    nb,
    wa,
    wb,
    shift,
    r0,
    r1,
    out,
    per_bucket,
    min_hist_n,
    force,
    cnt,
    sign,
    amb_d,
    cur,
    vals,
    tags,
):
    """``out[r] = Σ_i |sort(pa[r, :na])_i - sort(pb[r, :nb] + shift[r])_i|`` (float64) for rows
    r0..r1-1 of two float32 arrays (the columns from na and nb on are ignored: padding; the
    shifted values are float64; ``shift`` None: no shift), computed without sorting (see the
    module docstring); column j of pa stands for ``wa[j] >= 1`` equal values (int32;
    likewise pb; both None: one each, na = nb), the two multiplicity sums being equal. NaN for
    a row pair holding a NaN, sorted when it holds an infinity. ``cnt``..``tags``: the arrays of
    :func:`rows_l1_scratch` (``n`` = max(na, nb), ``per_bucket``, ``total``)."""
    for r in range(r0, r1):
        sh = 0.0 if shift is None else shift[r]
        out[r] = _row_l1(
            pa[r, :na],
            pb[r, :nb],
            wa,
            wb,
            sh,
            per_bucket,
            min_hist_n,
            force,
            cnt,
            sign,
            amb_d,
            cur,
            vals,
            tags,
        )
