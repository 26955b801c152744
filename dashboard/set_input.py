"""The "give me an image set" widget group used on the metrics page (widgets only).

A set can come from a built-in sample, uploaded files, an uploaded folder, an uploaded zip, a
path on the server (when the operator allows it: :mod:`dashboard.server_path`) to images, a
statistics ``.npz`` or a feature folder written by ``ganlens features`` (FID, KID, PRDC), or (FID
only) an uploaded statistics ``.npz``. The opened set is kept in ``st.session_state`` keyed by its
source so reruns and page changes do not reload it; uploads are decoded on arrival
(``core.images.decode_uploads``) so their raw bytes are not kept. A set is named after its sample,
folder, zip, first file or statistics file (:func:`core.images.ordering.upload_set_name`), and
:func:`set_identity` tells a result which source made it (the same files in another order are
the same source: sets are in canonical order).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.images import BROWSER_WALK, UPLOAD_IMAGE_TYPES, ImageError, decode_uploads, open_image_set
from core.images.ordering import upload_set_name
from core.images.resize import thumbnail
from core.images.samples import SAMPLE_SETS, make_sample_set
from core.metrics.compare import FeatureSource, Source, StatsSource, open_source
from dashboard.server_path import checked_path, server_path_input, server_policy

SOURCES = (
    "Built-in sample",
    "Upload files",
    "Upload a folder",
    "Upload a zip",
    "Folder on the server",
    "FID statistics (.npz)",
)


@st.cache_data(show_spinner=False, max_entries=16)
def _sample(name: str, n: int, size: int):
    return make_sample_set(name, n, size)


def _remember(key: str, source_key: tuple, build) -> Source | None:
    """Keep the opened set in the session while its source stays the same."""
    store = st.session_state.setdefault("_opened_sets", {})
    cached = store.get(key)
    if cached is not None and cached[0] == source_key:
        return cached[1]
    try:
        value = build()
    except (ImageError, ValueError, OSError) as exc:
        st.error(str(exc))
        store.pop(key, None)
        return None
    store[key] = (source_key, value)
    return value


def image_set_input(label: str, key: str, default_sample: str) -> Source | None:
    """Widgets to choose one set; returns the opened set (or None while nothing usable is given)."""
    kind = st.selectbox(
        f"Source of {label}",
        SOURCES,
        key=f"{key}_kind",
        persist_state="session",
        help="Where the images come from. Built-in samples work offline with no data.",
    )
    if kind == "Built-in sample":
        names = list(SAMPLE_SETS)
        name = st.selectbox(
            "Sample set",
            names,
            index=names.index(default_sample),
            key=f"{key}_sample",
            persist_state="session",
            format_func=lambda n: SAMPLE_SETS[n].label,
            help="Procedurally generated sets; pairs differ in known ways (see the captions).",
        )
        st.caption(SAMPLE_SETS[name].description)
        count = st.number_input(
            "Images to generate",
            16,
            4096,
            256,
            step=16,
            key=f"{key}_sample_n",
            persist_state="session",
            help="How many 64x64 images the sample set has.",
        )
        return _remember(
            key,
            ("sample", name, count),
            lambda: open_image_set(_sample(name, int(count), 64), name=SAMPLE_SETS[name].label),
        )
    if kind in ("Upload files", "Upload a folder", "Upload a zip"):
        multiple = {"Upload files": True, "Upload a folder": "directory", "Upload a zip": False}[kind]
        files = st.file_uploader(
            f"{label}: {kind.lower()}",
            type=["zip"] if kind == "Upload a zip" else UPLOAD_IMAGE_TYPES,
            accept_multiple_files=multiple,
            key=f"{key}_upload_{kind}",
            help="Images are decoded as they arrive; very large images are downscaled to 1024 px.",
        )
        if not files:
            st.info(f"Drop images for {label} here.")
            return None
        files = files if isinstance(files, list) else [files]
        ident = tuple(sorted((f.name, f.size, f.file_id) for f in files))  # arrival order is no identity

        def decode():
            s = decode_uploads([(f.name, f.getvalue()) for f in files], name=label)  # errors say "set A"
            s.name = upload_set_name(s.names)  # after skipping what is not an image
            return s

        return _remember(key, ("upload", ident), decode)
    if kind == "Folder on the server":
        path = server_path_input(
            f"{label}: folder, zip, .npy, statistics .npz or feature folder on the server",
            key=f"{key}_path",
            persist_state="session",
            help="For big sets that should not travel through the browser. A feature folder (made by "
            "`ganlens features`, also on many GPUs with torchrun) serves FID, KID and PRDC without "
            "reading any image; a statistics .npz serves FID.",
        )
        if not path.strip():
            if server_policy().enabled:
                st.info("Type a path on the machine running GAN Lens.")
            return None
        return _remember(
            key,
            ("path", path.strip(), server_policy()),
            lambda: open_source(checked_path(path), name=Path(path.strip()).name, walk=BROWSER_WALK),
        )
    stats_file = st.file_uploader(
        f"{label}: statistics .npz",
        type=["npz"],
        key=f"{key}_stats",
        help="mu/sigma as written by pytorch-fid, clean-fid or GAN Lens (FID only).",
    )
    if stats_file is None:
        st.info("Upload a .npz with mu and sigma (usable for FID only).")
        return None

    def load_stats_upload() -> StatsSource:
        from core.metrics.stats import load_stats_bytes

        return StatsSource.from_stats(
            stats_file.name, load_stats_bytes(stats_file.getvalue(), name=stats_file.name)
        )

    return _remember(key, ("stats", stats_file.file_id), load_stats_upload)


def set_identity(key: str, s: Source | None) -> tuple | None:
    """What identifies the set ``s`` returned by :func:`image_set_input` for ``key``: its source
    (kind and sample, files, path or statistics file); None when no set is chosen."""
    cached = st.session_state.get("_opened_sets", {}).get(key)
    if s is None or cached is None or cached[1] is not s:
        return None
    return cached[0]


def show_set_summary(s: Source, key: str, label: str) -> None:
    """The set's name and which side it is (``label``, e.g. "set A"), counts, sizes, skipped files
    (with reasons) and a thumbnail grid of the first images."""
    if isinstance(s, StatsSource):
        st.write(
            f"**{s.name}** — {label}: FID statistics, dimension {s.mu.shape[0]}"
            + (f", from {s.n} images" if s.n else "")
        )
        st.caption(f"Made with: {s.to_gaussian().provenance()}")
        return
    if isinstance(s, FeatureSource):
        st.write(
            f"**{s.name}** — {label}: features of {len(s)} images computed ahead "
            f"({len(s.folder.records)} shard(s)); usable for FID, KID and PRDC, not SWD"
        )
        st.caption(f"Made with: extractor {s.extractor}, resize {s.mode}")
        if s.skipped:
            with st.expander(f"{len(s.skipped)} image(s) could not be read when the features were made"):
                st.dataframe(
                    [{"file": k.name, "reason": k.reason} for k in s.skipped],
                    hide_index=True,
                    key=f"{key}_skipped",
                )
        return
    summaries = st.session_state.setdefault("_set_summaries", {})
    cached = summaries.get(key)
    if cached is None or cached[0] is not s:  # read headers and thumbnails once per opened set
        thumbs = [(n, thumbnail(a, 64)) for n, a in s.iter_arrays(limit=12)]  # small, any aspect
        cached = (s, s.scan_sizes(limit=2000), thumbs)
        summaries[key] = cached
    _, sizes, thumbs = cached
    top = ", ".join(f"{w}x{h} ({c})" for (w, h), c in sizes.most_common(3))
    st.write(f"**{s.name}** — {label}: {len(s)} images · sizes {top}" + (" …" if len(sizes) > 3 else ""))
    if thumbs:
        st.image([a for _, a in thumbs], width=64, caption=[n[-18:] for n, _ in thumbs])
    if s.skipped:
        with st.expander(f"{len(s.skipped)} file(s) skipped"):
            st.dataframe(
                [{"file": k.name, "reason": k.reason} for k in s.skipped],
                hide_index=True,
                key=f"{key}_skipped",
            )
    if getattr(s, "notes", None):
        with st.expander(f"{len(s.notes)} note(s)"):
            for note in s.notes:
                st.caption(f"{note.name}: {note.reason}")
