"""``ganlens-app``: start the Streamlit app with this project's server settings, from any folder.

Streamlit reads ``.streamlit/config.toml`` from the *current* folder only, so ``streamlit run
/path/to/dashboard/app.py`` started elsewhere would forget, for one, that the app listens on
localhost. The launcher passes every option of the project's config file as a command-line flag
(flags win over any config file Streamlit finds), and listens on localhost unless the operator
passes ``--server.address``. Extra arguments go to ``streamlit run`` unchanged. ``python -m
dashboard.launch`` does the same as the console script.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "dashboard" / "app.py"
CONFIG = ROOT / ".streamlit" / "config.toml"


def config_flags(config: Path = CONFIG) -> list[str]:
    """The options of ``config`` as ``--section.key=value`` flags (none if the file is absent)."""
    if not config.is_file():
        return []
    flags = []
    for section, options in tomllib.loads(config.read_text(encoding="utf-8")).items():
        for key, value in options.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            flags.append(f"--{section}.{key}={text}")
    return flags


def streamlit_args(extra: list[str]) -> list[str]:
    """The full ``streamlit run`` argument list: project flags, then the caller's (which win)."""
    given = {a.split("=", 1)[0] for a in extra if a.startswith("--")}
    flags = [f for f in config_flags() if f.split("=", 1)[0] not in given]
    if "--server.address" not in given and not any(f.startswith("--server.address=") for f in flags):
        flags.append("--server.address=localhost")
    return ["run", str(APP), *flags, *extra]


def main(argv: list[str] | None = None) -> int:
    from streamlit.web import cli as stcli

    sys.argv = ["streamlit", *streamlit_args(list(sys.argv[1:] if argv is None else argv))]
    return stcli.main()


if __name__ == "__main__":
    sys.exit(main())
