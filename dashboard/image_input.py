"""Reading the pictures a generator page works on: uploaded files and/or a server-side image file,
folder or zip, decoded to ``(name, H x W x 3 uint8)`` pairs with one message per bad file.

Decoded pictures are kept in the session while the inputs stay the same (the same uploaded files,
the same path with the same modification time), so a rerun of the page does not decode them again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from core.images import UPLOAD_IMAGE_TYPES, ImageError, load_image, open_image_set

Images = list[tuple[str, np.ndarray]]


def _signature(uploads, path_text: str, max_images: int) -> tuple:
    files = tuple((getattr(up, "file_id", None), up.name, up.size) for up in uploads or [])
    path = Path(path_text.strip()).expanduser() if path_text.strip() else None
    try:
        stamp = path.stat().st_mtime_ns if path is not None else None
    except OSError:
        stamp = None
    return files, str(path) if path else None, stamp, max_images


def _decode(uploads, path_text: str, max_images: int, verb: str) -> tuple[Images, list[str], list[str]]:
    images: Images = []
    errors: list[str] = []
    for up in uploads or []:
        try:
            images.append((up.name, load_image(up.getvalue(), name=up.name)))
        except ImageError as exc:
            errors.append(f"Skipped an image: {exc}")
    if path_text.strip():
        try:
            image_set = open_image_set(Path(path_text.strip()).expanduser())
            # one more than the cap, so that the warning below knows there were more
            images += list(image_set.iter_arrays(limit=max_images + 1))
            errors += [f"Skipped {s.name}: {s.reason}" for s in image_set.skipped]
        except (ImageError, OSError) as exc:
            errors.append(f"Could not read images: {exc}")
    warnings = []
    if len(images) > max_images:
        warnings.append(f"Only the first {max_images} images are {verb}.")
        images = images[:max_images]
    return images, errors, warnings


def read_images(uploads, path_text: str, max_images: int, verb: str, key: str) -> Images:
    """The pictures from ``uploads`` and ``path_text`` (see the module docstring). Each bad file
    gets its own ``st.error`` and is skipped; beyond ``max_images`` a warning says "Only the first
    N images are <verb>." and the rest are dropped. ``key`` names the page's input (one cache
    entry per key)."""
    signature = _signature(uploads, path_text, max_images)
    cached = st.session_state.get(f"_{key}_decoded")
    if cached is None or cached[0] != signature:
        cached = (signature, *_decode(uploads, path_text, max_images, verb))
        st.session_state[f"_{key}_decoded"] = cached
    _, images, errors, warnings = cached
    for message in errors:
        st.error(message)
    for message in warnings:
        st.warning(message)
    return images


def image_inputs(key: str, verb: str, max_images: int, upload_help: str) -> Images:
    """The "Images" section of a generator page: an uploader and a server path, read with
    :func:`read_images`; says so when there is nothing to work on yet."""
    st.subheader("Images")
    uploads = st.file_uploader(
        "Images",
        type=UPLOAD_IMAGE_TYPES,
        accept_multiple_files=True,
        key=f"{key}_uploads",
        help=upload_help,
    )
    folder = st.text_input(
        "…or an image file, folder or zip on this machine",
        key=f"{key}_folder",
        help="Full path on the machine running GAN Lens; folders are searched recursively.",
    )
    images = read_images(uploads, folder, max_images, verb, key=f"{key}_inputs")
    if not images:
        st.info("No images yet: upload some or give a path.")
    return images
