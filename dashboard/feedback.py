"""How the pages tell a user that something went wrong: one red line, and the page goes on."""

from __future__ import annotations

import streamlit as st


def show_error(exc: BaseException, what: str = "") -> None:
    """Show a user error as a red box without stopping the rest of the page."""
    prefix = f"{what}: " if what else ""
    st.error(f"{prefix}{exc}")


def not_ready_reason(models_ready: bool, has_images: bool, verb: str) -> str | None:
    """Why a generator page's run button is disabled, in words that say what to do (``None``: it
    is not)."""
    missing = []
    if not models_ready:
        missing.append("a usable model above (the demo models work offline)")
    if not has_images:
        missing.append("at least one picture (upload one or click an example)")
    return f"To {verb}, choose " + " and ".join(missing) + "." if missing else None


def grey_out(key: str) -> None:
    """Style the container with ``key`` as out of date (greyed, not clickable-looking)."""
    st.html(f"<style>.st-key-{key} {{opacity: 0.45; filter: grayscale(1);}}</style>")


def changed_inputs(before: dict[str, object] | None, now: dict[str, object]) -> list[str]:
    """The names of the inputs (model, pictures, settings) that differ from those a result was
    made with (all of them when it was made with none recorded)."""
    if before is None:
        return list(now)
    return [name for name, value in now.items() if before.get(name) != value]
