"""The figures the study compared, read back from image-to-image lab runs' ``metrics.csv``
(:mod:`core.models.training.i2i`): final train and validation PSNR, the best validation PSNR and
when it came, and the measured seconds per step over the whole run and over the first stage of a
train-each run (the study's "faster per epoch early on").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from core.gan import runs


@dataclass(frozen=True)
class RunFigures:
    """One run's figures from its metrics.csv: the last row's step and PSNRs (dB), the best
    validation PSNR and its step, and the mean seconds per step over the whole run and over the
    steps of its first stage (``None`` when the run has a single stage)."""

    name: str
    step: int
    train_psnr: float
    val_psnr: float
    best_val_psnr: float
    best_val_step: int
    seconds_per_step: float | None
    first_stage_seconds_per_step: float | None


def _mean_pace(log: runs.MetricsLog, rows: list[int]) -> float | None:
    """Seconds per step over the intervals ending at ``rows`` (weighted by their lengths)."""
    pace, steps = log.get("seconds_per_step"), log.steps
    total_s = total_n = 0.0
    for i in rows:
        if i == 0 or pace[i] is None:
            continue
        n = steps[i] - steps[i - 1]
        total_s += float(pace[i]) * n  # type: ignore[arg-type]
        total_n += n
    return total_s / total_n if total_n else None


def run_figures(run_dir: Path) -> RunFigures:
    """The figures of one run folder with a metrics.csv (``RunError`` otherwise)."""
    run_dir = Path(run_dir)
    path = run_dir / runs.METRICS
    if not path.is_file():
        raise runs.RunError(f"{run_dir.name}: no {runs.METRICS}")
    log = runs.read_metrics(path)
    if not log.steps:
        raise runs.RunError(f"{run_dir.name}: {runs.METRICS} has no rows")
    val = [float(v) for v in log.get("val_psnr")]  # type: ignore[arg-type]
    best = max(range(len(val)), key=val.__getitem__)
    stage = log.get("stage")
    first = [i for i in range(len(log.steps)) if stage[i] == 1.0]
    return RunFigures(
        run_dir.name,
        log.steps[-1],
        float(log.get("train_psnr")[-1]),  # type: ignore[arg-type]
        val[-1],
        val[best],
        log.steps[best],
        _mean_pace(log, list(range(len(log.steps)))),
        _mean_pace(log, first) if first and len(set(stage)) > 1 else None,
    )


def comparison_lines(run_dirs: Iterable[Path]) -> list[str]:
    """One line per run: final train / validation PSNR, best validation PSNR, seconds per step."""
    lines = []
    for run_dir in run_dirs:
        f = run_figures(run_dir)
        first = (
            f", {f.first_stage_seconds_per_step:.3g} s/step in stage 1"
            if f.first_stage_seconds_per_step is not None
            else ""
        )
        lines.append(
            f"{f.name}: step {f.step}: train PSNR {f.train_psnr:.2f} dB, validation PSNR {f.val_psnr:.2f} dB "
            f"(best {f.best_val_psnr:.2f} at step {f.best_val_step}); {f.seconds_per_step or float('nan'):.3g} "
            f"s/step{first}"
        )
    return lines


def ranking_line(figures: Iterable[RunFigures], labels: Iterable[str] | None = None) -> str | None:
    """One plain sentence: which run has the highest validation PSNR at its last step, and by how
    many dB each other run trails it (``None`` for fewer than two runs). ``labels``: names to use
    instead of the runs' folder names."""
    items = list(figures)
    names = list(labels) if labels is not None else [f.name for f in items]
    if len(items) < 2:
        return None
    order = sorted(range(len(items)), key=lambda i: items[i].val_psnr, reverse=True)
    best = items[order[0]]
    behind = ", ".join(f"{names[i]} by {best.val_psnr - items[i].val_psnr:.2f} dB" for i in order[1:])
    return (
        f"Highest validation PSNR at the last step: {names[order[0]]} ({best.val_psnr:.2f} dB); "
        f"behind it: {behind}."
    )
