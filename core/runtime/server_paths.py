"""Which server folders a browser user of the app may name: the operator's policy, read from the
environment (pure Python; the dashboard applies it, the CLI, being the operator's own tool, does
not).

- ``GANLENS_SERVER_ROOTS``: the folders (``os.pathsep``-separated, ``:`` on Linux and macOS) under
  which a typed server path may lie. Unset or empty: every server-path input of the app is off.
- ``GANLENS_ALLOW_CACHE_DIR=1``: the sidebar "Cache folder" may be changed, and then only to a
  folder under one of the roots. Otherwise the cache folder is the operator's (``GANLENS_CACHE``
  or the platform default, see :mod:`core.runtime.cache`).

A typed path is resolved (``~`` expanded, relative to the working folder, symlinks followed) and
must then lie under a root, outside hidden folders (a name starting with ``.``) below that root,
and outside the system folders :data:`SYSTEM_FOLDERS` (unless the root itself is inside one). A refusal names the path as typed and says
the same thing whether or not it exists.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.runtime.env import env_flag

__all__ = [
    "ALLOW_CACHE_DIR_ENV",
    "DISABLED_NOTE",
    "OPERATOR_NOTE",
    "ROOTS_ENV",
    "SYSTEM_FOLDERS",
    "PathRefused",
    "ServerPaths",
    "is_system_folder",
]

ROOTS_ENV = "GANLENS_SERVER_ROOTS"
ALLOW_CACHE_DIR_ENV = "GANLENS_ALLOW_CACHE_DIR"
#: Folders never read for a browser user, nor descended into by a folder walk.
SYSTEM_FOLDERS: tuple[Path, ...] = tuple(Path(p) for p in ("/proc", "/sys", "/dev"))
#: The one line shown in place of a server-path input while the operator has not enabled them.
DISABLED_NOTE = "Reading folders on the server is switched off here; upload files instead."
#: How the operator switches server paths on (shown as help next to :data:`DISABLED_NOTE`).
OPERATOR_NOTE = (
    f"Whoever runs GAN Lens can allow folders users may read with {ROOTS_ENV} "
    "(e.g. `make run SERVER_ROOTS=~/data`); see SECURITY.md."
)


class PathRefused(ValueError):
    """A typed server path the operator's policy does not allow (the message names the path)."""


def is_system_folder(path: Path) -> bool:
    """True for a resolved path at or inside one of :data:`SYSTEM_FOLDERS` (POSIX only)."""
    return os.name == "posix" and any(path == s or path.is_relative_to(s) for s in SYSTEM_FOLDERS)


@dataclass(frozen=True)
class ServerPaths:
    """The operator's policy for server paths typed in the app (see the module docstring)."""

    roots: tuple[Path, ...] = ()
    cache_dir_editable: bool = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ServerPaths:
        """The policy the environment sets (read at each call, so an operator's change applies to
        the next page run)."""
        env = os.environ if environ is None else environ
        roots = tuple(
            Path(p).expanduser().resolve() for p in env.get(ROOTS_ENV, "").split(os.pathsep) if p.strip()
        )
        allow_cache = env_flag(ALLOW_CACHE_DIR_ENV, env)
        return cls(roots=roots, cache_dir_editable=allow_cache and bool(roots))

    @property
    def enabled(self) -> bool:
        """Whether browser users may type server paths at all."""
        return bool(self.roots)

    def check(self, path: str | os.PathLike) -> Path:
        """``path`` resolved, if the policy allows it; else :class:`PathRefused` naming it."""
        text = str(path).strip()
        if not self.enabled:
            raise PathRefused(f"{text}: server paths are off ({DISABLED_NOTE} {OPERATOR_NOTE})")
        resolved = Path(text).expanduser().resolve()
        for root in self.roots:
            if resolved == root or resolved.is_relative_to(root):
                below = resolved.relative_to(root).parts
                hidden = any(part.startswith(".") for part in below)
                system = is_system_folder(resolved) and not is_system_folder(root)
                if not hidden and not system:
                    return resolved
        raise PathRefused(
            f"{text}: not allowed; server paths must lie inside the folders the operator allows "
            f"({os.pathsep.join(str(r) for r in self.roots)}), outside hidden and system folders"
        )

    def allows(self, path: str | os.PathLike) -> bool:
        """Whether :meth:`check` accepts ``path``."""
        try:
            self.check(path)
        except PathRefused:
            return False
        return True
