"""Prefect's temporary API started ahead of a command's flow, and the CLI's exit without the last full collection."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _fresh_env(tmp_path: Path) -> dict[str, str]:
    """A user's shell with no Prefect API configured, so Prefect starts its temporary one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), PYTHONPATH=str(ROOT), MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path}/mlflow.db")
    # As the CLI sets it: on a loaded CI machine the API once took longer than Prefect's default 20 s to start.
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    return env


def test_a_configured_api_starts_nothing(prefect_api):
    from deployments.prefect_api import start_temporary_api_early

    before = {t.name for t in threading.enumerate()}
    wait = start_temporary_api_early()
    assert "jido-prefect-api-start" not in {t.name for t in threading.enumerate()} - before
    wait()


def test_the_temporary_api_is_up_before_the_flow_and_the_flow_uses_it(tmp_path):
    code = """
import httpx
from prefect import flow
from prefect.client.orchestration import get_client
from deployments.prefect_api import start_temporary_api_early

wait = start_temporary_api_early()
from prefect.server.api.server import SubprocessASGIServer
server = SubprocessASGIServer()
wait()
assert server.running and httpx.get(server.api_url + "/health").status_code == 200

@flow
def where() -> str:
    with get_client(sync_client=True) as client:
        return str(client.api_url)

print("flow's API", where().rstrip("/"), "started", server.api_url)
"""
    done = subprocess.run([sys.executable, "-c", code], env=_fresh_env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    flow_api, started = done.stdout.strip().splitlines()[-1].removeprefix("flow's API ").split(" started ")
    assert flow_api == started.rstrip("/")
    assert done.stderr.count("Starting temporary server") == 1


def test_the_cli_freezes_what_it_allocated_before_exiting(tmp_path):
    code = "import gc\nfrom deployments.cli import main\nassert gc.get_freeze_count() == 0\nmain(['models'])\nprint('frozen', gc.get_freeze_count())"
    done = subprocess.run([sys.executable, "-c", code], env=_fresh_env(tmp_path), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "no registered models" in done.stdout
    assert int(done.stdout.strip().splitlines()[-1].split()[1]) > 100_000
