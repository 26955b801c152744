"""Models trained on this server: the exported model files of the colorizer, CycleGAN and
image-to-image lab runs in a
runs folder (their ``config.json`` names them under ``"exports"``, :mod:`core.models.training.run_loop`),
so that the generator pages can offer what a user trained there next to the zoo.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from core.gan import runs
from core.models.registry import Family

#: The family of the models each kind of run exports.
KIND_FAMILY: dict[str, Family] = {"colorizer": "colorization", "cyclegan": "translation"}
#: An image-to-image lab run (kind ``i2i``) exports a model of its task's family.
TASK_FAMILY: dict[str, Family] = {"colorize": "colorization", "mosaic": "translation"}


def run_family(config: dict) -> Family | None:
    """The family of the models a run with this ``config.json`` exports (``None``: none)."""
    kind = str(config.get("kind"))
    if kind == "i2i":
        return TASK_FAMILY.get(str(config.get("task")))
    return KIND_FAMILY.get(kind)


@dataclass(frozen=True)
class TrainedModel:
    """One exported model file of a run. ``name``: the run's name, with the export's label when a
    run exports several (a CycleGAN's two directions); ``resolution``: the image size it was
    trained at; ``state``: the run's state (``running``, ``done``, ``stopped``, ...)."""

    name: str
    path: Path
    run_dir: Path
    family: Family
    resolution: int | None
    state: str | None


def trained_models(runs_dir: str | os.PathLike, family: Family) -> list[TrainedModel]:
    """The exported model files of ``family`` in the runs of ``runs_dir`` that exist on disk, the
    newest run first (by when its ``config.json`` was written: when it started), so that a run just
    started comes first. Runs whose config cannot be read are left out: the Training lab reports
    them."""
    found: list[tuple[float, TrainedModel]] = []
    for run_dir in runs.list_runs(runs_dir):
        try:
            started = (run_dir / runs.CONFIG).stat().st_mtime
            config = json.loads((run_dir / runs.CONFIG).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(config, dict) or run_family(config) != family:
            continue
        exports = config.get("exports")
        if not isinstance(exports, dict):
            continue
        size = config.get("size")
        status = runs.read_status(run_dir)
        for label, file in exports.items():
            path = run_dir / str(file)
            if Path(str(file)).name != str(file) or not path.is_file():
                continue  # only files of the run folder itself
            name = run_dir.name if len(exports) == 1 else f"{run_dir.name} {label}"
            model = TrainedModel(
                name,
                path,
                run_dir,
                family,
                int(size) if isinstance(size, int) else None,
                runs.run_state(status),
            )
            found.append((started, model))
    found.sort(key=lambda pair: pair[0], reverse=True)  # stable: a run's exports keep their order
    return [model for _, model in found]
