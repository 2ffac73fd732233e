"""``jido serve``: a real-time HTTP scoring service for one registered model version.

It scores with the same bundle and data contract as batch scoring. Routes:

- ``POST /predict`` (and MLflow's ``/invocations``): JSON rows in, predictions
  out. The body is a list of objects (column: value), or an object holding one
  under ``rows`` (MLflow's ``dataframe_records`` is read too). Input that
  cannot be scored gets 400 (malformed JSON), 413 (too many rows) or 422 (rows
  that miss columns or break the contract) with ``{"problems": [...]}``, each
  problem naming the row and the column.
- ``GET /health`` (and MLflow's ``/ping``): the model being served.
- ``GET /contract``: the data contract requests are checked against.

FastAPI rather than ``mlflow models serve``: MLflow's server would start a
conda or virtualenv environment per model and knows nothing of jido's
contract, so bad rows would reach the model instead of being answered 422.
"""

from __future__ import annotations

from dataclasses import dataclass

# FastAPI reads the route handlers' annotations at run time, so they must be importable names here (this module is
# imported only by `jido serve`, so `jido --help` stays light).
import orjson
from fastapi import FastAPI, Request
from fastapi.responses import Response
from sklearn.pipeline import Pipeline
from starlette.concurrency import run_in_threadpool

from components.contract.contract import DataContract
from components.errors import InputProblems
from components.registry.models import ModelRef
from components.scoring.bundle import ModelBundle
from components.scoring.online import MAX_REQUEST_ROWS, score_records

# Requests of up to this many rows are scored on the event loop: handing them to a worker thread cost ~10 ms
# per request here (the two threads trade the GIL), twice the scoring itself.
INLINE_ROWS = 100


@dataclass(frozen=True)
class ServedModel:
    """What the service scores with: the version, and its pipeline, contract and task type."""

    ref: ModelRef
    bundle: ModelBundle

    @property
    def pipeline(self) -> Pipeline:
        return self.bundle.pipeline

    @property
    def contract(self) -> DataContract:
        return self.bundle.contract


def load_served_model(model_uri: str, tracking_uri: str) -> ServedModel:
    """Resolves and loads a registered version and its contract (a version kept without one is served unchecked)."""
    from components.errors import JidoError
    from components.registry.artifacts import load_contract
    from components.registry.models import load_pipeline, problem_of, resolve_model

    ref = resolve_model(model_uri, tracking_uri)
    problem = problem_of(ref)
    try:
        contract = load_contract(ref, tracking_uri)
    except JidoError:
        contract = DataContract(())
    return ServedModel(ref, ModelBundle(load_pipeline(ref, tracking_uri), contract, problem))


def _rows(payload: object) -> object:
    if isinstance(payload, dict):
        for key in ("rows", "dataframe_records"):
            if key in payload:
                return payload[key]
        raise InputProblems(
            [
                f"the body is an object without 'rows'; send {{\"rows\": [{{column: value}}, ...]}} or a list of "
                f"rows (keys given: {', '.join(map(str, payload)) or 'none'})"
            ]
        )
    return payload


def build_app(model: ServedModel):
    """The FastAPI application that serves ``model``."""
    app = FastAPI(title=f"jido: {model.ref.name} version {model.ref.version}", docs_url="/docs", redoc_url=None)
    served = {"model_name": model.ref.name, "model_version": model.ref.version, "model_uri": model.ref.uri}

    def answer(status: int, content: dict) -> Response:
        return Response(
            orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY), status_code=status, media_type="application/json"
        )

    async def predict(request: Request) -> Response:
        try:
            payload = orjson.loads(await request.body())
        except orjson.JSONDecodeError as error:
            return answer(400, {"problems": [f"the body is not valid JSON: {error}"]})
        rows = None
        try:
            rows = _rows(payload)
            if (
                isinstance(rows, list) and len(rows) > INLINE_ROWS
            ):  # off the event loop, so /health answers while it scores
                predictions = await run_in_threadpool(score_records, model.bundle, rows)
            else:
                predictions = score_records(model.bundle, rows)
        except (
            InputProblems
        ) as problems:  # records_frame refuses too many rows before any work: that is 413, the rest 422
            too_many = isinstance(rows, list) and len(rows) > MAX_REQUEST_ROWS
            return answer(413 if too_many else 422, {"problems": problems.problems})
        return answer(200, {**served, "predictions": predictions})

    async def health() -> Response:
        return answer(200, {"status": "ok", **served})

    async def contract() -> Response:
        return answer(200, {**served, "columns": model.contract.rows()})

    for path in ("/predict", "/invocations"):
        app.add_api_route(path, predict, methods=["POST"], include_in_schema=path == "/predict")
    for path in ("/health", "/ping"):
        app.add_api_route(path, health, methods=["GET"], include_in_schema=path == "/health")
    app.add_api_route("/contract", contract, methods=["GET"])
    return app


def one_thread_per_request() -> None:
    """Makes OpenMP and BLAS run one thread in this process, for good.

    A request holds a row or a few, too few to share out among threads, and
    an ensemble alternates between libraries that bring their own OpenMP
    runtime (scikit-learn's, and the one LightGBM and torch load): the threads
    one leaves spinning hold the cores the other's threads wait for: one thread
    was several times faster (benchmarks/serve_latency.py). Scale a service out
    with processes instead.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def serve(model_uri: str, tracking_uri: str, host: str, port: int) -> None:
    """Loads the model and serves it until interrupted.

    Raises:
        JidoError: the port cannot be bound, or the model URI names no version.
    """
    import socket

    import uvicorn

    from components.errors import JidoError

    if not 0 < port < 65536:
        raise JidoError(f"--port must be between 1 and 65535; got {port}")
    with socket.socket() as probe:  # before the model loads (seconds), so a taken port is said at once
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a port in TIME_WAIT is free
        try:
            probe.bind((host, port))
        except OSError as error:
            raise JidoError(
                f"cannot listen on {host}:{port} ({error.strerror}); pick another --port or --host"
            ) from None
    model = load_served_model(model_uri, tracking_uri)
    app = build_app(model)
    one_thread_per_request()
    print(
        f"serving {model.ref.uri} ({model.ref.name} version {model.ref.version}) on http://{host}:{port}: POST "
        "/predict, GET /health",
        flush=True,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
