"""Who is asking: the id of the browser session running the page, and whether the operator lets
sessions share their training jobs.

Each browser tab is one Streamlit session; its id (from Streamlit's script-run context) is the
owner recorded with the jobs it starts. Core never asks for it: pages pass it down as an opaque
string. A reload of the tab starts a new session, which no longer owns the old one's jobs (their
run folders stay viewable as runs).
"""

from __future__ import annotations

from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.runtime.env import env_flag

#: Set to 1 (or true/yes/on) to let every session see and stop every training job.
SHARE_JOBS_ENV = "GANLENS_SHARE_JOBS"


def session_owner() -> str:
    """The id of the session running this script (``"local"`` outside a Streamlit run)."""
    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else "local"


def jobs_shared() -> bool:
    """Whether the operator shares training jobs between sessions (``GANLENS_SHARE_JOBS``)."""
    return env_flag(SHARE_JOBS_ENV)
