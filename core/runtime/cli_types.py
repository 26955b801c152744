"""``argparse`` ``type=`` functions shared by every subcommand, so sizes and counts are checked
when the command line is read, with a message that names the limit, before any work is done or
memory allocated (``--size 0`` is not "auto", ``--batch-size 0`` is not a ``range()`` error)."""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = [
    "MAX_BATCH_SIZE",
    "MAX_IMAGE_SIDE",
    "batch_size",
    "int_in_range",
    "positive_int",
]

#: The largest image side any subcommand accepts (SWD's common size, network input sizes).
MAX_IMAGE_SIDE = 4096
#: The largest batch any subcommand accepts.
MAX_BATCH_SIZE = 4096


def int_in_range(low: int, high: int | None = None, *, auto: bool = False) -> Callable[[str], int | None]:
    """A ``type=`` for a whole number in ``[low, high]``; ``auto``: the word ``auto`` is also
    accepted and gives ``None``."""

    def parse(text: str) -> int | None:
        if auto and text.strip().lower() == "auto":
            return None
        try:
            value = int(text)
        except ValueError:
            words = "a whole number or 'auto'" if auto else "a whole number"
            raise argparse.ArgumentTypeError(f"expected {words}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high}, got {value}")
        return value

    parse.__name__ = "int"  # argparse names the type in some messages
    return parse


positive_int = int_in_range(1)
batch_size = int_in_range(1, MAX_BATCH_SIZE)
