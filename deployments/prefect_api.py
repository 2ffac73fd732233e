"""Prefect's temporary API, started by jido at the top of a command, so the command's imports and the API's start-up
overlap.

Without ``PREFECT_API_URL``, Prefect starts a temporary API server in a
subprocess the first time a flow needs it, and waits for it there: about 7 s
on a 2-core machine, after the command has spent several seconds importing
MLflow, skops and scikit-learn.

jido starts the same server itself, before those imports: Prefect's API
application (``prefect.server.api.server:create_app``) under uvicorn, with the
settings and environment Prefect gives its own temporary server, on a free
port of the loopback. The command's Prefect settings then point at it, so the
flows use it and Prefect starts no server of its own. Prefect's
``SubprocessASGIServer`` would do the same, but importing it imports the whole
server (its database models, its web application): about 3 s of the client's
CPU, which the command spent while the server it had just started booted on
the same cores. The server stops when the command exits.

A server that does not come up (or exits) within
``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS`` is stopped and the
settings are put back, so the flow's own attempt raises Prefect's message.
"""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

# uvicorn's exit status when its port was taken meanwhile: another port is tried.
_PORT_TAKEN = 3
_ATTEMPTS = 5


class TemporaryAPI:
    """Prefect's API application served by uvicorn in a subprocess, for this process's flows."""

    def __init__(self) -> None:
        from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL, get_current_settings, temporary_settings

        self.process: subprocess.Popen | None = None
        self.port = 0
        self._environment = {
            **os.environ,
            # What Prefect sets for its own temporary server: no UI, and the server knows it is temporary.
            "PREFECT_UI_ENABLED": "0",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
            # Left out of a server that lives for one command, unless the user's settings ask for them: automations'
            # triggers and actions (the actions service builds a second copy of the API app), and registering the
            # block types of every installed collection (which imports prefect-dask and distributed). Together they
            # took 0.9 s of the server's 7.7 s of CPU to start, the command's longest wait on 2 cores.
            "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
            "PREFECT_SERVER_REGISTER_BLOCKS_ON_START": "false",
            **get_current_settings().to_environment_variables(exclude_unset=True),
        }
        self._spawn()
        atexit.register(self.stop)
        # No UI is served: an empty UI URL keeps Prefect from logging links to it.
        self._settings: AbstractContextManager | None = temporary_settings(
            updates={PREFECT_API_URL: self.api_url, PREFECT_UI_URL: ""}
        )
        self._settings.__enter__()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def _spawn(self) -> None:
        import prefect
        from prefect.logging import get_logger
        from prefect.logging.configuration import ensure_logging_setup

        ensure_logging_setup()  # as the flow would, so the line below shows
        self.port = _free_port()
        get_logger("jido").info(
            "starting Prefect's temporary API on %s for this command (set PREFECT_API_URL to use a running server)",
            self.api_url,
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(prefect.__module_path__.parent),
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env=self._environment,
        )

    def wait(self) -> None:
        """Returns once the API answers; on failure stops it and gives the settings back (the flow then starts Prefect's
        own)."""
        import httpx
        from prefect.logging import get_logger
        from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

        if self._settings is None:
            return
        deadline = time.monotonic() + PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()
        attempts = 1
        with httpx.Client() as client:
            while time.monotonic() < deadline:
                status = self.process.poll()
                if status == _PORT_TAKEN and attempts < _ATTEMPTS:
                    attempts += 1
                    self._spawn()
                    continue
                if status is not None:
                    break
                try:
                    if client.get(f"{self.api_url}/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        get_logger("jido").warning(
            "Prefect's temporary API on %s did not start; the flow tries Prefect's own", self.api_url
        )
        self.stop()
        self._settings.__exit__(None, None, None)
        self._settings = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The command's temporary API, kept for its whole life: its settings stay entered while it is referenced.
_running: TemporaryAPI | None = None


def start_temporary_api_early() -> Callable[[], None]:
    """Starts Prefect's temporary API in the background when no API is configured and Prefect would start one.

    Returns:
        A function that waits until the API answers; call it before the first
        flow, on the same thread. A start that fails is left to the flow's own
        attempt, which raises Prefect's message for it.
    """
    global _running
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return lambda: None
    _running = TemporaryAPI()
    return _running.wait
