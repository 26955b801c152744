"""core.runtime.prefetch.background: order, error forwarding, early stop, thread-local context."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest

from core.runtime.prefetch import background


def test_yields_in_order_from_another_thread():
    seen_threads = set()

    def gen():
        for i in range(10):
            seen_threads.add(threading.current_thread().name)
            yield i

    assert list(background(gen(), depth=2, name="bg-order")) == list(range(10))
    assert seen_threads == {"bg-order"}


def test_producer_error_reraises_in_consumer():
    def gen():
        yield 1
        raise ValueError("bad file x.png")

    it = background(gen())
    assert next(it) == 1
    with pytest.raises(ValueError, match="bad file x.png"):
        next(it)


def test_early_close_stops_and_closes_the_source():
    closed = threading.Event()

    def gen():
        try:
            yield from range(10_000)
        finally:
            closed.set()

    it = background(gen(), depth=1, name="bg-close")
    assert next(it) == 0
    it.close()
    assert closed.wait(5)
    time.sleep(0.05)
    assert not any(t.name == "bg-close" for t in threading.enumerate())


def test_context_is_entered_on_the_producer_thread():
    entered = []

    @contextlib.contextmanager
    def ctx():
        entered.append(threading.current_thread().name)
        yield

    assert list(background(iter([1, 2]), name="bg-ctx", context=ctx)) == [1, 2]
    assert entered == ["bg-ctx"]
