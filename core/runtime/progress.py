"""The one progress-callback protocol passed into long core calls.

A long computation calls ``progress(stage, done, total)`` as it advances. The CLI passes a
:class:`TqdmProgress` (one tqdm bar per stage); the app passes an adapter that drives
``st.progress``. ``total`` may be ``None`` when the amount of work is unknown.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def __call__(self, stage: str, done: int, total: int | None) -> None: ...


def null_progress(stage: str, done: int, total: int | None) -> None:
    """A Progress that ignores every report."""


class TqdmProgress:
    """Progress shown as tqdm bars on stderr, one bar per stage name."""

    def __init__(self, disable: bool = False) -> None:
        self._bars: dict[str, object] = {}
        self._disable = disable

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        from tqdm import tqdm

        bar = self._bars.get(stage)
        if bar is None:
            bar = tqdm(total=total, desc=stage, unit="it", disable=self._disable, leave=True)
            self._bars[stage] = bar
        if total is not None and bar.total != total:
            bar.total = total
        bar.n = done
        bar.refresh()
        if total is not None and done >= total:
            bar.close()

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self._bars.clear()
