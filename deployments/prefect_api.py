"""Starting Prefect's temporary API early, so a command's imports and the API's start-up overlap.

Without ``PREFECT_API_URL``, Prefect starts a temporary API server in a
subprocess the first time a flow needs it, and waits for it there: about 7 s
on a 2-core machine, after the command has spent several seconds importing
MLflow, skops and scikit-learn. Started at the top of a command, the server's
subprocess boots while the main thread imports, and the flow finds it ready.
Prefect keeps one such server per process, so the flow's own call to start it
returns at once.

Only the wait runs on a thread: the imports stay on the main thread, since two
threads importing the same circular packages can see half-initialised modules.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from prefect.server.api.server import SubprocessASGIServer


def start_temporary_api_early() -> Callable[[], None]:
    """Starts Prefect's temporary API server in the background when no API is configured.

    Returns:
        A function that waits until that start has finished; call it before the
        first flow. A start that fails is left to the flow's own attempt, which
        raises Prefect's message for it.
    """
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return lambda: None
    from prefect.server.api.server import SubprocessASGIServer

    thread = threading.Thread(target=_start, args=(SubprocessASGIServer(),), name="jido-prefect-api-start", daemon=True)
    thread.start()
    return thread.join


def _start(server: SubprocessASGIServer) -> None:
    try:
        server.start()
    except Exception:  # not swallowed: the flow's own start tries again and raises Prefect's message
        return
