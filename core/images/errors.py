"""The error every image-reading step raises for a user-facing problem (names the file or set)."""

from __future__ import annotations


class ImageError(ValueError):
    """A specific, user-facing problem with an image or an image set (names the file)."""
