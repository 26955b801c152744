"""On-demand, resumable, checksum-verified model downloads into the GAN Lens model cache.

Cache layout: ``<cache root>/models/<name>.pth``. The cache root is the ``cache_dir`` argument
when given, else :func:`core.runtime.cache.cache_root` (``$GANLENS_CACHE``, the platform's cache
folder such as ``$XDG_CACHE_HOME/ganlens``, else ``~/.cache/ganlens``). A model already in the cache is used without any network
access; a ``.pth`` saved there by hand (under the catalog name, or under the file name of the
official URL) counts as cached.

A download (stdlib ``urllib``, no extra dependency) streams into ``<name>.pth.part`` next to the
final file. If a ``.part`` is already there (an interrupted download), only the missing bytes
are requested with an HTTP ``Range: bytes=<size>-`` header and appended; a server that ignores
the range (status 200) makes it start over. When the transfer is complete the file is checked —
its size against the announced length, its first bytes for a PyTorch file (zip or legacy pickle,
so an HTML error page is caught) and its SHA-256 against the catalog digest or digest prefix
(``torch.hub`` convention: the ``-xxxxxxxx`` in a file name is the first 8 hex digits) — and only
then atomically renamed into place (``os.replace``). A failed check deletes the ``.part``, so no
bad file is left in the cache. Every failure raises :class:`DownloadError` naming the URL, the
reason and the exact path where the file can be saved by hand.

Progress is reported through :mod:`core.runtime.progress` in bytes.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import urllib.error
import urllib.request
from pathlib import Path

from core.models.zoo import ModelSpec, get_spec, list_models, resolve_url
from core.runtime.cache import cache_subdir
from core.runtime.hashing import CHUNK_SIZE, sha256_file
from core.runtime.progress import Progress, null_progress

USER_AGENT = "ganlens-model-download/1.0"
DEFAULT_TIMEOUT = 30.0
_TORCH_MAGICS = (b"PK\x03\x04", b"\x80")  # torch zip archive; legacy torch.save pickle (PROTO opcode)
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


class DownloadError(RuntimeError):
    """A model could not be downloaded or failed verification; the message says which URL, why,
    and where the file can be placed by hand."""


def model_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The folder holding downloaded models: ``<cache root>/models``."""
    return cache_subdir("models", cache_dir)


def cache_path(model: str | ModelSpec, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where ``model`` is (or will be) stored in the cache, whether or not it is there yet."""
    return model_dir(cache_dir) / get_spec(model).filename


def cached_path(model: str | ModelSpec, cache_dir: str | os.PathLike | None = None) -> Path | None:
    """The cached weights file of ``model`` (catalog name or official file name), or ``None``."""
    spec = get_spec(model)
    folder = model_dir(cache_dir)
    for candidate in (folder / spec.filename, folder / spec.url_filename):
        if candidate.is_file() and candidate.stat().st_size > 0:
            return candidate
    return None


def is_cached(model: str | ModelSpec, cache_dir: str | os.PathLike | None = None) -> bool:
    return cached_path(model, cache_dir) is not None


def cached_models(cache_dir: str | os.PathLike | None = None, family: str | None = None) -> list[ModelSpec]:
    """Catalog entries whose weights are in the cache."""
    return [s for s in list_models(family) if cached_path(s, cache_dir) is not None]


def remove_cached(model: str | ModelSpec, cache_dir: str | os.PathLike | None = None) -> bool:
    """Delete a model's cached file and any partial download; ``True`` if something was removed."""
    spec = get_spec(model)
    folder = model_dir(cache_dir)
    removed = False
    for p in (folder / spec.filename, folder / spec.url_filename, folder / (spec.filename + ".part")):
        if p.is_file():
            p.unlink()
            removed = True
    return removed


def verify_checksum(path: str | os.PathLike, expected: str | None) -> str:
    """Check ``path`` against a full SHA-256 hex digest or a hex prefix of one (``None``: no
    check). Returns the actual digest; raises :class:`DownloadError` on a mismatch."""
    actual = sha256_file(path)
    if expected:
        want = expected.strip().lower()
        if not actual.startswith(want):
            kind = "SHA-256" if len(want) == 64 else f"SHA-256 prefix ({len(want)} hex digits)"
            raise DownloadError(
                f"checksum mismatch for {Path(path).name}: expected {kind} {want}, got {actual[: len(want)]} "
                f"(full {actual}); the file is corrupt or not the expected model"
            )
    return actual


def _check_torch_magic(path: Path) -> None:
    with open(path, "rb") as f:
        head = f.read(16)
    if not any(head.startswith(m) for m in _TORCH_MAGICS):
        preview = head.decode("latin-1").encode("unicode_escape").decode("ascii")
        raise DownloadError(
            f"the server sent something that is not a PyTorch weights file (it starts with {preview!r})"
        )


def _manual_hint(dest: Path, url: str) -> str:
    return f"To install it by hand, download {url} on a machine with internet access and save it as {dest}"


def _open(url: str, start: int, timeout: float):
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if start > 0:
        headers["Range"] = f"bytes={start}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        r = exc.reason
        return f"{type(r).__name__}: {r}" if isinstance(r, BaseException) else str(r)
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "the connection timed out"
    return f"{type(exc).__name__}: {exc}"


def _finalize(part: Path, dest: Path, expected_sha256: str | None) -> Path:
    """Verify a complete ``.part`` and move it into place; delete it if it is bad."""
    try:
        _check_torch_magic(part)
        verify_checksum(part, expected_sha256)
    except DownloadError:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, dest)
    return dest


def download_file(
    url: str,
    dest: str | os.PathLike,
    *,
    expected_sha256: str | None = None,
    progress: Progress = null_progress,
    stage: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    chunk_size: int = CHUNK_SIZE,
) -> Path:
    """Download ``url`` to ``dest`` through ``dest.part`` (resumed with a Range request if it
    exists), verify it and rename it into place. Raises :class:`DownloadError`."""
    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    label = stage or f"Downloading {dest.name}"
    hint = _manual_hint(dest, url)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the model cache folder {dest.parent}: {exc}") from None

    for attempt in range(2):  # a second attempt only after a stale or unusable .part was dropped
        start = part.stat().st_size if part.is_file() else 0
        try:
            resp = _open(url, start, timeout)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 416 and start > 0:
                # Range not satisfiable: the .part may already hold the whole file.
                try:
                    return _finalize(part, dest, expected_sha256)
                except DownloadError:
                    if attempt == 0:
                        continue  # the bad .part is gone: start over
                    raise
            raise DownloadError(f"could not download {url}: {_reason(exc)}. {hint}") from None
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            raise DownloadError(f"could not download {url}: {_reason(exc)}. {hint}") from None

        with resp:
            status = getattr(resp, "status", 200)
            length_header = resp.headers.get("Content-Length")
            length = int(length_header) if length_header and length_header.isdigit() else None
            if start > 0 and status == 206:
                m = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
                if m is None or int(m.group(1)) != start:
                    part.unlink(missing_ok=True)  # the server answered another range: start over
                    if attempt == 0:
                        continue
                    raise DownloadError(
                        f"could not download {url}: the server answered the wrong byte "
                        f"range when resuming. {hint}"
                    )
                total = (
                    int(m.group(3)) if m.group(3) != "*" else (start + length if length is not None else None)
                )
                mode = "ab"
            else:
                start = 0  # a fresh download (or the server ignored the Range request)
                total = length
                mode = "wb"
            done = start
            progress(label, done, total)
            try:
                with open(part, mode) as f:
                    while chunk := resp.read(chunk_size):
                        f.write(chunk)
                        done += len(chunk)
                        progress(label, done, total)
            except (OSError, ValueError, http.client.HTTPException) as exc:
                kept = part.stat().st_size if part.is_file() else 0
                raise DownloadError(
                    f"download of {url} was interrupted after {kept} bytes ({_reason(exc)}); "
                    f"run it again to resume from {part}. {hint}"
                ) from None
        size = part.stat().st_size
        if total is not None and size != total:
            raise DownloadError(
                f"download of {url} is incomplete: {size} of {total} bytes; run it again to resume "
                f"from {part}. {hint}"
            )
        if size == 0:
            part.unlink(missing_ok=True)
            raise DownloadError(f"could not download {url}: the server sent an empty file. {hint}")
        try:
            return _finalize(part, dest, expected_sha256)
        except DownloadError as exc:
            raise DownloadError(
                f"download of {url} failed verification: {exc}. Nothing was saved. {hint}"
            ) from None
    raise DownloadError(f"could not download {url}. {hint}")  # pragma: no cover - loop always returns


def ensure_model(
    model: str | ModelSpec,
    *,
    cache_dir: str | os.PathLike | None = None,
    url: str | None = None,
    progress: Progress = null_progress,
    timeout: float = DEFAULT_TIMEOUT,
) -> Path:
    """The cached weights file of ``model``, downloading it first if it is not cached.

    ``url`` overrides where it is fetched from (default: :func:`core.models.zoo.resolve_url`,
    which honours ``GANLENS_MODEL_BASE_URL``). No network access happens on a cache hit.
    """
    spec = get_spec(model)
    found = cached_path(spec, cache_dir)
    if found is not None:
        return found
    source = url or resolve_url(spec)
    dest = cache_path(spec, cache_dir)
    try:
        return download_file(
            source,
            dest,
            expected_sha256=spec.sha256,
            progress=progress,
            stage=f"Downloading {spec.name}",
            timeout=timeout,
        )
    except DownloadError as exc:
        raise DownloadError(f"{spec.name}: {exc}") from None
