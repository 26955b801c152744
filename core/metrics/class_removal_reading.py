"""The class-removal experiment (:mod:`core.metrics.class_removal`) in numbers and plain words: per
case, the mean and spread over the seeds; per metric, whether it grows with the number of removed
classes (Spearman's rank correlation, Spearman 1904) and whether each case clears the noise floor
(none removed) by the N-sweep's rule: every seed's value above every floor seed's value."""

from __future__ import annotations

import numpy as np

__all__ = ["case_summary", "experiment_reading"]

#: The series names, as in the experiment's CSV.
SERIES_REMOVAL = "class removal"
SERIES_IMBALANCE = "imbalance"


def case_summary(rows: list[dict], columns: list[str]) -> list[dict]:
    """Per (series, case), in order: N, the number of seeds, and the mean and standard deviation
    over the seeds of every metric column (``"<column> mean"``, ``"<column> std"``)."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["series"], r["case"]), []).append(r)
    out = []
    for (series, case), rs in groups.items():
        row = {"series": series, "case": case, "removed": rs[0]["removed"], "N": rs[0]["N"], "seeds": len(rs)}
        for c in columns:
            v = np.array([r[c] for r in rs if r.get(c) is not None], dtype=np.float64)
            row[f"{c} mean"] = float(v.mean()) if v.size else None
            row[f"{c} std"] = float(v.std(ddof=1)) if v.size > 1 else None
        out.append(row)
    return out


def _clears(
    rows: list[dict], series: str, case: str, floor_case: str, column: str
) -> tuple[bool, float, float]:
    """Whether every seed's value of ``case`` is above every seed's value of the floor case
    (the same rule as the N-sweep), with the smallest case value and the largest floor value."""
    case_v = [r[column] for r in rows if r["series"] == series and r["case"] == case]
    floor_v = [r[column] for r in rows if r["series"] == series and r["case"] == floor_case]
    return min(case_v) > max(floor_v), min(case_v), max(floor_v)


def experiment_reading(rows: list[dict], columns: list[str]) -> list[str]:
    """The experiment in plain words, per metric column: does it grow with the number of removed
    classes (Spearman rank correlation of the per-case means with k, and whether the largest
    removal clears the floor), and does each imbalance case clear the floor (k = 0 at its N)?"""
    summary = case_summary(rows, columns)
    out = []
    removal = [s for s in summary if s["series"] == SERIES_REMOVAL]
    imbalance = [s for s in summary if s["series"] == SERIES_IMBALANCE]
    seeds = max((s["seeds"] for s in summary), default=0)
    for c in columns:
        parts = []
        if len(removal) > 1:
            ks = np.array([s["removed"] for s in removal], dtype=np.float64)
            means = np.array([s[f"{c} mean"] for s in removal], dtype=np.float64)
            rho = _spearman(ks, means)
            clear = [_clears(rows, SERIES_REMOVAL, s["case"], "0 removed", c)[0] for s in removal[1:]]
            first = None  # the fewest removed classes from which on every case clears in every seed
            for k in range(len(clear), 0, -1):
                if not clear[k - 1]:
                    break
                first = k
            trend = "grows" if rho >= 0.8 else ("tends to grow" if rho > 0.3 else "does not grow")
            parts.append(
                f"{trend} with the number of removed classes (rank correlation {rho:+.2f}; "
                f"{_fmt(means[0])} with none removed, {_fmt(means[-1])} with {int(ks[-1])} removed, N = "
                f"{removal[0]['N']})"
                + (
                    f"; from {first} removed class{'es' if first > 1 else ''} on, every seed is above every floor seed"
                    if first
                    else "; no removal clears the floor in every seed"
                )
            )
        for s in imbalance:
            if s["case"] == "0 removed":
                continue
            ok, lo, hi = _clears(rows, SERIES_IMBALANCE, s["case"], "0 removed", c)
            floor = next(x for x in imbalance if x["case"] == "0 removed")
            parts.append(
                f"{s['case']}: {_fmt(s[f'{c} mean'])} vs floor {_fmt(floor[f'{c} mean'])} (N = {s['N']}) -- "
                + (
                    "clears the floor in every seed"
                    if ok
                    else f"does not clear it (lowest {_fmt(lo)} ≤ highest floor {_fmt(hi)})"
                )
            )
        out.append(
            f"{c.upper() if ' ' not in c else 'SWD at ' + c[4:]} ({seeds} seeds): " + "; ".join(parts) + "."
        )
    return out


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rank correlation (ranks by argsort; ties are not expected in measured values)."""
    rx = np.argsort(np.argsort(x)).astype(np.float64)
    ry = np.argsort(np.argsort(y)).astype(np.float64)
    return float(np.corrcoef(rx, ry)[0, 1])
