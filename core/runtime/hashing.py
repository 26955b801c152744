"""File hashes read in chunks (SHA-256 for downloads and cached files, SHA-1 for the Inception
weights' published digest), so a large file is never read into memory whole."""

from __future__ import annotations

import hashlib
import os

__all__ = ["CHUNK_SIZE", "file_hexdigest", "sha256_file"]

CHUNK_SIZE = 1 << 20


def file_hexdigest(path: str | os.PathLike, algorithm: str = "sha256", chunk_size: int = CHUNK_SIZE) -> str:
    """Hex digest (``hashlib`` algorithm name) of a file, read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while chunk := f.read(chunk_size):
            h.update(chunk)
    return h.hexdigest()


def sha256_file(path: str | os.PathLike, chunk_size: int = CHUNK_SIZE) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    return file_hexdigest(path, "sha256", chunk_size)
