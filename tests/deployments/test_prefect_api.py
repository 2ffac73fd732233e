"""Prefect's temporary API started by jido ahead of a command's flow, and the CLI's exit without the last full
collection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _fresh_env(tmp_path: Path) -> dict[str, str]:
    """A user's shell with no Prefect API configured, so Prefect starts its temporary one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PYTHONPATH=str(ROOT),
        MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path}/mlflow.db",
    )
    # As the CLI sets it: on a loaded CI machine the API once took longer than Prefect's default 20 s to start.
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    return env


def test_a_configured_api_starts_nothing(prefect_api):
    from prefect.settings import PREFECT_API_URL

    import deployments.prefect_api as prefect_api_module

    configured = PREFECT_API_URL.value()
    wait = prefect_api_module.start_temporary_api_early()
    wait()
    assert prefect_api_module._running is None
    assert PREFECT_API_URL.value() == configured


def _run(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**_fresh_env(tmp_path), **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_the_temporary_api_is_up_before_the_flow_the_flow_uses_it_and_it_stops_with_the_command(tmp_path):
    code = """
import sys
import httpx
from deployments.prefect_api import start_temporary_api_early

wait = start_temporary_api_early()
assert "prefect.server.api.server" not in sys.modules  # the client never imports the server
from deployments.prefect_api import _running
wait()
assert httpx.get(_running.api_url + "/health").status_code == 200

from prefect import flow
from prefect.client.orchestration import get_client

@flow
def where() -> str:
    with get_client(sync_client=True) as client:
        return str(client.api_url)

import json
print(json.dumps({"pid": _running.process.pid, "flow_api": where(), "started": _running.api_url}))
"""
    done = _run(code, tmp_path)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["flow_api"].rstrip("/") == seen["started"].rstrip("/")
    assert "Starting temporary server" not in done.stderr  # Prefect started no server of its own
    assert done.stderr.count("starting Prefect's temporary API") == 1
    assert "View at" not in done.stderr  # no link to a UI that is not served
    with pytest.raises(ProcessLookupError):  # the server went with the command
        os.kill(seen["pid"], 0)


@pytest.mark.parametrize("user_setting", [None, "true"])
def test_the_temporary_api_runs_no_automation_triggers_nor_block_registration_unless_the_user_asks(
    tmp_path, user_setting
):
    code = """
import json
from deployments.prefect_api import start_temporary_api_early
start_temporary_api_early()
from deployments.prefect_api import _running
env = _running._environment
print(json.dumps([env["PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED"], env["PREFECT_SERVER_REGISTER_BLOCKS_ON_START"]]))
"""
    asked = (
        {}
        if user_setting is None
        else {
            "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": user_setting,
            "PREFECT_SERVER_REGISTER_BLOCKS_ON_START": user_setting,
        }
    )
    done = _run(code, tmp_path, **asked)
    triggers, blocks = json.loads(done.stdout.strip().splitlines()[-1])
    expected = "false" if user_setting is None else "true"
    assert (triggers.lower(), blocks.lower()) == (expected, expected)


def test_a_temporary_api_that_does_not_start_gives_the_settings_back(tmp_path):
    # Given no time to answer, the server is stopped at once; the flow would then start Prefect's own.
    code = """
from prefect.settings import PREFECT_API_URL
from deployments.prefect_api import start_temporary_api_early

wait = start_temporary_api_early()
from deployments.prefect_api import _running
assert PREFECT_API_URL.value() == _running.api_url
wait()
print("after", PREFECT_API_URL.value(), "process", _running.process)
"""
    done = _run(code, tmp_path, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="0")
    assert done.stdout.strip().splitlines()[-1] == "after None process None"
    assert "did not start; the flow tries Prefect's own" in done.stderr


def test_a_port_taken_before_the_server_binds_it_is_replaced_by_another(tmp_path):
    code = """
import json, socket
import deployments.prefect_api as api

taken = socket.socket()
taken.bind(("127.0.0.1", 0))
taken.listen()
ports = [taken.getsockname()[1]]
free = api._free_port
api._free_port = lambda: ports.pop() if ports else free()
wait = api.start_temporary_api_early()
first = api._running.port
wait()
import httpx
print(json.dumps({"first": first, "taken": taken.getsockname()[1], "now": api._running.port, "health":
httpx.get(api._running.api_url + "/health").status_code}))
"""
    seen = json.loads(_run(code, tmp_path).stdout.strip().splitlines()[-1])
    assert seen["first"] == seen["taken"] != seen["now"]
    assert seen["health"] == 200


def test_the_cli_freezes_what_it_allocated_before_exiting(tmp_path):
    code = (
        "import gc\nfrom deployments.cli import main\nassert gc.get_freeze_count() == 0\n"
        "main(['models'])\nprint('frozen', gc.get_freeze_count())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=_fresh_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "no registered models" in done.stdout
    assert int(done.stdout.strip().splitlines()[-1].split()[1]) > 100_000
