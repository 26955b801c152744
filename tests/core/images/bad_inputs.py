"""Hostile inputs built cheaply for the input-limit tests: PNG headers that claim any size,
zips whose members are flagged as encrypted, and big members that compress only moderately."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

import numpy as np

from tests.core.images.helpers import png_bytes, rgb


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header (with a valid CRC) says ``width`` x ``height`` but whose pixel data is
    that of a 1x1 image: costs nothing to make, and any decoder must fail after the header."""
    data = bytearray(png_bytes(rgb(1, 1)))
    ihdr = 8  # after the signature: length (4), b"IHDR" (4), 13 bytes of fields, CRC (4)
    assert data[ihdr + 4 : ihdr + 8] == b"IHDR"
    data[ihdr + 8 : ihdr + 16] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr + 4 : ihdr + 21]))
    data[ihdr + 21 : ihdr + 25] = struct.pack(">I", crc)
    return bytes(data)


def flag_encrypted(zip_bytes: bytes, names: set[str]) -> bytes:
    """Set the 'encrypted' bit (general purpose flag bit 0) of the named members in both the local
    and the central headers, as ``zip -e`` does; the reader then asks for a password."""
    data = bytearray(zip_bytes)
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        offsets = {i.filename: i.header_offset for i in zf.infolist()}
    for name, off in offsets.items():
        if name in names:
            assert data[off : off + 4] == b"PK\x03\x04"
            data[off + 6] |= 1
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        n_len = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46 : pos + 46 + n_len].decode() in names:
            data[pos + 8] |= 1
        pos = data.find(b"PK\x01\x02", pos + 46)
    return bytes(data)


def sparse_bytes(n: int, every: int = 128, seed: int = 0) -> bytes:
    """``n`` bytes, zero except one random byte every ``every``: deflate shrinks them about
    ``every / 2.6`` times (50x for 128), so they pass a zip-bomb ratio limit of 100."""
    a = np.zeros(n, np.uint8)
    a[::every] = np.random.default_rng(seed).integers(0, 256, len(a[::every]), dtype=np.uint8)
    return a.tobytes()
