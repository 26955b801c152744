"""The manifest of the shipped demo models (``core/models/demo/weights/manifest.json``): one entry
per weights file with its name, architecture, what it was trained on and how, its SHA-256 and the
command that rebuilt it. Read without torch, so the model zoo can list the demos cheaply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Where the shipped demo weights and their manifest live (inside the package).
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MANIFEST = "manifest.json"
#: The command that rebuilds the shipped weights (``make demo-models`` runs it).
REBUILD_COMMAND = "python -m core make-demo-models --out core/models/demo/weights"


@dataclass(frozen=True)
class DemoEntry:
    """One shipped demo model (see the module docstring). ``resolution``: the image side it was
    trained at, which is the size to run it at; ``quality``: the builder's measured checks."""

    name: str
    file: str
    arch: str
    family: str
    description: str
    trained_on: str
    steps: int
    seed: int
    size: int
    resolution: int
    sha256: str
    command: str = REBUILD_COMMAND
    quality: dict[str, Any] = field(default_factory=dict)

    def path(self, folder: Path = WEIGHTS_DIR) -> Path:
        return Path(folder) / self.file


def read_manifest(folder: Path = WEIGHTS_DIR) -> dict[str, Any]:
    """The manifest as a dict (``{"models": [...], ...}``); an empty one when there is none yet."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return {"models": []}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable demo manifest ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        raise ValueError(f"{path}: not a demo manifest (no 'models' list)")
    return data


def demo_entries(folder: Path = WEIGHTS_DIR) -> list[DemoEntry]:
    """The manifest's models, in manifest order."""
    known = set(DemoEntry.__dataclass_fields__)
    return [DemoEntry(**{k: v for k, v in m.items() if k in known}) for m in read_manifest(folder)["models"]]
