"""Reading the pictures a generator page works on: uploaded files and/or a server-side image file,
folder or zip, decoded to ``(name, H x W x 3 uint8)`` pairs with one message per bad file, plus
a row of clickable example pictures that ship with GAN Lens (:mod:`core.images.examples`), so that
a first visit produces a result without any file of one's own.

Decoded pictures are kept in the session while the inputs stay the same (the same uploaded files,
the same path with the same modification time), so a rerun of the page does not decode them again.
A server path is read only if the operator's policy allows it (:mod:`dashboard.server_path`), and a
folder is walked within :data:`core.images.BROWSER_WALK`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import streamlit as st

from core.images import BROWSER_WALK, UPLOAD_IMAGE_TYPES, ImageError, load_image, open_image_set
from core.images.examples import ExampleKind, example_images
from core.images.resize import thumbnail
from dashboard.server_path import PathRefused, checked_path, server_path_input, server_policy

Images = list[tuple[str, np.ndarray]]


def _signature(uploads, path_text: str, max_images: int) -> tuple:
    files = tuple((getattr(up, "file_id", None), up.name, up.size) for up in uploads or [])
    stamp = None
    if path_text.strip() and server_policy().allows(path_text):
        with contextlib.suppress(OSError):
            stamp = checked_path(path_text).stat().st_mtime_ns
    return files, path_text.strip() or None, server_policy(), stamp, max_images


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
            path = checked_path(path_text)
            image_set = open_image_set(path, name=Path(path_text.strip()).name, walk=BROWSER_WALK)
            # one more than the cap, so that the warning below knows there were more
            images += list(image_set.iter_arrays(limit=max_images + 1))
            errors += [f"Skipped {s.name}: {s.reason}" for s in image_set.skipped]
        except PathRefused as exc:
            errors.append(str(exc))
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


@st.cache_data(show_spinner=False, max_entries=8)
def _examples(kinds: tuple[ExampleKind, ...]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(name, picture, 96 px thumbnail)`` of the example pictures of ``kinds`` (a copy per call:
    st.cache_data hands every session its own)."""
    return [(name, arr, thumbnail(arr, 96)) for kind in kinds for name, arr in example_images(kind)]


def _toggle_example(state_key: str, name: str, on_choose: Callable[[], None] | None) -> None:
    chosen = st.session_state.setdefault(state_key, [])
    adding = name not in chosen
    st.session_state[state_key] = [*chosen, name] if adding else [n for n in chosen if n != name]
    if adding and on_choose is not None:
        on_choose()


def example_row(
    key: str, kinds: tuple[ExampleKind, ...], verb: str, on_choose: Callable[[], None] | None = None
) -> Images:
    """A row of example pictures, each with a button that adds it to (or removes it from) the
    images of this page; returns the chosen ones in the row's order. ``on_choose`` runs (before the
    rerun) when an example is added, e.g. to set a page option that suits the examples."""
    examples = _examples(kinds)
    state_key = f"{key}_examples"
    chosen = st.session_state.get(state_key, [])
    st.caption(
        f"…or use example pictures that ship with GAN Lens (choose, then press the button below to have them {verb}):"
    )
    # at least 8 columns: two examples are two small thumbnails, not two halves of the page
    for col, (name, _arr, thumb) in zip(st.columns(max(len(examples), 8)), examples, strict=False):
        col.image(thumb, caption=name, width="content")
        col.button(
            "✓ Chosen" if name in chosen else "Use",
            key=f"{key}_example_{name}",
            type="primary" if name in chosen else "secondary",
            on_click=_toggle_example,
            args=(state_key, name, on_choose),
            width="stretch",
            help=f"Click to remove {name} again." if name in chosen else f"Add {name} to the images.",
        )
    return [(name, arr) for name, arr, _ in examples if name in chosen]


def image_inputs(
    key: str,
    verb: str,
    max_images: int,
    upload_help: str,
    examples: tuple[ExampleKind, ...] = (),
    on_example: Callable[[], None] | None = None,
) -> Images:
    """The "Images" section of a generator page: an uploader, a server path, read with
    :func:`read_images`, and the :func:`example_row` of ``examples``; says so when there is
    nothing to work on yet."""
    st.subheader("Images")
    kept = f"_{key}_kept_uploads"
    uploads = st.file_uploader(
        "Images",
        type=UPLOAD_IMAGE_TYPES,
        accept_multiple_files=True,
        key=f"{key}_uploads",
        # a change (files added or removed) replaces the kept uploads; a visit to another page
        # empties the uploader without a change, and the kept ones stay
        on_change=st.session_state.pop,
        args=(kept, None),
        help=upload_help,
    )
    if uploads:
        st.session_state[kept] = list(uploads)
    elif st.session_state.get(kept):
        uploads = st.session_state[kept]
        c1, c2 = st.columns([3, 1], vertical_alignment="center")
        c1.caption(f"{len(uploads)} picture(s) uploaded earlier in this session are still used.")
        c2.button(
            "Forget them", key=f"{key}_forget_uploads", on_click=st.session_state.pop, args=(kept, None)
        )
    folder = server_path_input(
        "…or an image file, folder or zip on this machine",
        key=f"{key}_folder",
        persist_state="session",
        help="Full path on the machine running GAN Lens; folders are searched recursively.",
    )
    images = read_images(uploads, folder, max_images, verb, key=f"{key}_inputs")
    if examples:
        images = images + example_row(key, examples, verb, on_example)
    if not images:
        more = " or give a path" if server_policy().enabled else ""
        tried = " or click an example" if examples else ""
        st.info(f"No images yet: upload some{more}{tried}.")
    return images[:max_images]
