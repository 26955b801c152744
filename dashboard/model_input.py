"""Choosing a generator on the Translate and Colorize pages: a model of the zoo (downloaded on
demand into the model cache), an uploaded weights file, or a file on this machine (typed, or
picked from a folder of models trained here, inside the cache folder). A typed path must lie
inside the folders the operator allows (:mod:`dashboard.server_path`); with none allowed, only the
list of models in the cache folder is offered.

One caching rule for loaded models, on both pages:

- a weights file on the server (zoo or path) is loaded once per (path, modification time,
  architecture, device) and shared by every session (``st.cache_resource``; sessions only read a
  loaded module);
- an uploaded weights file stays with the session that uploaded it: the loaded model is kept in
  that session's state (one per picker, keyed by the upload's id) and nothing is written to the
  server's disk.

Pages pass a ``load(source, label, arch, device)`` function (``source`` a path or the uploaded
bytes, ``label`` the user's file name for messages) and get ``(display name, loaded model)`` back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import streamlit as st

from core.models.demo.manifest import DemoEntry, demo_entries
from core.models.download import (
    CacheStatus,
    DownloadError,
    cache_path,
    cache_status,
    ensure_model,
    model_dir,
)
from core.models.registry import Family, architecture_names
from core.models.training.trained import trained_models
from core.models.zoo import ModelSpec, demo_models, list_models, resolve_url
from core.runtime.hashing import sha256_file
from dashboard.feedback import show_error
from dashboard.progress import StreamlitProgress
from dashboard.server_path import PathRefused, checked_path, server_path_input
from dashboard.settings import cache_dir, device_choice

Loader = Callable[[Path | bytes, str, str | None, str], Any]
SOURCES = ("Model zoo", "Upload a file", "A file on this machine", "Trained here")
AUTO = "auto-detect"
WEIGHT_TYPES = ["pth", "pt"]
#: Errors a bad weights file or an unreadable path can raise while loading (CheckpointError and
#: ImageError are ValueErrors); each is shown as one line and the page goes on.
LOAD_ERRORS = (ValueError, OSError, RuntimeError)
_log = logging.getLogger(__name__)


@st.cache_resource(max_entries=4, show_spinner="Loading model…")
def _load_server_file(
    family: str, path: str, mtime_ns: int, arch: str | None, device: str, label: str, _load: Loader
) -> Any:
    return _load(Path(path), label, arch, device)


def _failed(exc: BaseException, what: str, name: str) -> None:
    """One red line about a model that could not be used or downloaded; core's messages already
    start with the file's or model's name, others get "<what> <name>" in front."""
    show_error(exc, "" if str(exc).startswith(name) else f"{what} {name}")


def _load_file(
    family: Family, path: Path, arch: str | None, load: Loader, label: str | None = None
) -> Any | None:
    """A weights file on the server, loaded once for all sessions; ``label``: the name to show for
    it (default: its file name)."""
    try:
        return _load_server_file(
            family, str(path), path.stat().st_mtime_ns, arch, device_choice(), label or path.name, load
        )
    except LOAD_ERRORS as exc:
        _failed(exc, "Could not use", path.name)
        return None


def _load_upload(key: str, upload, arch: str | None, load: Loader) -> Any | None:
    # Streamlit gives every uploaded file its own id: no need to hash the bytes on every rerun
    ident = (upload.file_id, upload.size, arch, device_choice())
    slot = f"_{key}_uploaded_model"
    kept = st.session_state.get(slot)
    if kept is not None and kept[0] == ident:
        return kept[1]
    st.session_state.pop(slot, None)  # one uploaded model per picker: the old one is dropped first
    try:
        with st.spinner(f"Loading {upload.name}…"):
            loaded = load(upload.getvalue(), upload.name, arch, device_choice())
    except LOAD_ERRORS as exc:
        _failed(exc, "Could not use", upload.name)
        return None
    st.session_state[slot] = (ident, loaded, upload.name)
    return loaded


def _arch_choice(key: str, family: Family, choose_arch: bool) -> str | None:
    if not choose_arch:
        return None
    choice = st.selectbox(
        "Architecture",
        [AUTO, *architecture_names(family)],
        key=f"{key}_arch",
        persist_state="session",
        help="Leave on auto-detect unless you know the generator type of your file.",
    )
    return None if choice == AUTO else choice


@st.cache_data(show_spinner=False, max_entries=256)
def _sha256(path: str, inode: int, size: int, mtime_ns: int, ctime_ns: int) -> str:
    return sha256_file(path)


def _sha256_while_unchanged(path: Path) -> str:
    """A file's SHA-256, computed again only when its inode, size or times change (the zoo list
    is checked on every rerun)."""
    s = path.stat()
    return _sha256(str(path), s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns)


def _cache_status(spec: ModelSpec) -> CacheStatus:
    """The checked cache state of ``spec``."""
    return cache_status(spec, cache_dir(), hasher=_sha256_while_unchanged)


def _offline_advice(spec: ModelSpec, exc: DownloadError) -> None:
    """What a user of an offline server can do, in plain words: fetch the file elsewhere and upload
    it; the administrator's part (where the file goes on the server) under an expander. The raw
    network error goes to the server log only."""
    url = resolve_url(spec)
    host = urlsplit(url).hostname or url
    _log.warning("download of %s failed: %s", spec.name, exc)
    st.error(
        f"{spec.name} could not be downloaded: this server cannot reach {host} (no internet connection)."
    )
    st.markdown(
        f"**To use it anyway:** on a computer with internet, download [{spec.url_filename}]({url}), then "
        "choose **Upload a file** above and upload it. It is used for your session only."
    )
    with st.expander("For the administrator of this server"):
        st.markdown(
            f"Save the file as `{cache_path(spec, cache_dir())}` on the server: it then shows as ✅ "
            f"for every user. Or point `GANLENS_MODEL_BASE_URL` at a mirror that holds `{spec.url_filename}`."
        )


def _download(spec: ModelSpec) -> None:
    try:
        ensure_model(spec, cache_dir=cache_dir(), progress=StreamlitProgress(st.container()))
    except DownloadError as exc:
        if exc.unreachable:
            _offline_advice(spec, exc)
        else:
            _failed(exc, "Could not download", spec.name)
        return
    except (ValueError, OSError) as exc:
        _failed(exc, "Could not download", spec.name)
        return
    st.rerun()


@st.cache_data(show_spinner=False)
def demo_entry(name: str) -> DemoEntry | None:
    """The manifest entry of a shipped demo model (what it was trained on, how, its checks); the
    manifest is read once, not on every rerun."""
    return next((e for e in demo_entries() if e.name == name), None)


def native_resolution(key: str) -> int | None:
    """The image size the model chosen in picker ``key`` was trained at, when known (shipped
    demos and models trained here; ``None`` for the zoo's and for files)."""
    return st.session_state.get(f"_{key}_resolution")


def _zoo_icon(status: CacheStatus) -> str:
    return "✅" if status.usable else ("❌" if status.state == "corrupt" else "⬇️")


def _zoo(key: str, family: Family, load: Loader) -> tuple[str, Any] | None:
    demos = demo_models(family)
    zoo = list_models(family)
    specs = [*demos, *zoo]  # the shipped demos first: the first usable model is preselected
    states = {s.name: _cache_status(s) for s in specs}
    n_cached = sum(states[s.name].usable for s in zoo)
    st.caption(
        (f"{len(demos)} demo model(s) ship with GAN Lens and work offline; " if demos else "")
        + f"{n_cached} of {len(zoo)} downloadable models are on this machine (`{model_dir(cache_dir())}`)."
    )
    default = next((i for i, s in enumerate(specs) if states[s.name].usable), 0)
    spec = st.selectbox(
        "Model",
        specs,
        index=default,
        key=f"{key}_zoo",
        persist_state="session",
        format_func=lambda s: (
            f"{_zoo_icon(states[s.name])} {s.name} — {s.description}"
            + ("" if s.secure else " (plain HTTP: its host has no HTTPS)")
        ),
        help="✅ = on this machine (works offline), ⬇️ = needs a one-time download, "
        "❌ = the cached file is corrupt and must be downloaded again. Demo models are small models "
        "trained by GAN Lens itself on data that ships with it.",
    )
    st.session_state[f"_{key}_resolution"] = spec.resolution
    status = states[spec.name]
    if status.state == "corrupt":
        st.error(
            f"{spec.name}: the cached file `{status.path}` is corrupt ({status.problem}). "
            "Download it again to replace it."
        )
        if st.button(
            f"Re-download {spec.name}",
            key=f"{key}_download",
            help="Fetch the official weights again; the corrupt file is replaced once the new one is verified.",
        ):
            _download(spec)
        return None
    if not status.usable:
        st.info(
            f"{spec.name} is not in the model cache yet. Download it once (needs internet); after "
            "that it works offline."
        )
        if st.button(
            f"Download {spec.name}",
            key=f"{key}_download",
            help="Fetch the official weights into the model cache, with progress.",
        ):
            _download(spec)
        return None
    path = status.path
    assert path is not None
    loaded = _load_file(family, path, spec.arch, load)
    if loaded is None:
        return None
    demo = demo_entry(spec.name) if spec.bundled is not None else None
    if demo is not None:
        st.caption(
            f"Demo model shipped with GAN Lens ({loaded.arch}, {demo.resolution} px): trained by GAN Lens "
            f"on {demo.trained_on}, {demo.steps} steps. Expect it to work on pictures like those, not on "
            "your holiday photos."
        )
    else:
        st.caption(f"`{path.name}`: {loaded.arch}")
    return spec.name, loaded


def _upload(
    key: str, family: Family, load: Loader, choose_arch: bool, help_text: str
) -> tuple[str, Any] | None:
    slot = f"_{key}_uploaded_model"
    upload = st.file_uploader(
        "Weights file (.pth, .pt)",
        type=WEIGHT_TYPES,
        key=f"{key}_upload",
        # removing the file (or uploading another) drops the kept model; visiting another page,
        # which empties the uploader without a change event, keeps it
        on_change=st.session_state.pop,
        args=(slot, None),
        help=f"{help_text} Loaded as weights only and kept for this session only.",
    )
    arch = _arch_choice(key, family, choose_arch)
    if upload is None:
        kept = st.session_state.get(slot)
        if kept is not None:
            name, loaded = kept[2], kept[1]
            st.caption(
                f"{name}: {loaded.arch} (uploaded earlier in this session; remove it by uploading another)"
            )
            return Path(name).stem, loaded
        st.info("No weights file uploaded yet.")
        return None
    loaded = _load_upload(key, upload, arch, load)
    if loaded is None:
        return None
    st.caption(f"{upload.name}: {loaded.arch}")
    return Path(upload.name).stem, loaded


def _server_path(
    key: str, family: Family, load: Loader, choose_arch: bool, local_dir: Path | None, local_hint: str
) -> tuple[str, Any] | None:
    typed = server_path_input(
        "Weights file path",
        key=f"{key}_path",
        persist_state="session",
        help="Full path of a .pth/.pt file on the machine running GAN Lens.",
    )
    found = (
        sorted(p for p in local_dir.glob("*.pt*") if p.suffix in (".pt", ".pth"))
        if local_dir is not None and local_dir.is_dir()
        else []
    )
    picked = None
    if found:
        picked = st.selectbox(
            "…or one trained on this machine",
            ["(none)", *(p.name for p in found)],
            key=f"{key}_found",
            persist_state="session",
            help=f"Models saved under {local_dir}.",
        )
    arch = _arch_choice(key, family, choose_arch)
    if typed.strip():
        try:
            path = checked_path(typed)
        except PathRefused as exc:
            st.error(str(exc))
            return None
        if not path.is_file():
            st.error(f"{typed.strip()}: no such weights file")
            return None
    elif picked and picked != "(none)":
        path = local_dir / picked  # type: ignore[operator]
    else:
        st.info(f"No weights file chosen yet. {local_hint}".strip())
        return None
    loaded = _load_file(family, path, arch, load)
    return None if loaded is None else (path.stem, loaded)


def _trained(key: str, family: Family, load: Loader, runs_dir: Path) -> tuple[str, Any] | None:
    # newest run first (its config.json is written when it starts): a run just started is preselected
    models = sorted(
        trained_models(runs_dir, family),
        key=lambda m: (m.run_dir / "config.json").stat().st_mtime,
        reverse=True,
    )
    if not models:
        st.info("Nothing trained here yet: train one with “Train your own” further down this page.")
        return None
    model = st.selectbox(
        "Trained model",
        models,
        key=f"{key}_trained",
        persist_state="session",
        format_func=lambda m: m.name + (f" (still training: {m.state})" if m.state == "running" else ""),
        help=f"Models exported by the runs in the runs folder ({runs_dir}); a run still training "
        "offers its latest weights.",
    )
    st.session_state[f"_{key}_resolution"] = model.resolution
    loaded = _load_file(family, model.path, None, load, label=f"{model.name}.pt")
    if loaded is None:
        return None
    size = f", trained at {model.resolution} px" if model.resolution else ""
    st.caption(f"`{model.run_dir.name}/{model.path.name}`: {loaded.arch}{size}")
    return model.name, loaded


def pick_model(
    key: str,
    title: str,
    *,
    family: Family,
    load: Loader,
    choose_arch: bool = True,
    local_dir: Path | None = None,
    local_hint: str = "",
    upload_help: str = "",
    runs_dir: Path | None = None,
) -> tuple[str, Any] | None:
    """The model chooser (see the module docstring); ``(display name, loaded model)`` once a model
    is ready, else ``None`` with a line saying what is missing. ``local_dir``: a folder of models
    trained on this machine, offered as a list; ``local_hint``: how to get one there;
    ``runs_dir``: a runs folder whose trained models are offered as "Trained here"."""
    st.markdown(f"**{title}**")
    source = st.radio(
        "Source",
        SOURCES if runs_dir is not None else SOURCES[:3],
        horizontal=True,
        key=f"{key}_source",
        persist_state="session",
        help="A pretrained or shipped demo model, an uploaded weights file, a file on this machine"
        + (", or a model trained on this page." if runs_dir is not None else "."),
    )
    st.session_state[f"_{key}_resolution"] = None
    if source == SOURCES[0]:
        return _zoo(key, family, load)
    if source == SOURCES[1]:
        return _upload(key, family, load, choose_arch, upload_help)
    if source == SOURCES[3] and runs_dir is not None:
        return _trained(key, family, load, runs_dir)
    return _server_path(key, family, load, choose_arch, local_dir, local_hint)


def models_on_this_machine(
    family: Family, local_dir: Path | None = None, runs_dir: Path | None = None
) -> None:
    """An expander listing the shipped demo models, the zoo models already downloaded, the models
    in ``local_dir`` and those trained in ``runs_dir``, each with where it comes from."""
    rows = []
    for spec in [*demo_models(family), *list_models(family)]:
        status = _cache_status(spec)
        path = status.path
        if path is not None and path.is_file():
            if spec.bundled is not None:
                origin = "shipped with GAN Lens"
            else:
                origin = "downloaded" if status.usable else "downloaded, corrupt: download it again"
            rows.append({"model": spec.name, "from": origin, "file": str(path), "MB": _mb(path)})
    if local_dir is not None and local_dir.is_dir():
        for p in sorted(local_dir.glob("*.pt*")):
            rows.append({"model": p.stem, "from": "saved in the cache folder", "file": str(p), "MB": _mb(p)})
    if runs_dir is not None:
        for m in trained_models(runs_dir, family):
            rows.append({"model": m.name, "from": "trained here", "file": str(m.path), "MB": _mb(m.path)})
    with st.expander(f"Models on this machine ({len(rows)})"):
        if rows:
            st.dataframe(rows, hide_index=True)
        else:
            st.info(f"No model weights in {cache_dir()} yet.")


def _mb(path: Path) -> float:
    return round(path.stat().st_size / 2**20, 2)


def pick_models(key: str, choose: Callable[[str, str], Any | None]) -> tuple[list[Any], bool]:
    """The page's model (left) and, when "Compare with a second model" is on, a second one (right).
    ``choose(key, title)`` is the page's :func:`pick_model` call. Returns the models that are ready
    and whether every chosen slot is ready (a second model is wanted and missing: False)."""
    left, right = st.columns(2)
    with left:
        first = choose(f"{key}_a", "Model")
    compare = st.toggle(
        "Compare with a second model",
        key=f"{key}_compare",
        persist_state="session",
        help="Run a second model on the same images and show both results side by side.",
    )
    second = None
    if compare:
        with right:
            second = choose(f"{key}_b", "Second model")
    picked = [m for m in (first, second) if m is not None]
    return picked, first is not None and (not compare or second is not None)
