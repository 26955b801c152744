"""The run-directory format of the GAN lab, its reading/validation, and scrubbing helpers.

A run directory holds::

    config.json          the TrainConfig (plus "format"/"version" keys)
    noise.pt             {"fixed_noise": grid x nz tensor}: the latent batch every frame shows
    frames/step_000000.png ...   image grid of G(fixed_noise) every ``snapshot_every`` steps
    progress.gif         the frames as a looping animation (frame i = i-th snapshot)
    losses.csv           step, loss_d (empty when the trainer has no discriminator, e.g. the
                         colorizer), loss_g, em_estimate (critic's Earth-Mover estimate
                         E[D(real)] - E[D(fake)] for WGAN/WGAN-GP; empty for DCGAN), then
                         any further named loss terms of a trainer (e.g. CycleGAN's
                         cycle_a, idt_a, ...), read into ``LossLog.extra``
    quality.csv          step, swd_avg, swd_<res>px ... (SWD x 1e3 per pyramid level)
    metrics.csv          step, then a trainer's named measurements at each snapshot (the
                         image-to-image lab: stage, train_psnr, val_psnr, seconds_per_step),
                         read into :class:`MetricsLog`
    status.json          state (running/done/stopped/failed), step, steps, message, and the
                         writer's pid, host and the time it was written (``updated``, a
                         heartbeat: rewritten at every checkpoint)
    checkpoint.pt        latest G, D, optimisers, RNG state and step, for --resume

``config.json``, ``losses.csv`` and at least one frame are required to view a run; the others
are optional for viewing (shipped demo runs omit ``checkpoint.pt``; a run still training, or of
one frame, has no ``progress.gif`` and needs none: the viewer reads the frames). CSV values are
written with Python's ``repr`` precision so they read back exactly.

A "running" status is believed only while its writer can be alive (:func:`run_state`): on the
same host its pid must exist; from another host its heartbeat must be recent
(:data:`HEARTBEAT_STALE_S`). Otherwise the run reads as ``interrupted`` (killed, crashed, power
lost) and can be resumed from its checkpoint.

Loss rows with a NaN or infinite value are left out of :class:`LossLog`'s curves and listed in
``non_finite_steps``; :func:`load_run` adds a note saying how many and at which steps.

Scrubbing: :func:`frame_at_or_before` picks, for a requested step, the latest snapshot at or
before it, so two runs with different snapshot intervals stay in sync on one step slider.
"""

from __future__ import annotations

import bisect
import csv
import json
import math
import os
import re
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.gan.frames import GridLayout, read_png, split_animation
from core.runtime.atomic import atomic_path

FORMAT = "ganlens-gan-run"
VERSION = 1
CONFIG = "config.json"
NOISE = "noise.pt"
FRAMES = "frames"
GIF = "progress.gif"
LOSSES = "losses.csv"
QUALITY = "quality.csv"
METRICS = "metrics.csv"
STATUS = "status.json"
CHECKPOINT = "checkpoint.pt"
LOSS_COLUMNS = ("step", "loss_d", "loss_g", "em_estimate")
REQUIRED = (CONFIG, LOSSES, f"{FRAMES}/step_*.png")
_FRAME_RE = re.compile(r"^step_(\d{6,})\.png$")
#: A "running" status written on another host is taken as interrupted when older than this.
HEARTBEAT_STALE_S = 3600.0


class RunError(ValueError):
    """A run directory that cannot be shown or resumed (names the missing or broken files)."""


# --------------------------------------------------------------------------------------------
# Scrubbing helpers (pure)
# --------------------------------------------------------------------------------------------


def frame_at_or_before(steps: Sequence[int], step: int) -> int | None:
    """Index of the latest snapshot in sorted ``steps`` that is <= ``step``; None if all are later."""
    i = bisect.bisect_right(steps, step)
    return i - 1 if i > 0 else None


def neighbor_step(steps: Sequence[int], step: int, direction: int) -> int:
    """The next (direction > 0) or previous (< 0) value of sorted ``steps`` strictly after/before
    ``step``; ``step`` itself when there is none (at the end or start)."""
    if direction > 0:
        i = bisect.bisect_right(steps, step)
        return steps[i] if i < len(steps) else step
    i = bisect.bisect_left(steps, step)
    return steps[i - 1] if i > 0 else step


def merged_steps(*step_lists: Iterable[int]) -> list[int]:
    """Sorted union of several runs' snapshot steps (the ◀ ▶ stops)."""
    out: set[int] = set()
    for s in step_lists:
        out.update(int(x) for x in s)
    return sorted(out)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def frame_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / FRAMES / f"step_{step:06d}.png"


def write_json(path: Path, data: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def write_config(run_dir: Path, config: dict[str, Any]) -> None:
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    write_json(Path(run_dir) / CONFIG, {"format": FORMAT, "version": VERSION, **config})


def write_status(run_dir: Path, state: str, step: int, steps: int, message: str = "") -> None:
    """Write status.json with this process's pid and host and the time (the heartbeat)."""
    write_json(
        Path(run_dir) / STATUS,
        {
            "state": state,
            "step": int(step),
            "steps": int(steps),
            "message": message,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "updated": time.time(),
        },
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    except OSError:
        return False
    return True


def run_state(status: dict[str, Any] | None, status_mtime: float | None = None) -> str | None:
    """The state a status means now: its ``state``, except that ``running`` becomes
    ``interrupted`` when its writer is gone (same host, pid not alive) or its heartbeat is older
    than :data:`HEARTBEAT_STALE_S` (``updated``, else ``status_mtime``, the file's time)."""
    if not status:
        return None
    state = status.get("state")
    if state != "running":
        return state
    pid, host = status.get("pid"), status.get("host")
    if isinstance(pid, int) and pid > 0 and host == socket.gethostname():
        return "running" if _pid_alive(pid) else "interrupted"
    updated = status.get("updated", status_mtime)
    if isinstance(updated, (int, float)) and time.time() - updated > HEARTBEAT_STALE_S:
        return "interrupted"
    return "running"


def read_status(run_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((Path(run_dir) / STATUS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _fmt(v: float | None) -> str:
    return "" if v is None else repr(float(v))


def append_losses(
    run_dir: Path,
    rows: Sequence[tuple[int, float, float, float | None]],
    extra: Sequence[str] = (),
) -> None:
    """Append ``(step, loss_d, loss_g, em_estimate, *extra)`` rows to losses.csv (header on
    creation). ``extra`` names further loss terms, one value per name after ``em_estimate``;
    a file is always written with the same columns it was created with."""
    if not rows:
        return
    path = Path(run_dir) / LOSSES
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if new:
            w.writerow((*LOSS_COLUMNS, *extra))
        for step, *values in rows:
            if len(values) != 3 + len(extra):
                raise ValueError(
                    f"a loss row needs {3 + len(extra)} values after the step, got {len(values)}"
                )
            w.writerow([int(step), *(_fmt(v) for v in values)])


def append_quality(run_dir: Path, step: int, average: float, levels: Sequence[tuple[int, float]]) -> None:
    """Append one SWD row (average and per-level values, x 1e3) to quality.csv."""
    path = Path(run_dir) / QUALITY
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["step", "swd_avg"] + [f"swd_{res}px" for res, _ in levels])
        w.writerow([int(step), _fmt(average)] + [_fmt(v) for _, v in levels])


def append_metrics(run_dir: Path, columns: Sequence[str], row: Sequence[float | None]) -> None:
    """Append one ``(step, *values)`` row to metrics.csv (header ``step, *columns`` on creation);
    a file is always written with the columns it was created with."""
    if len(row) != 1 + len(columns):
        raise ValueError(f"a metrics row needs the step and {len(columns)} values, got {len(row)} values")
    path = Path(run_dir) / METRICS
    new = not path.exists()
    with path.open("a", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["step", *columns])
        w.writerow([int(row[0]), *(_fmt(v) for v in row[1:])])


def truncate_after(run_dir: Path, step: int) -> None:
    """Drop CSV rows and frames newer than ``step`` (work done after the last checkpoint)."""
    run_dir = Path(run_dir)
    for name in (LOSSES, QUALITY, METRICS):
        path = run_dir / name
        if not path.exists():
            continue
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        if not rows:
            continue
        kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) <= step]
        with atomic_path(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(kept)
    for s, p in list_frames(run_dir):
        if s > step:
            p.unlink()


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


@dataclass
class LossLog:
    steps: list[int] = field(default_factory=list)
    loss_d: list[float | None] = field(default_factory=list)  # None: the trainer has no critic
    loss_g: list[float] = field(default_factory=list)
    em_estimate: list[float | None] = field(default_factory=list)
    #: Further named loss terms (columns after the first four), aligned with ``steps``.
    extra: dict[str, list[float | None]] = field(default_factory=dict)
    #: Steps whose row held a NaN or infinite value (left out of the lists above).
    non_finite_steps: list[int] = field(default_factory=list)
    rows: int = 0  # rows read, finite or not

    @property
    def has_em(self) -> bool:
        return any(v is not None for v in self.em_estimate)


@dataclass
class QualityLog:
    steps: list[int] = field(default_factory=list)
    swd_avg: list[float] = field(default_factory=list)
    levels: dict[int, list[float]] = field(default_factory=dict)  # resolution -> values


@dataclass
class MetricsLog:
    """metrics.csv: the steps and each named column's values (``None`` where empty)."""

    steps: list[int] = field(default_factory=list)
    columns: dict[str, list[float | None]] = field(default_factory=dict)

    def get(self, name: str) -> list[float | None]:
        return self.columns.get(name, [])

    def at_or_before(self, step: int) -> dict[str, float | None] | None:
        """The row of the latest measurement at or before ``step`` (with its ``step``)."""
        i = frame_at_or_before(self.steps, step)
        if i is None:
            return None
        return {"step": self.steps[i], **{k: v[i] for k, v in self.columns.items()}}


def _float_or_none(s: str) -> float | None:
    return float(s) if s.strip() else None


def _complete_lines(path: Path) -> list[str]:
    """The file's complete lines: a last line still being appended by a training thread (no
    newline yet) is left out."""
    text = Path(path).read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines.pop()
    return lines


def read_losses(path: Path) -> LossLog:
    log = LossLog()
    reader = csv.DictReader(_complete_lines(path))
    missing = [c for c in LOSS_COLUMNS[:3] if c not in (reader.fieldnames or [])]
    if missing:
        raise RunError(f"{path.name}: missing column(s) {', '.join(missing)}")
    names = [c for c in reader.fieldnames or [] if c not in LOSS_COLUMNS]
    log.extra = {name: [] for name in names}
    for i, row in enumerate(reader, start=2):
        try:
            step, ld, lg = int(row["step"]), _float_or_none(row["loss_d"] or ""), float(row["loss_g"])
            em = _float_or_none(row.get("em_estimate") or "")
            more = [_float_or_none(row.get(name) or "") for name in names]
        except (TypeError, ValueError) as exc:
            raise RunError(f"{path.name}: line {i} is not a valid row ({exc})") from None
        log.rows += 1
        if not all(math.isfinite(v) for v in (ld, lg, em, *more) if v is not None):
            log.non_finite_steps.append(step)
            continue
        log.steps.append(step)
        log.loss_d.append(ld)
        log.loss_g.append(lg)
        log.em_estimate.append(em)
        for name, v in zip(names, more, strict=True):
            log.extra[name].append(v)
    return log


def non_finite_note(log: LossLog, shown: int = 10) -> str | None:
    """A line saying how many loss rows were NaN/inf and at which steps (``None``: none were)."""
    bad = log.non_finite_steps
    if not bad:
        return None
    steps = ", ".join(str(s) for s in bad[:shown]) + (
        f", … ({len(bad) - shown} more)" if len(bad) > shown else ""
    )
    return (
        f"{len(bad)} of {log.rows} loss rows are not finite (NaN/inf) at steps {steps}; "
        "the loss curves show the finite rows only"
    )


def read_quality(path: Path) -> QualityLog:
    log = QualityLog()
    reader = csv.DictReader(_complete_lines(path))
    cols = reader.fieldnames or []
    if "step" not in cols or "swd_avg" not in cols:
        raise RunError(f"{path.name}: missing column step or swd_avg")
    level_cols = {c: int(m.group(1)) for c in cols if (m := re.fullmatch(r"swd_(\d+)px", c))}
    for res in level_cols.values():
        log.levels[res] = []
    for i, row in enumerate(reader, start=2):
        try:
            log.steps.append(int(row["step"]))
            log.swd_avg.append(float(row["swd_avg"]))
            for c, res in level_cols.items():
                log.levels[res].append(float(row[c]))
        except (TypeError, ValueError) as exc:
            raise RunError(f"{path.name}: line {i} is not a valid row ({exc})") from None
    return log


def read_metrics(path: Path) -> MetricsLog:
    log = MetricsLog()
    reader = csv.DictReader(_complete_lines(path))
    cols = reader.fieldnames or []
    if "step" not in cols:
        raise RunError(f"{path.name}: missing column step")
    names = [c for c in cols if c != "step"]
    log.columns = {c: [] for c in names}
    for i, row in enumerate(reader, start=2):
        try:
            values = [_float_or_none(row.get(c) or "") for c in names]
            log.steps.append(int(row["step"]))
        except (TypeError, ValueError) as exc:
            raise RunError(f"{path.name}: line {i} is not a valid row ({exc})") from None
        for c, v in zip(names, values, strict=True):
            log.columns[c].append(v)
    return log


def list_frames(run_dir: Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of every snapshot frame, sorted by step."""
    folder = Path(run_dir) / FRAMES
    if not folder.is_dir():
        return []
    out = []
    for p in folder.iterdir():
        m = _FRAME_RE.match(p.name)
        if m and p.is_file():
            out.append((int(m.group(1)), p))
    return sorted(out)


def missing_files(run_dir: Path) -> list[str]:
    """Names of the required parts of a run that are absent (empty list: the run can be shown)."""
    run_dir = Path(run_dir)
    missing = []
    if not (run_dir / CONFIG).is_file():
        missing.append(CONFIG)
    if not (run_dir / LOSSES).is_file():
        missing.append(LOSSES)
    if not list_frames(run_dir):
        missing.append(f"{FRAMES}/step_*.png (no snapshot frames)")
    return missing


def is_run_dir(path: Path) -> bool:
    return (Path(path) / CONFIG).is_file()


def list_runs(folder: str | os.PathLike) -> list[Path]:
    """Run directories (folders with a config.json) directly inside ``folder``, by name."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_dir() and is_run_dir(p)), key=lambda p: p.name)


@dataclass
class Timeline:
    """What the scrubber shows for one run or animation: frames at snapshot steps, and curves."""

    name: str
    steps: list[int]
    kind: str  # "run" | "animation"
    config: dict[str, Any] = field(default_factory=dict)
    losses: LossLog | None = None
    quality: QualityLog | None = None
    metrics: MetricsLog | None = None
    notes: list[str] = field(default_factory=list)
    path: Path | None = None
    _frame_paths: list[Path] = field(default_factory=list, repr=False)
    _frames: list[np.ndarray] = field(default_factory=list, repr=False)

    @property
    def last_step(self) -> int:
        return self.steps[-1] if self.steps else 0

    def frame(self, index: int) -> np.ndarray:
        if self._frames:
            return self._frames[index]
        return read_png(self._frame_paths[index])

    @property
    def grid(self) -> GridLayout | None:
        """How a run's frames lay out its samples (from its config); None for an animation or a
        config without ``grid`` and ``size``."""
        n, size = self.config.get("grid"), self.config.get("size")
        if self.kind != "run" or not isinstance(n, int) or not isinstance(size, int) or n < 1 or size < 1:
            return None
        return GridLayout(n, size)

    def frame_path(self, index: int) -> Path | None:
        return self._frame_paths[index] if self._frame_paths else None

    def at(self, step: int) -> tuple[int, int] | None:
        """``(index, snapshot_step)`` of the frame shown at ``step``; None before the first."""
        i = frame_at_or_before(self.steps, step)
        return None if i is None else (i, self.steps[i])


def load_run(run_dir: str | os.PathLike) -> Timeline:
    """Read a run directory for viewing; :class:`RunError` names every missing required file."""
    run_dir = Path(run_dir).expanduser()
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: no such run folder")
    missing = missing_files(run_dir)
    if missing:
        raise RunError(f"{run_dir.name}: not a complete run folder; missing {', '.join(missing)}")
    try:
        config = json.loads((run_dir / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunError(f"{run_dir.name}: {CONFIG} is not valid JSON ({exc})") from None
    if not isinstance(config, dict):
        raise RunError(f"{run_dir.name}: {CONFIG} is not a JSON object")
    frames = list_frames(run_dir)
    notes = []
    losses = read_losses(run_dir / LOSSES)
    if (note := non_finite_note(losses)) is not None:
        notes.append(note)
    quality = None
    if (run_dir / QUALITY).is_file():
        quality = read_quality(run_dir / QUALITY)
    elif config.get("quality", True):
        notes.append(f"{QUALITY} is missing: no quality curve")
    metrics = read_metrics(run_dir / METRICS) if (run_dir / METRICS).is_file() else None
    status = read_status(run_dir)
    try:
        status_mtime = (run_dir / STATUS).stat().st_mtime
    except OSError:
        status_mtime = None
    state = run_state(status, status_mtime)
    if state == "running":
        notes.append(f"training in progress: step {status.get('step')} of {status.get('steps')}")
    elif state == "interrupted":
        notes.append(
            f"interrupted at step {status.get('step')} of {status.get('steps')}: the status says running "
            "but its process is gone (killed or crashed); resume it from its last checkpoint"
        )
    return Timeline(
        name=run_dir.name,
        steps=[s for s, _ in frames],
        kind="run",
        config=config,
        losses=losses,
        quality=quality,
        metrics=metrics,
        notes=notes,
        path=run_dir,
        _frame_paths=[p for _, p in frames],
    )


def load_animation(source: str | os.PathLike | bytes, name: str | None = None) -> Timeline:
    """An animated GIF/WebP as a timeline whose steps are frame indices 0, 1, 2, ...
    (:class:`~core.gan.frames.AnimationError` if broken or not animated)."""
    frames = split_animation(source, name=name)
    label = name or (Path(source).name if not isinstance(source, (bytes, bytearray)) else "animation")
    return Timeline(
        name=label,
        steps=list(range(len(frames))),
        kind="animation",
        _frames=frames,
        notes=["an animation carries no step numbers: the step axis is the frame index"],
    )
