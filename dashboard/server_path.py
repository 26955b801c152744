"""Server paths typed by a browser user: the one text box for them, and the check applied where a
typed path is used (the operator's policy, :mod:`core.runtime.server_paths`).

While the operator has named no allowed folders the box is not drawn: one line says how to enable
it, and :func:`server_path_input` gives ``""`` even if the session holds an older value. Where the
path is used, :func:`checked_path` resolves it and refuses (``PathRefused``, a ``ValueError`` whose
message names the path) what lies outside the allowed folders.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import streamlit as st

from core.runtime.server_paths import DISABLED_NOTE, OPERATOR_NOTE, PathRefused, ServerPaths

__all__ = ["PathRefused", "checked_path", "server_path_input", "server_policy"]


def server_policy() -> ServerPaths:
    """The operator's policy, read from the environment on each call."""
    return ServerPaths.from_env()


def checked_path(text: str | os.PathLike) -> Path:
    """``text`` resolved, if the operator's policy allows it; else :class:`PathRefused`."""
    return server_policy().check(text)


def server_path_input(
    label: str,
    *,
    key: str,
    help: str,
    placeholder: str = "",
    persist_state: Literal["page", "session"] | None = None,
) -> str:
    """A text box for a server path, or, with server paths off, one line saying how the operator
    turns them on (and ``""``). The typed text is returned as typed: check it with
    :func:`checked_path` where it is used. ``persist_state``: as Streamlit's widgets'
    (``"session"`` keeps the text when the user visits another page and comes back)."""
    policy = server_policy()
    if not policy.enabled:
        st.caption(f"{label}: {DISABLED_NOTE}", help=OPERATOR_NOTE)
        return ""
    roots = ", ".join(str(r) for r in policy.roots)
    return st.text_input(
        label,
        key=key,
        placeholder=placeholder,
        help=f"{help} Allowed: paths inside {roots}.",
        persist_state=persist_state,
    )
