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

Only one download of a file runs at a time, across threads and processes: the downloader holds
an exclusive ``fcntl.flock`` on ``<name>.pth.lock`` next to the ``.part`` (released by the kernel
if the process dies, so a lock is never stale; the holder deletes the lock file before releasing
it, and a waiter that locked a deleted lock file tries again). A second downloader waits up to
``lock_timeout`` seconds, then fails with "being downloaded by another process"; after the wait it
finds the model installed and downloads nothing. An HTTP 416 answer to a resume is trusted only if
the server's ``Content-Range: bytes */<size>`` equals the ``.part``'s size; any other ``.part``
(longer, shorter, or no announced size) is discarded and the download starts over.

Recorded hashes: at install the file's full SHA-256 is written next to it as
``<name>.pth.sha256`` (``sha256sum`` format). A cached file is used only after it is checked
(:func:`cache_status`): its first bytes, the catalog digest or prefix, and the sidecar hash. A
file that fails is reported as ``corrupt`` (never as cached) and is replaced by the next
:func:`ensure_model`; a file placed by hand for a model without a catalog digest and without a
sidecar is ``unverified`` (usable, nothing to check it against).

Shipped demo models (``ModelSpec.bundled``, :mod:`core.models.demo`) are never downloaded and never
copied into the cache: :func:`cache_status` checks the shipped file itself against its manifest
SHA-256 (state ``shipped``), :func:`ensure_model` returns it without any network access, and
:func:`remove_cached` never deletes it. A missing or damaged shipped file says how to rebuild it.

Progress is reported through :mod:`core.runtime.progress` in bytes.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: downloads are not locked there
    fcntl = None  # type: ignore[assignment]

from core.models.zoo import ModelSpec, get_spec, list_models, resolve_url
from core.runtime.atomic import atomic_path
from core.runtime.cache import cache_subdir
from core.runtime.hashing import CHUNK_SIZE, sha256_file
from core.runtime.progress import Progress, null_progress

USER_AGENT = "ganlens-model-download/1.0"
DEFAULT_TIMEOUT = 30.0
#: How long a second downloader of the same file waits for the first one (seconds).
DEFAULT_LOCK_TIMEOUT = 600.0
_LOCK_POLL_S = 0.1
_TORCH_MAGICS = (b"PK\x03\x04", b"\x80")  # torch zip archive; legacy torch.save pickle (PROTO opcode)
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class DownloadError(RuntimeError):
    """A model could not be downloaded or failed verification; the message says which URL, why,
    and where the file can be placed by hand.

    ``unreachable`` is true when no connection to the host could be made at all (no network,
    name not resolved, refused, timed out): the case of an offline machine, for which front ends
    word their own advice (download elsewhere, then upload).
    """

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable

    def prefixed(self, prefix: str) -> DownloadError:
        """The same error with ``prefix: `` in front of its message."""
        return DownloadError(f"{prefix}: {self}", unreachable=self.unreachable)


def model_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The folder holding downloaded models: ``<cache root>/models``."""
    return cache_subdir("models", cache_dir)


def cache_path(model: str | ModelSpec, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where ``model`` is (or will be) stored in the cache, whether or not it is there yet; a
    shipped demo model's own file."""
    spec = get_spec(model)
    return spec.bundled if spec.bundled is not None else model_dir(cache_dir) / spec.filename


CacheState = Literal["missing", "verified", "unverified", "corrupt", "shipped"]
_STATE_LABELS = {
    "shipped": "shipped with GAN Lens",
    "verified": "cached",
    "unverified": "cached (no recorded hash)",
    "corrupt": "corrupt - re-download",
    "missing": "-",
}


@dataclass(frozen=True)
class CacheStatus:
    """What the model cache holds for one model: ``state`` is ``missing``, ``verified`` (checked
    against the catalog digest and/or the sidecar hash), ``unverified`` (a hand-placed file with
    nothing to check it against), ``corrupt`` (``problem`` says why) or, for a demo model,
    ``shipped`` (its file inside the package, checked against the manifest digest); ``path`` is
    the file found (the corrupt one for ``corrupt``)."""

    name: str
    state: CacheState
    path: Path | None = None
    problem: str = ""

    @property
    def usable(self) -> bool:
        return self.state in ("verified", "unverified", "shipped")

    @property
    def label(self) -> str:
        """The state as ``models list`` and the page show it."""
        return _STATE_LABELS[self.state]


def sidecar_path(path: str | os.PathLike) -> Path:
    """The recorded-hash file of a cached model: ``<file>.sha256``."""
    path = Path(path)
    return path.with_name(path.name + ".sha256")


def _write_sidecar(path: Path, digest: str) -> None:
    with atomic_path(sidecar_path(path)) as tmp:
        tmp.write_text(f"{digest}  {path.name}\n", encoding="ascii")


def _read_sidecar(path: Path) -> str | None:
    """The SHA-256 recorded for ``path`` (``None`` when there is no sidecar); ``ValueError`` when the
    sidecar is unreadable or malformed."""
    side = sidecar_path(path)
    if not side.exists():
        return None
    try:
        text = side.read_text(encoding="ascii", errors="strict")
    except (OSError, UnicodeError) as exc:
        raise ValueError(f"its recorded hash {side.name} cannot be read ({exc})") from None
    digest = text.split()[0].lower() if text.split() else ""
    if not _HEX64.match(digest):
        raise ValueError(f"its recorded hash {side.name} is not a SHA-256 digest")
    return digest


def check_cached_file(
    path: str | os.PathLike, expected: str | None, *, hasher: Callable[[Path], str] = sha256_file
) -> CacheStatus:
    """Check one cached weights file: not empty, starts like a PyTorch file, matches the catalog
    digest or prefix ``expected`` and its sidecar hash. ``hasher``: the file's SHA-256 (the app
    passes one that remembers the digest of a file whose inode, size and times are unchanged)."""
    path = Path(path)
    name = path.name

    def corrupt(problem: str) -> CacheStatus:
        return CacheStatus(name, "corrupt", path, problem)

    try:
        if path.stat().st_size == 0:
            return corrupt("the file is empty")
        _check_torch_magic(path, "it is something")
        actual = hasher(path)
        recorded = _read_sidecar(path)
    except DownloadError as exc:
        return corrupt(str(exc))
    except (OSError, ValueError) as exc:
        return corrupt(str(exc))
    if expected:
        want = expected.strip().lower()
        if not actual.startswith(want):
            return corrupt(f"its SHA-256 {actual[: len(want)]}… does not match the catalog's {want}")
    if recorded is not None and recorded != actual:
        return corrupt(f"its SHA-256 {actual} differs from the one recorded at download ({recorded})")
    return CacheStatus(name, "verified" if (expected or recorded) else "unverified", path)


def cache_status(
    model: str | ModelSpec,
    cache_dir: str | os.PathLike | None = None,
    *,
    hasher: Callable[[Path], str] = sha256_file,
) -> CacheStatus:
    """The checked state of ``model`` in the cache (catalog name first, then the official file
    name): a usable file if there is one, else the first corrupt one, else ``missing``. A shipped
    demo model is its own file, ``shipped`` when it matches its manifest digest."""
    spec = get_spec(model)
    if spec.bundled is not None:
        return _shipped_status(spec, hasher)
    folder = model_dir(cache_dir)
    bad: CacheStatus | None = None
    for candidate in (folder / spec.filename, folder / spec.url_filename):
        if not candidate.is_file():
            continue
        status = check_cached_file(candidate, spec.sha256, hasher=hasher)
        if status.usable:
            return CacheStatus(spec.name, status.state, candidate)
        bad = bad or CacheStatus(spec.name, "corrupt", candidate, status.problem)
    return bad or CacheStatus(spec.name, "missing")


def rebuild_hint(spec: ModelSpec) -> str:
    """How to get a shipped demo model's file back."""
    return f"rebuild the demo models with `make demo-models` (writes {spec.bundled})"


def _shipped_status(spec: ModelSpec, hasher: Callable[[Path], str]) -> CacheStatus:
    path = spec.bundled
    assert path is not None
    if not path.is_file():
        return CacheStatus(
            spec.name, "missing", path, f"the shipped file {path} is missing; {rebuild_hint(spec)}"
        )
    status = check_cached_file(path, spec.sha256, hasher=hasher)
    if not status.usable:
        return CacheStatus(spec.name, "corrupt", path, f"{status.problem}; {rebuild_hint(spec)}")
    return CacheStatus(spec.name, "shipped", path)


def cached_path(model: str | ModelSpec, cache_dir: str | os.PathLike | None = None) -> Path | None:
    """The checked cached weights file of ``model`` (catalog name or official file name), or
    ``None`` when there is none or it is corrupt (see :func:`cache_status`)."""
    status = cache_status(model, cache_dir)
    return status.path if status.usable else None


def is_cached(model: str | ModelSpec, cache_dir: str | os.PathLike | None = None) -> bool:
    return cached_path(model, cache_dir) is not None


def cached_models(cache_dir: str | os.PathLike | None = None, family: str | None = None) -> list[ModelSpec]:
    """Catalog entries whose weights are in the cache and pass their check."""
    return [s for s in list_models(family) if cached_path(s, cache_dir) is not None]


def require_cached(model: str | ModelSpec, cache_dir: str | os.PathLike | None = None) -> Path:
    """The checked cached file of ``model`` without downloading: ``FileNotFoundError`` when it is
    not cached, :class:`DownloadError` (saying how to re-download) when it is corrupt."""
    spec = get_spec(model)
    status = cache_status(spec, cache_dir)
    if status.usable:
        return status.path  # type: ignore[return-value]
    if spec.is_demo:
        raise DownloadError(f"{spec.name}: {status.problem}")
    if status.state == "corrupt":
        raise DownloadError(
            f"{spec.name}: the cached file {status.path} is corrupt ({status.problem}); re-download it "
            f"with `python -m core models download {spec.name}`"
        )
    raise FileNotFoundError(f"{spec.name} is not in the model cache ({cache_path(spec, cache_dir)})")


def remove_cached(model: str | ModelSpec, cache_dir: str | os.PathLike | None = None) -> bool:
    """Delete a model's cached file (and its recorded hash) and any partial download; ``True`` if
    something was removed. A shipped demo model is never removed."""
    spec = get_spec(model)
    if spec.is_demo:
        return False
    folder = model_dir(cache_dir)
    removed = False
    for name in (spec.filename, spec.url_filename):
        for p in (folder / name, sidecar_path(folder / name), folder / (name + ".part")):
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


def _check_torch_magic(path: Path, subject: str = "the server sent something") -> None:
    with open(path, "rb") as f:
        head = f.read(16)
    if not any(head.startswith(m) for m in _TORCH_MAGICS):
        preview = head.decode("latin-1").encode("unicode_escape").decode("ascii")
        raise DownloadError(f"{subject} that is not a PyTorch weights file (it starts with {preview!r})")


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


def _unreachable(exc: BaseException) -> bool:
    """Whether opening a URL failed before any answer came: DNS, refused, unreachable, timeout."""
    if isinstance(exc, urllib.error.HTTPError):
        return False
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    # a TLS/certificate failure is an answer, just not a trustworthy one: not "offline"
    return isinstance(reason, (OSError, TimeoutError)) and not isinstance(reason, ssl.SSLError)


def _finalize(part: Path, dest: Path, expected_sha256: str | None) -> Path:
    """Verify a complete ``.part``, record its SHA-256 next to ``dest`` and move it into place;
    delete it if it is bad."""
    try:
        _check_torch_magic(part)
        digest = verify_checksum(part, expected_sha256)
    except DownloadError:
        part.unlink(missing_ok=True)
        raise
    _write_sidecar(dest, digest)
    os.replace(part, dest)
    return dest


@contextmanager
def download_lock(
    dest: str | os.PathLike,
    *,
    timeout: float = DEFAULT_LOCK_TIMEOUT,
    progress: Progress = null_progress,
) -> Iterator[None]:
    """Hold the exclusive download lock of ``dest`` (``<dest>.lock``, ``fcntl.flock``) for the
    block; waits up to ``timeout`` seconds for another holder (thread or process), reporting a
    "Waiting" stage once, then raises :class:`DownloadError`."""
    dest = Path(dest)
    lock = dest.with_name(dest.name + ".lock")
    if fcntl is None:  # pragma: no cover - no flock on this platform
        yield
        return
    deadline = time.monotonic() + timeout
    waiting = False
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise DownloadError(f"cannot create the download lock {lock}: {exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                raise DownloadError(
                    f"{dest.name} is being downloaded by another process (lock file {lock}); "
                    "try again when that download has finished"
                ) from None
            if not waiting:
                waiting = True
                progress(f"Waiting: {dest.name} is being downloaded by another process", 0, None)
            time.sleep(_LOCK_POLL_S)
            continue
        try:  # the previous holder may have deleted the file we locked: lock the current one
            current = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            current = False
        if current:
            break
        os.close(fd)
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)  # while still holding it, so no one locks a deleted file unseen
        os.close(fd)


def download_file(
    url: str,
    dest: str | os.PathLike,
    *,
    expected_sha256: str | None = None,
    progress: Progress = null_progress,
    stage: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    chunk_size: int = CHUNK_SIZE,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> Path:
    """Download ``url`` to ``dest`` through ``dest.part`` (resumed with a Range request if it
    exists), verify it and rename it into place, holding ``dest``'s download lock throughout.
    Raises :class:`DownloadError`."""
    dest = Path(dest)
    _make_folder(dest)
    with download_lock(dest, timeout=lock_timeout, progress=progress):
        return _download_locked(url, dest, expected_sha256, progress, stage, timeout, chunk_size)


def _make_folder(dest: Path) -> None:
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create the model cache folder {dest.parent}: {exc}") from None


def _unsatisfied_total(exc: urllib.error.HTTPError) -> int | None:
    """The full size a 416 answer announces (``Content-Range: bytes */<size>``), if any."""
    m = _UNSATISFIED_RANGE.match(exc.headers.get("Content-Range", "") if exc.headers is not None else "")
    return int(m.group(1)) if m else None


def _download_locked(
    url: str,
    dest: Path,
    expected_sha256: str | None,
    progress: Progress,
    stage: str | None,
    timeout: float,
    chunk_size: int,
) -> Path:
    part = dest.with_name(dest.name + ".part")
    label = stage or f"Downloading {dest.name}"
    hint = _manual_hint(dest, url)

    for attempt in range(2):  # a second attempt only after a stale or unusable .part was dropped
        start = part.stat().st_size if part.is_file() else 0
        try:
            resp = _open(url, start, timeout)
        except urllib.error.HTTPError as exc:
            total = _unsatisfied_total(exc) if exc.code == 416 else None
            exc.close()
            if exc.code == 416 and start > 0:
                # Range not satisfiable: the .part may already hold the whole file, but only if the
                # server says the file has exactly its size (a longer .part is never installed).
                try:
                    if total == start:
                        return _finalize(part, dest, expected_sha256)
                    part.unlink(missing_ok=True)
                    if attempt == 0:
                        continue  # the unusable .part is gone: start over
                    raise DownloadError(f"the server refused the byte range ({_reason(exc)})")
                except DownloadError as inner:
                    if attempt == 0:
                        continue  # the bad .part is gone: start over
                    raise DownloadError(f"could not download {url}: {inner}. {hint}") from None
            raise DownloadError(f"could not download {url}: {_reason(exc)}. {hint}") from None
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            raise DownloadError(
                f"could not download {url}: {_reason(exc)}. {hint}", unreachable=_unreachable(exc)
            ) from None

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
        if total is not None and size > total:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"download of {url} is longer than the server announced ({size} > {total} bytes); "
                f"the partial file was deleted, run it again. {hint}"
            )
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
    force: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
) -> Path:
    """The checked cached weights file of ``model``, downloading it first if it is not cached or
    its cached file is corrupt (which the download replaces); ``force``: download it again even
    if the cached file passes its check.

    ``url`` overrides where it is fetched from (default: :func:`core.models.zoo.resolve_url`,
    which honours ``GANLENS_MODEL_BASE_URL``). No network access happens on a cache hit. Only one
    download of a model runs at a time (:func:`download_lock`); one that waited for another uses
    the file the other installed. A shipped demo model is returned as is (never downloaded;
    :class:`DownloadError` saying how to rebuild it when its file is missing or damaged).
    """
    spec = get_spec(model)
    if spec.is_demo:
        return require_cached(spec)
    status = cache_status(spec, cache_dir)
    if status.usable and not force:
        return status.path  # type: ignore[return-value]
    source = url or resolve_url(spec)
    dest = cache_path(spec, cache_dir)
    try:
        _make_folder(dest)
        with download_lock(dest, timeout=lock_timeout, progress=progress):
            if force:
                dest.with_name(dest.name + ".part").unlink(missing_ok=True)
            else:
                status = cache_status(spec, cache_dir)  # installed meanwhile by whoever held the lock?
                if status.usable:
                    return status.path  # type: ignore[return-value]
            path = _download_locked(
                source, dest, spec.sha256, progress, f"Downloading {spec.name}", timeout, CHUNK_SIZE
            )
            other = model_dir(cache_dir) / spec.url_filename
            if other != path and other.is_file():  # a stale copy under the official name goes
                other.unlink()
                sidecar_path(other).unlink(missing_ok=True)
            return path
    except DownloadError as exc:
        raise exc.prefixed(spec.name) from None
