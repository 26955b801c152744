"""Reading custom elements of the app under AppTest (which shows them as unknown elements)."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
from PIL import Image


def wipe_pictures(at) -> list[dict]:
    """What each wipe element (:mod:`dashboard.wipe`) sends to the browser: its labels, caption and
    position, and its two pictures decoded back from their PNG data URIs (``"before"``,
    ``"after"``: uint8 arrays)."""
    shown = []
    for element in at.get("bidi_component"):
        if element.proto.component_name != "ganlens.wipe":
            continue
        data = json.loads(element.proto.json)
        for side in ("before", "after"):
            head, _, payload = data[side].partition(",")
            assert head == "data:image/png;base64"
            data[side] = np.asarray(Image.open(io.BytesIO(base64.b64decode(payload))))
        shown.append(data)
    return shown


def pick_zoo(at, key: str, name: str) -> None:
    """Choose the zoo model ``name`` in the model picker ``key`` (e.g. ``"translate_a"``) and rerun."""
    box = at.selectbox(key=f"{key}_zoo")
    box.select(next(option for option in box.options if f" {name} — " in option)).run()
