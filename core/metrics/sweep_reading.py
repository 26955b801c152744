"""The N-sweep in plain words (:mod:`core.metrics.sweep`): whether the two sets are distinguishable
at the user's N, and from which N on the difference clears the noise floor.

The rule, stated to the user with the numbers: at an N, the difference *clears* the noise floor
when every repeat of set A vs set B is above every repeat of the floor (A vs A's other half at the
same N) -- the two ranges over the repeats do not overlap (with 5 repeats, chance alone puts all
five of one above all five of the other with probability 1/252 when there is no difference).
The floor falls as N grows, so above half of A (where no floor can be measured) the floor at the
largest measured N is an upper estimate of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.metrics.sweep import KIND_FLOOR, KIND_MAIN, SweepResult

__all__ = ["NRow", "SweepReading", "n_needed", "read_sweep", "summarize"]


@dataclass
class NRow:
    """One N of the sweep: mean, standard deviation, min and max over the repeats, for A vs B and
    for the noise floor (None where the floor cannot be measured), and whether it clears."""

    n: int
    repeats: int
    mean: float
    std: float
    lo: float
    hi: float
    floor_mean: float | None = None
    floor_std: float | None = None
    floor_lo: float | None = None
    floor_hi: float | None = None

    @property
    def clears(self) -> bool | None:
        """Every A-vs-B repeat above every floor repeat (None: no floor at this N)."""
        return None if self.floor_hi is None else bool(self.lo > self.floor_hi)


@dataclass
class SweepReading:
    column: str
    rows: list[NRow]
    user_n: int
    n_needed: int | None  # the smallest measured N from which on every N with a floor clears
    distinguishable: bool | None  # at the user's N (None: no floor to compare with)
    sentences: list[str] = field(default_factory=list)


def _stats(v: np.ndarray) -> tuple[float, float, float, float]:
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0, float(v.min()), float(v.max())


def summarize(result: SweepResult, column: str) -> list[NRow]:
    """Per N of the sweep, the spread of ``column`` over the repeats (see :class:`NRow`)."""
    rows = []
    for n in result.ns:
        main = result.values(KIND_MAIN, n, column)
        if main.size == 0:
            continue
        row = NRow(n, int(main.size), *_stats(main))
        floor = result.values(KIND_FLOOR, n, column)
        if floor.size:
            row.floor_mean, row.floor_std, row.floor_lo, row.floor_hi = _stats(floor)
        rows.append(row)
    return rows


def n_needed(rows: list[NRow]) -> int | None:
    """The smallest N from which on every N with a floor clears it (None: the largest N with a
    floor does not clear, or there is no floor)."""
    with_floor = [r for r in rows if r.clears is not None]
    need = None
    for r in reversed(with_floor):
        if not r.clears:
            break
        need = r.n
    return need


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def read_sweep(result: SweepResult, column: str | None = None) -> SweepReading:
    """The plain-language reading of ``column`` (default: the metric, SWD's average)."""
    column = column or result.columns[0]
    name = column.upper() if not column.startswith("swd ") else f"SWD at {column[4:]}"
    rows = summarize(result, column)
    user_n = result.user_n
    need = n_needed(rows)
    reps = result.settings.repeats
    sentences: list[str] = []
    at = next((r for r in rows if r.n == user_n), None)
    floor_rows = [r for r in rows if r.clears is not None]
    distinguishable = None
    if at is None or not floor_rows:
        sentences.append(
            f"No noise floor could be measured (set A has {result.n_a} images; the floor needs two "
            "halves of at least N each), so the sweep cannot say whether the difference is real."
        )
    else:
        ref = at if at.clears is not None else max(floor_rows, key=lambda r: r.n)
        distinguishable = bool(ref.clears)
        verdict = (
            "distinguishable: every repeat of A vs B is above every repeat of the floor"
            if distinguishable
            else "not distinguishable from chance: the repeats of A vs B overlap the floor's"
        )
        lead = (
            f"At your N = {user_n}"
            if ref is at
            else (
                f"At your N = {user_n} no floor can be measured (it needs two halves of A of {user_n} images "
                f"each); at N = {ref.n}, the largest N with a floor"
            )
        )
        sentences.append(
            f"{lead}: {name} of set A vs set B is {_fmt(ref.mean)} ± {_fmt(ref.std)} "
            f"(range {_fmt(ref.lo)}–{_fmt(ref.hi)} over {ref.repeats} repeats); the noise floor is "
            f"{_fmt(ref.floor_mean)} ± {_fmt(ref.floor_std)} (range {_fmt(ref.floor_lo)}–"
            f"{_fmt(ref.floor_hi)}). The sets are {verdict}"
            + (
                f" at N = {ref.n}; with more images the floor and the spread shrink, so they are expected "
                f"to stay distinguishable at N = {user_n} (not measured there)."
                if ref is not at and distinguishable
                else "."
            )
        )
        top = max(r.n for r in floor_rows)
        if need is not None:
            first = "at every N measured" if need == floor_rows[0].n else f"from N = {need} images per set on"
            sentences.append(
                f"The difference clears the noise floor {first} (measured up to N = {top}, half of set A): "
                f"at equal N, {need} images per set are enough to tell these sets apart with {name}."
            )
        else:
            sentences.append(
                f"The difference does not clear the noise floor at any N up to N = {top} (half of set A, "
                f"the largest N with a floor): within these sets' sizes {name} cannot tell them apart"
                + ("; more images might" if ref.mean > ref.floor_mean else "")
                + "."
            )
    sentences.append(
        f"Error bars: the range (min to max) over {reps} repeat{'s' if reps != 1 else ''}, each a "
        f"different seeded subset (seeds {result.settings.seed}..{result.settings.seed + reps - 1}); "
        "values at different N are not comparable with each other, only with the floor at the same N."
    )
    return SweepReading(column, rows, user_n, need, distinguishable, sentences)
