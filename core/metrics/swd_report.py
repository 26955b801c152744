"""An SWD explanation (:mod:`core.metrics.swd.explain`, Karras et al. 2018's SWD per level) made
readable: per level a sentence in plain words and, per explained direction, the exemplar
patches of each set as pictures (the 7 x 7 patch, and its box in the image it came from, the
image as SWD read it: resized to the comparison's SWD size). The Compare page shows it
(:mod:`dashboard.swd_explain_view`); ``python -m core swd A B --explain DIR`` writes it as PNG
files and a JSON (:func:`write_explanation`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.images import ImageError, ImageSet
from core.images.resize import resize_uint8
from core.metrics.swd.explain import DirectionExplanation, LevelExplanation, Region
from core.metrics.swd.tiles import context_tile, level_gain, patch_box, patch_tile

__all__ = [
    "ExemplarPicture",
    "LevelReport",
    "explain_report",
    "image_reader",
    "level_sentence",
    "region_sentence",
    "write_explanation",
]

#: An image of one side ("A"/"B") by name, as SWD read it (H x W x 3 uint8), or None if gone.
Reader = Callable[[str, str], np.ndarray | None]


@dataclass
class ExemplarPicture:
    """One exemplar: its set, image name, centre in full-image pixels, the patch as a tile and
    its surroundings with the box (None when the image cannot be read any more)."""

    side: str
    name: str
    centre: tuple[int, int]
    patch: np.ndarray = field(repr=False)
    context: np.ndarray | None = field(repr=False)


@dataclass
class DirectionReport:
    index: int
    share: float  # of the level's value
    b_caption: str
    a_caption: str
    b_pictures: list[ExemplarPicture]
    a_pictures: list[ExemplarPicture]


@dataclass
class LevelReport:
    resolution: int
    value: float
    sentence: str
    directions: list[DirectionReport]


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %" if x >= 0.001 or x == 0 else "< 0.1 %"


def region_sentence(level: LevelExplanation, r: Region) -> str:
    """E.g. "At 32 px, B has patches like these that A lacks: 4.1 % of B's patches lie beyond
    anything A has along this pattern; where B reaches further than A, it makes 71 % of this
    pattern's difference." (or that there are none)."""
    other = "A" if r.side == "B" else "B"
    if not r.exemplars:
        return f"At {level.resolution} px, {r.side} has no patches beyond {other}'s along this pattern."
    if r.beyond > 0:
        few = " (few, but a few patches can be the whole difference: look at them)" if r.beyond < 0.01 else ""
        head = (
            f"At {level.resolution} px, {r.side} has patches like these that {other} lacks{few}: "
            f"{_pct(r.beyond)} of {r.side}'s patches lie beyond anything {other} has along this pattern"
        )
    else:
        head = (
            f"At {level.resolution} px, {r.side}'s most extreme patches along this pattern reach further "
            f"than {other}'s"
        )
    return (
        f"{head}; where {r.side} reaches further than {other}, it makes {_pct(r.carried)} of this "
        "pattern's difference."
    )


def level_sentence(level: LevelExplanation, value: float) -> str:
    """What a level's value is made of, in words."""
    k = level.contributions.size
    shown = sum(d.share for d in level.directions)
    return (
        f"At {level.resolution} px (detail about {level.scale[0]:.0f} image pixel(s) across per patch pixel), "
        f"SWD is {value:.2f} (in the chart's units, SWD × 10³): the average over {k} random patterns "
        f"(directions) of how far A's patches must move to match B's. The value is spread over many "
        f"patterns: the {len(level.directions)} largest, shown here, make {_pct(shown)} of it; each row shows the patches of one set that reach where the other "
        "set has (almost) none."
    )


def image_reader(sets: dict[str, ImageSet], size_hw: tuple[int, int]) -> Reader:
    """A :data:`Reader` over the compared sets (by name; resized to ``size_hw`` as SWD resized
    them), keeping the name index of each set."""
    index = {side: {n: i for i, n in enumerate(s.names)} for side, s in sets.items()}

    def read(side: str, name: str) -> np.ndarray | None:
        i = index.get(side, {}).get(name)
        if i is None:
            return None
        try:
            arr = sets[side].read(i)
        except ImageError:
            return None
        return arr if arr.shape[:2] == tuple(size_hw) else resize_uint8(arr, size_hw)

    return read


def _pictures(
    level: LevelExplanation, r: Region, names: list[str], read: Reader | None
) -> list[ExemplarPicture]:
    gain = level_gain(level)
    out = []
    for e in r.exemplars:
        name = names[e.image] if e.image < len(names) else f"image {e.image}"
        box = patch_box(level, e)
        image = read(r.side, name) if read is not None else None
        out.append(
            ExemplarPicture(
                r.side,
                name,
                ((box[0] + box[2]) // 2, (box[1] + box[3]) // 2),
                patch_tile(e.patch, gain, level.residual),
                None if image is None else context_tile(image, box),
            )
        )
    return out


def explain_report(result, read: Reader | None, level: int | None = None) -> list[LevelReport]:
    """The report of a :class:`~core.metrics.compare.CompareResult` run with ``swd_explain``
    (``read``: the images by name, or None to show the patches only; ``level``: only that
    level, by position, else all)."""
    ex = result.swd.explanation
    if ex is None:
        raise ValueError("this result has no SWD explanation; run with swd_explain=True (--explain)")
    out = []
    for i, (lv, le) in enumerate(zip(result.swd.levels, ex.levels, strict=True)):
        if level is not None and i != level:
            continue
        dirs = []
        for d in le.directions:
            dirs.append(_direction(le, d, result.swd_names, read))
        out.append(LevelReport(lv.resolution, lv.value, level_sentence(le, lv.value), dirs))
    return out


def _direction(
    le: LevelExplanation, d: DirectionExplanation, names: dict[str, list[str]], read: Reader | None
) -> DirectionReport:
    return DirectionReport(
        d.index,
        d.share,
        region_sentence(le, d.b_excess),
        region_sentence(le, d.a_excess),
        _pictures(le, d.b_excess, names.get("B", []), read),
        _pictures(le, d.a_excess, names.get("A", []), read),
    )


def write_explanation(folder: Path, result, read: Reader | None) -> Path:
    """Write the report into ``folder`` (created): per level, direction and side one PNG per
    exemplar (the patch and, beside it, its box in the image) named
    ``<res>px_dir<k>_<side>_<n>.png``, and ``explanation.json`` with the sentences, the
    exemplars' image names and centres, and the whole explanation (:meth:`SWDExplanation.to_dict`).
    Returns the JSON's path."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    report = explain_report(result, read)
    doc = {"set_a": result.name_a, "set_b": result.name_b, "seed": result.settings.seed, "levels": []}
    for lv in report:
        entry = {"resolution": lv.resolution, "value": lv.value, "sentence": lv.sentence, "directions": []}
        for d in lv.directions:
            files = {"A": [], "B": []}
            for pics in (d.b_pictures, d.a_pictures):
                for n, p in enumerate(pics):
                    tile = p.patch if p.context is None else _side_by_side(p.patch, p.context)
                    fname = f"{lv.resolution}px_dir{d.index}_{p.side}_{n}.png"
                    Image.fromarray(tile).save(folder / fname)
                    files[p.side].append({"file": fname, "image": p.name, "centre_yx": list(p.centre)})
            entry["directions"].append(
                {"index": d.index, "share": d.share, "b": d.b_caption, "a": d.a_caption, "tiles": files}
            )
        doc["levels"].append(entry)
    doc["explanation"] = result.swd.explanation.to_dict()
    path = folder / "explanation.json"
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def _side_by_side(a: np.ndarray, b: np.ndarray, gap: int = 4) -> np.ndarray:
    h = max(a.shape[0], b.shape[0])
    out = np.full((h, a.shape[1] + gap + b.shape[1], 3), 255, np.uint8)
    out[: a.shape[0], : a.shape[1]] = a
    out[: b.shape[0], a.shape[1] + gap :] = b
    return out
