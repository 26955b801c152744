"""Which patches make an SWD value: per pyramid level, the random directions that contribute most
and, along each, example patches of the projection ranges where one set has mass and the other
has (almost) none. It explains the metric of Karras et al. 2018 (Progressive GAN; NVIDIA
progressive_growing_of_gans ``metrics/sliced_wasserstein.py``) as :func:`core.metrics.swd.swd`
computes it, on the very same numbers.

The method, exact with respect to the reported value:

1. **Contributions.** A level's value is the mean over its K directions (4 x 128) of
   c_k = 1e3 * mean_i |a_(i) - b_(i)|, the sorted projections of both sets' M normalised
   descriptors compared rank by rank. The engine itself hands out the per-direction sums it
   adds up (``per_direction`` of ``level_distance``), so mean_k c_k *is* the reported level
   value (to float64 rounding); nothing is re-drawn. The ``n_directions`` largest c_k are
   explained (their share of the level value is reported).
2. **The projections of those directions.** While the engine goes through the directions
   chunk by chunk, the normalised projections of the best directions so far are copied
   (:class:`TopProjections`): the same seed, centres, subset and per-set channel
   normalisation as the value, nothing computed twice. A descriptor drawn twice (merged
   repeats) counts twice. Their c_k is recomputed from the copies and kept as ``recomputed``
   (equal to the engine's to float rounding: the proof that these are the projections that
   made the value).
3. **Where the two distributions differ.** Along a direction, rank i pairs A's i-th smallest
   projection with B's; the pair costs |b_(i) - a_(i)| and these costs add up to c_k. At a
   rank of the upper half where b_(i) > a_(i) (or of the lower half where b_(i) < a_(i)), B
   reaches further into its tail than A: B has patches there that A has nowhere near (past
   A's largest projection, A has none at all). Among those ranks, the ones that cost most are
   B's exemplars ("B has, A lacks"), taken from the tail (upper or lower) where such ranks
   cost more, at most one per image while other images qualify (among the 64 x n costliest);
   the same with the roles swapped gives A's ("A has, B lacks"). Reported with them: the share of c_k carried by all
   such ranks, and the share of B's patches beyond A's most extreme patch in that tail
   (where A has none at all; often 0 %: then the tails overlap and B's only reach further at
   equal ranks).
4. **Image space.** An exemplar is the stored, un-normalised descriptor (the 7 x 7 x 3
   Laplacian patch; on the last level the blurred image itself) with the image it came from
   (its index in the set as given to ``swd``) and its centre on the level, from which the
   patch's box in the full-size image follows (:mod:`.tiles` draws both).

Cost: copies of ``n_directions`` projections, two sorts of M values per set and direction, and
a pass picking the exemplars' rows: a few percent of an SWD run (``bench/swd_explain.py``).
Memory: a few arrays of M values per set (projections, ranks), nothing of the size of the
descriptors.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from types import ModuleType

import numpy as np
import torch

from core.metrics.swd.sampling import PatchCentres
from core.metrics.swd.settings import SWDSettings

__all__ = [
    "DirectionExplanation",
    "Exemplar",
    "ExplainSettings",
    "LevelExplanation",
    "Region",
    "SWDExplanation",
    "TopProjections",
    "explain_level",
]


@dataclass(frozen=True)
class ExplainSettings:
    """What to explain: per level the ``n_directions`` directions that contribute most, and per
    direction and side ``n_exemplars`` patches."""

    n_directions: int = 3
    n_exemplars: int = 6

    def validate(self) -> None:
        if self.n_directions < 1 or self.n_exemplars < 1:
            raise ValueError("explain: n_directions and n_exemplars must be at least 1")


@dataclass
class Exemplar:
    """One drawn patch: image ``image`` of its set (index in the set as given to ``swd``), centre
    (``y``, ``x``) in level pixels, its normalised projection, and its un-normalised values
    (C x p x p float32, the descriptor as stored)."""

    image: int
    y: int
    x: int
    projection: float
    patch: np.ndarray = field(repr=False)


@dataclass
class Region:
    """Set ``side``'s patches that reach further out along one direction than the other set's,
    in the ``tail`` (+1: large projections, -1: small ones) where that costs more: the
    exemplars' projection range [low, high]; ``beyond``: the share of this set's patches
    beyond the other set's most extreme one in that tail (where the other has none at all);
    ``carried``: the share of the direction's contribution made at the ranks (both tails)
    where this set reaches further."""

    side: str
    tail: int
    low: float
    high: float
    beyond: float
    carried: float
    exemplars: list[Exemplar]


@dataclass
class DirectionExplanation:
    """One direction of a level: its column among the level's K directions, its contribution
    (x 1e3; the level value is the mean over all K), its share of the level's sum, the same
    contribution recomputed from the projections below, and the two regions."""

    index: int
    contribution: float
    share: float
    recomputed: float
    b_excess: Region
    a_excess: Region


@dataclass
class LevelExplanation:
    """One pyramid level: its size, ``scale`` (full-image pixels per level pixel, (y, x)), the
    K per-direction contributions (x 1e3, mean = the level's value), the explained directions,
    and whether it is the last level (the blurred image, not a Laplacian band)."""

    resolution: int
    shape: tuple[int, int]
    scale: tuple[float, float]
    patch_size: int
    contributions: np.ndarray = field(repr=False)
    directions: list[DirectionExplanation] = field(default_factory=list)
    residual: bool = False

    @property
    def value(self) -> float:
        """The level's SWD x 1e3 from the contributions (their mean)."""
        return float(self.contributions.mean())


@dataclass
class SWDExplanation:
    levels: list[LevelExplanation]
    settings: ExplainSettings

    def to_dict(self) -> dict:
        """JSON-ready: per level the contributions' summary and the exemplars (image, centre,
        projection; not the patch values)."""

        def region(r: Region) -> dict:
            return {
                "side": r.side,
                "tail": r.tail,
                "low": float(r.low),
                "high": float(r.high),
                "beyond": float(r.beyond),
                "carried": float(r.carried),
                "exemplars": [
                    {"image": e.image, "y": e.y, "x": e.x, "projection": float(e.projection)}
                    for e in r.exemplars
                ],
            }

        return {
            "settings": asdict(self.settings),
            "levels": [
                {
                    "resolution": lv.resolution,
                    "shape": list(lv.shape),
                    "scale": list(lv.scale),
                    "value_from_contributions": lv.value,
                    "n_directions": int(lv.contributions.size),
                    "residual": lv.residual,
                    "directions": [
                        {
                            "index": d.index,
                            "contribution": float(d.contribution),
                            "share": float(d.share),
                            "recomputed": float(d.recomputed),
                            "b_excess": region(d.b_excess),
                            "a_excess": region(d.a_excess),
                        }
                        for d in lv.directions
                    ],
                }
                for lv in self.levels
            ],
        }


class TopProjections:
    """The projections of the ``n`` directions that contribute most, kept while an engine goes
    through the level's directions chunk by chunk (:func:`.engine_compiled.level_distance`,
    :func:`.engine_torch.level_distance`): each chunk's per-direction sums and projections are
    offered, the best ``n`` so far (largest sum; ties by column) kept as float64 copies of the
    normalised projections, per set one row per direction over that set's stored rows. Memory:
    ``n`` x rows per set, nothing of the descriptors' size."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.index = np.zeros(0, dtype=np.int64)
        self.score = np.zeros(0, dtype=np.float64)
        self.proj: list[np.ndarray] = [np.zeros((0, 0)), np.zeros((0, 0))]

    def offer(
        self,
        c0: int,
        sums: np.ndarray,
        projs: list[torch.Tensor],
        lengths: tuple[int, int],
        offsets: list[np.ndarray] | None,
    ) -> None:
        """Directions ``c0 ..`` with their sums and projections (per set dc x >= length; minus
        ``offsets[set][j]`` when the engine folded the normalisation into the directions)."""
        dc = len(sums)
        index = np.concatenate([self.index, c0 + np.arange(dc)])
        score = np.concatenate([self.score, np.asarray(sums, dtype=np.float64)])
        keep = np.lexsort((index, -score))[: self.n]
        old = len(self.index)
        proj = []
        for si in (0, 1):
            rows = []
            for o in keep.tolist():
                if o < old:
                    rows.append(self.proj[si][o])
                    continue
                v = projs[si][o - old, : lengths[si]].to("cpu", torch.float64).numpy()
                rows.append(v - offsets[si][o - old] if offsets is not None else v.copy())
            proj.append(np.stack(rows))
        self.index, self.score, self.proj = index[keep], score[keep], proj


def _gather_rows(
    eng: ModuleType, desc: object, level: int, select: torch.Tensor | None, rows: np.ndarray
) -> dict:
    """The stored rows ``rows`` (indices into the level's rows in order) as float32 arrays."""
    want = np.unique(rows)
    found: dict[int, np.ndarray] = {}
    pieces, _, _ = eng.level_rows(desc, level, select)
    r0 = 0
    for p in pieces:
        lo, hi = np.searchsorted(want, [r0, r0 + p.shape[0]])
        for r in want[lo:hi]:
            found[int(r)] = p[int(r) - r0].to(torch.float32).numpy().copy()
        r0 += p.shape[0]
    return found


def _outer_ranks(own: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, int, np.ndarray]:
    """Where ``own`` reaches further into a tail than ``other`` (two sorted arrays of equal
    length M): all such ranks (own_(i) > other_(i) in the upper half, own_(i) < other_(i) in
    the lower half), the tail (+1 upper, -1 lower) whose such ranks cost more, and that tail's
    ranks, most transported first (largest |own_(i) - other_(i)|; ties by rank)."""
    m = own.size
    diff = own - other
    upper = np.arange(m) >= m / 2
    ranks = np.flatnonzero(np.where(upper, diff > 0, diff < 0))
    up = ranks[upper[ranks]]
    down = ranks[~upper[ranks]]
    tail = 1 if np.abs(diff[up]).sum() >= np.abs(diff[down]).sum() else -1
    chosen = up if tail == 1 else down
    return ranks, tail, chosen[np.argsort(-np.abs(diff[chosen]), kind="stable")]


def _beyond(own: np.ndarray, other: np.ndarray, tail: int) -> float:
    """The share of ``own``'s patches beyond ``other``'s most extreme one in the tail (+1: above
    its largest projection, -1: below its smallest): where ``other`` has no patches at all."""
    if tail == 1:
        return float((own > other[-1]).mean())
    return float((own < other[0]).mean())


def _spread_images(
    ranks: np.ndarray, order: np.ndarray, per_set: tuple[np.ndarray, np.ndarray, np.ndarray], n: int
) -> np.ndarray:
    """The first ``n`` of ``ranks`` (sorted ranks of one set, costliest first), skipping a rank
    whose patch comes from an image already chosen as long as other images qualify among the
    first ``64 n`` ranks."""
    _, row_of_draw, counts = per_set
    if ranks.size == 0:
        return ranks
    head = ranks[: 64 * n]
    starts = np.concatenate(([0], np.cumsum(counts)))
    images = np.searchsorted(starts, row_of_draw[order[head]], side="right") - 1
    _, first = np.unique(images, return_index=True)
    distinct = head[np.sort(first)][:n]
    if distinct.size < n:  # fewer images than exemplars: fill with the next costliest ranks
        rest = ranks[~np.isin(ranks, distinct)][: n - distinct.size]
        distinct = np.concatenate([distinct, rest])
    return distinct


def _first_seen_slot(ys: np.ndarray, xs: np.ndarray, q: int) -> int:
    """The draw index of the q-th distinct centre of one image, in order of first drawing (the
    compiled engine's row order on a merged level)."""
    key = ys.astype(np.int64) * 1_000_003 + xs.astype(np.int64)
    _, first = np.unique(key, return_index=True)
    return int(np.sort(first)[q])


def explain_level(
    eng: ModuleType,
    descs: tuple[object, object],
    selects: tuple[torch.Tensor | None, torch.Tensor | None],
    level: int,
    sizes: list[tuple[int, int]],
    image_hw: tuple[int, int],
    per_direction: np.ndarray,
    kept: TopProjections,
    base: int,
    explain: ExplainSettings,
) -> LevelExplanation:
    """Explain one level (see the module docstring) from what :func:`core.metrics.swd.swd` has
    at hand: the engine module, both sets' descriptor stores and image selections, the engine's
    per-direction sums and the projections it kept of the best directions, and the seed's
    ``base``."""
    explain.validate()
    st: SWDSettings = descs[0].settings
    p = st.patch_size
    top = np.argsort(-per_direction, kind="stable")[: explain.n_directions]
    if not np.array_equal(top, kept.index):
        raise RuntimeError("SWD explanation: the kept directions are not the largest contributions")
    per_set = []
    for si, (desc, sel) in enumerate(zip(descs, selects, strict=True)):
        _, weights, counts = eng.level_rows(desc, level, sel)
        proj = kept.proj[si].T  # rows x directions
        rows = np.arange(proj.shape[0])
        per_set.append((proj, rows if weights is None else np.repeat(rows, weights), counts))
    m = per_set[0][1].size  # drawn descriptors per set (both sets: the same)
    contributions = per_direction / m * 1e3

    h, wd = sizes[level]
    explained: list[DirectionExplanation] = []
    picked_rows: list[list[int]] = [[], []]
    regions_raw = []
    for t, k in enumerate(top):
        vals = [ps[0][ps[1], t] for ps in per_set]  # per drawn descriptor
        order = [np.argsort(v) for v in vals]
        srt = [v[o] for v, o in zip(vals, order, strict=True)]
        recomputed = float(np.abs(srt[0] - srt[1]).mean() * 1e3)
        cost = np.abs(srt[0] - srt[1])
        regs = []
        for side in (1, 0):  # B's excess, then A's
            own, other = srt[side], srt[1 - side]
            outer, tail, chosen = _outer_ranks(own, other)
            ranks = _spread_images(chosen, order[side], per_set[side], explain.n_exemplars)
            draws = order[side][ranks]
            rows = per_set[side][1][draws]
            picked_rows[side].extend(rows.tolist())
            if ranks.size == 0:  # this set reaches further nowhere (e.g. the same patches)
                regs.append((side, tail, 0.0, 0.0, 0.0, 0.0, rows, own[ranks]))
                continue
            lo_v, hi_v = float(own[ranks].min()), float(own[ranks].max())
            beyond = _beyond(own, other, tail)
            carried = float(cost[outer].sum() / cost.sum()) if cost.sum() > 0 else 0.0
            regs.append((side, tail, lo_v, hi_v, beyond, carried, rows, own[ranks]))
        regions_raw.append((t, k, recomputed, regs))

    patches = [
        _gather_rows(eng, desc, level, sel, np.asarray(rows, dtype=np.int64))
        for desc, sel, rows in zip(descs, selects, picked_rows, strict=True)
    ]
    locate = [
        _Locator(base, si, sizes, st, counts, sel)
        for si, ((_, _, counts), sel) in enumerate(zip(per_set, selects, strict=True))
    ]
    for _t, k, recomputed, regs in regions_raw:
        regions = {}
        for side, tail, lo_v, hi_v, beyond, carried, rows, projs in regs:
            exemplars = []
            for r, pv in zip(rows.tolist(), projs.tolist(), strict=True):
                image, y, x = locate[side].where(level, r)
                exemplars.append(Exemplar(image, y, x, pv, patches[side][r].reshape(3, p, p)))
            regions[side] = Region("AB"[side], tail, lo_v, hi_v, beyond, carried, exemplars)
        explained.append(
            DirectionExplanation(
                index=int(k),
                contribution=float(contributions[k]),
                share=float(per_direction[k] / per_direction.sum()) if per_direction.sum() > 0 else 0.0,
                recomputed=recomputed,
                b_excess=regions[1],
                a_excess=regions[0],
            )
        )
    return LevelExplanation(
        resolution=h,
        shape=(h, wd),
        scale=(image_hw[0] / h, image_hw[1] / wd),
        patch_size=p,
        contributions=contributions,
        directions=explained,
        residual=level == len(sizes) - 1,
    )


class _Locator:
    """Row of a level's stored descriptors -> (image index in the set as given, centre y, x),
    from the same seeded patch centres the run drew (:class:`.sampling.PatchCentres`)."""

    def __init__(
        self,
        base: int,
        set_id: int,
        sizes: list[tuple[int, int]],
        st: SWDSettings,
        counts: np.ndarray,
        select: torch.Tensor | None,
    ) -> None:
        self.centres = PatchCentres(base, set_id, sizes, st)
        self.starts = np.concatenate(([0], np.cumsum(counts)))
        self.select = None if select is None else select.numpy()
        self.per = st.descriptors_per_image

    def where(self, level: int, row: int) -> tuple[int, int, int]:
        local = int(np.searchsorted(self.starts, row, side="right") - 1)
        q = row - int(self.starts[local])
        image = local if self.select is None else int(self.select[local])
        ys, xs = (v[0].numpy() for v in self.centres.get(level, image, 1))
        n_rows = int(self.starts[local + 1] - self.starts[local])
        j = q if n_rows == self.per else _first_seen_slot(ys, xs, q)
        return image, int(ys[j]), int(xs[j])
