"""Run an iterator on a background thread, a bounded number of items ahead of its consumer.

Used to overlap image decoding and resizing with model compute. Errors raised while producing
re-raise in the consumer; when the consumer stops early (closes the generator), the producer is
told to stop, its iterator is closed, and the thread is joined.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


def background(
    items: Iterable[T],
    depth: int = 2,
    name: str = "prefetch",
    context: Callable[[], contextlib.AbstractContextManager] | None = None,
) -> Iterator[T]:
    """Yield the items of ``items``, produced on a thread ``depth`` items ahead.

    ``context`` (e.g. ``torch.inference_mode``) is entered on the producer thread around the
    iteration, since such modes are thread-local.
    """
    q: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()
    it = iter(items)

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def worker() -> None:
        try:
            with context() if context is not None else contextlib.nullcontext():
                for item in it:
                    if not put(item):
                        return
            put(_END)
        except BaseException as exc:  # handed to the consumer
            put(exc)
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=worker, daemon=True, name=name)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5.0)
