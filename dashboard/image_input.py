"""Reading the pictures a generator page works on: uploaded files and/or a server-side image file,
folder or zip, decoded to ``(name, H x W x 3 uint8)`` pairs with one message per bad file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from core.images import ImageError, load_image, open_image_set
from dashboard.feedback import show_error


def read_images(uploads, path_text: str, max_images: int, verb: str) -> list[tuple[str, np.ndarray]]:
    """Decode uploaded files and/or a server-side image file, folder or zip (``path_text``) to
    ``(name, H x W x 3 uint8)`` pairs. Each bad file gets its own ``st.error`` and is skipped;
    beyond ``max_images`` a warning says "Only the first N images are <verb>." and the rest are
    dropped."""
    images: list[tuple[str, np.ndarray]] = []
    for up in uploads or []:
        try:
            images.append((up.name, load_image(up.getvalue(), name=up.name)))
        except ImageError as exc:
            show_error(exc, "Skipped an image")
    if path_text.strip():
        try:
            image_set = open_image_set(Path(path_text.strip()).expanduser())
            # one more than the cap, so that the warning below knows there were more
            images += list(image_set.iter_arrays(limit=max_images + 1))
            for s in image_set.skipped:
                st.error(f"Skipped {s.name}: {s.reason}")
        except (ImageError, OSError) as exc:
            show_error(exc, "Could not read images")
    if len(images) > max_images:
        st.warning(f"Only the first {max_images} images are {verb}.")
        images = images[:max_images]
    return images
