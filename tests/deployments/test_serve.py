"""``jido serve``: the real FastAPI app on a real registered model, in process and as a real server on loopback."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components.scoring.batch import score_frame
from components.scoring.bundle import ScoringRun


@pytest.fixture(scope="module")
def served(trained_cancer, tracking_uri):
    from deployments.serve import load_served_model

    return load_served_model("models:/cancer@champion", tracking_uri)


@pytest.fixture(scope="module")
def client(served):
    from fastapi.testclient import TestClient

    from deployments.serve import build_app

    with TestClient(build_app(served)) as client:
        yield client


@pytest.fixture(scope="module")
def new_rows(cancer_csv) -> pd.DataFrame:
    return pd.read_csv(cancer_csv / "new.csv")


def test_rows_in_predictions_out_as_batch_scoring_gives_them(client, served, new_rows):
    rows = new_rows.head(5).to_dict("records")
    answer = client.post("/predict", json={"rows": rows})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model_name"] == "cancer" and body["model_version"] == served.ref.version
    batch = score_frame(served.bundle, new_rows.head(5), ScoringRun("cancer", served.ref.version, datetime.now(UTC)))
    assert [p["prediction"] for p in body["predictions"]] == batch["prediction"].tolist()
    assert np.allclose([p["probabilities"]["benign"] for p in body["predictions"]], batch["probability_benign"])
    # A bare list and MLflow's dataframe_records are read too; /invocations is MLflow's route.
    assert client.post("/predict", json=rows[:1]).json()["predictions"] == body["predictions"][:1]
    assert (
        client.post("/invocations", json={"dataframe_records": rows[:2]}).json()["predictions"]
        == body["predictions"][:2]
    )


def test_health_and_contract_routes(client, served):
    assert client.get("/health").json() == {
        "status": "ok",
        "model_name": "cancer",
        "model_version": served.ref.version,
        "model_uri": served.ref.uri,
    }
    assert client.get("/ping").status_code == 200
    columns = client.get("/contract").json()["columns"]
    assert [c["column"] for c in columns] == served.contract.column_names()


@pytest.mark.parametrize(
    "body, status, problem",
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[]", 422, "no rows given"),
        (b'{"data": []}', 422, "without 'rows'"),
        (b'"a string"', 422, "must be a JSON list of objects"),
        (b"[1, 2]", 422, "row 0 is int, not an object"),
        (b'[{"mean radius": [1, 2]}]', 422, "row 0: column(s) mean radius hold a list"),
        (json.dumps([{}] * 10_001).encode(), 413, "10001 rows in one request"),
    ],
)
def test_malformed_requests_get_a_4xx_that_names_the_problem(client, body, status, problem):
    answer = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == status and any(problem in p for p in answer.json()["problems"]), answer.text


def test_rows_that_break_the_contract_get_422_naming_row_and_column(client, new_rows):
    rows = new_rows.head(4).to_dict("records")
    rows[1]["mean area"] = -5.0  # out of range
    rows[3]["worst texture"] = None  # training had none empty
    problems = client.post("/predict", json={"rows": rows}).json()["problems"]
    assert len(problems) == 2
    assert problems[0].startswith("row 1: mean area=-5.0 outside the accepted range")
    assert problems[1] == "row 3: worst texture is empty (training had no empty values)"
    missing = client.post("/predict", json={"rows": [{k: v for k, v in rows[0].items() if k != "mean radius"}]})
    assert missing.status_code == 422 and missing.json()["problems"] == [
        "missing column(s) the model was trained on: mean radius"
    ]
    words = client.post("/predict", json={"rows": [{**rows[0], "mean area": "large"}]})
    assert words.status_code == 422 and "'mean area' should hold numbers" in words.json()["problems"][0]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_jido_serve_answers_on_loopback_and_refuses_a_taken_port(trained_cancer, tracking_uri, new_rows, tmp_path):
    import httpx

    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "deployments.cli", "serve", "models:/cancer@champion", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.time() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.time() < deadline, (
                server.stdout.read() if server.poll() is not None else "no answer in 120 s"
            )
            time.sleep(0.2)
        answer = httpx.post(f"http://127.0.0.1:{port}/predict", json=new_rows.head(1).to_dict("records"), timeout=10)
        assert answer.status_code == 200 and answer.json()["predictions"][0]["prediction"] in ("benign", "malignant")
        taken = subprocess.run(
            [sys.executable, "-m", "deployments.cli", "serve", "models:/cancer@champion", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (
            taken.returncode == 2
            and f"cannot listen on 127.0.0.1:{port}" in taken.stderr
            and "Traceback" not in taken.stderr
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    unknown = subprocess.run(
        [sys.executable, "-m", "deployments.cli", "serve", "models:/nothing@champion", "--port", str(_free_port())],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unknown.returncode == 2 and "no registered model version for 'models:/nothing@champion'" in unknown.stderr
