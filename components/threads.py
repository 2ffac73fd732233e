"""Work on a thread of its own whose result, or error, the caller takes from a future."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any


def in_background(work: Callable[..., Any], *args: Any, name: str) -> Future:
    """Runs ``work(*args)`` on a daemon thread; the returned future holds what it returned or raised.

    A daemon thread, so a process that ends meanwhile does not wait for it.
    Any exception, ``SystemExit`` included, reaches whoever asks the future.
    """
    future: Future = Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(work(*args))
        except BaseException as error:  # handed to the future's taker, which raises it
            future.set_exception(error)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future
