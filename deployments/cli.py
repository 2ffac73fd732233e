"""The ``jido`` command line.

Heavy libraries (Prefect, MLflow, scikit-learn) are imported inside the
commands, so ``jido --help`` answers at once.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys

# Set unless the user set them: no analytics or telemetry, no progress bars, and more patience than
# Prefect's 20 s for its temporary API to start (CI saw it take longer on a loaded 2-core machine).
_ENV_DEFAULTS = {
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "GX_ANALYTICS_ENABLED": "false",
    "MLFLOW_ENABLE_TELEMETRY": "false",
    "DO_NOT_TRACK": "1",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


class _UserErrorFilter(logging.Filter):
    """Drops log records that carry a user error: the CLI prints that error once, without a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        from components.errors import JidoError

        if record.exc_info and isinstance(record.exc_info[1], JidoError):
            return False
        return "JidoError" not in record.getMessage()


def _install_user_error_filter() -> None:
    for handler in logging.getLogger().handlers + logging.getLogger("prefect").handlers:
        handler.addFilter(_UserErrorFilter())


def _cmd_train(args: argparse.Namespace) -> int:
    from components.spec import load_spec

    spec = load_spec(args.spec)  # refuse a bad spec before starting Prefect
    from deployments.prefect_api import start_temporary_api_early

    wait_for_api = start_temporary_api_early()
    from flows.train import train

    _install_user_error_filter()
    wait_for_api()
    result = train(spec)
    print(f"registered {result.registered_uri}; scoring deployment {result.scoring_deployment}")
    print(
        f"champion {result.champion_uri} (version {result.champion_version}) "
        f"{result.metric_name}={result.champion_metric:.4f}"
    )
    return 0


def _cmd_score(args: argparse.Namespace) -> int:
    from deployments.prefect_api import start_temporary_api_early

    wait_for_api = start_temporary_api_early()  # first: the server's start is the longest wait
    from tasks.prefetch import prefetch_pipeline
    from tasks.settings import tracking_uri

    prefetch_pipeline(args.model_uri, tracking_uri())  # while Prefect's API server starts
    from flows.score import score

    _install_user_error_filter()
    wait_for_api()
    summary = score(args.model_uri, args.input, args.output, args.max_rejected_fraction, args.workers, args.address)
    print(
        f"scored {summary.n_rows} of {summary.n_rows_in} rows with {summary.model_name} version "
        f"{summary.model_version} -> {summary.output_path}"
    )
    if summary.n_rejected:
        reasons = "; ".join(f"{reason} ({count})" for reason, count in summary.rejected_reasons.items())
        print(f"rejected {summary.n_rejected} rows that break the data contract -> {summary.rejected_path} ({reasons})")
    from components.contract.drift import drifted

    if shifted := drifted(summary.drift):
        print(
            f"drift against the training data: {', '.join(f'{d.column} (PSI {d.psi:.2f}, {d.level})' for d in shifted)}"
        )
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from components.registry.models import list_models
    from tasks.settings import tracking_uri

    rows = list_models(tracking_uri())
    if not rows:
        print(f"no registered models in {tracking_uri()}; `jido train SPEC.yaml` registers one")
        return 0
    table = Table("name", "version", "aliases", "model", "metric", "value", "created")
    for row in rows:
        table.add_row(
            row["name"], row["version"], row["aliases"], row["model"], row["metric"], row["value"], row["created"]
        )
    Console(width=160).print(table)
    return 0


def _cmd_contract(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from components.registry.artifacts import load_contract
    from components.registry.models import resolve_model
    from tasks.settings import tracking_uri

    ref = resolve_model(args.model_uri, tracking_uri())
    contract = load_contract(ref, tracking_uri())
    rows = contract.rows()
    table = Table(*rows[0].keys(), title=f"data contract of {ref.name} version {ref.version}")
    for row in rows:
        table.add_row(*row.values())
    Console(width=160).print(table)
    return 0


def _cmd_explain(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from components.evaluate.explain import Explanation
    from components.registry.artifacts import load_explanation
    from components.registry.models import resolve_model
    from tasks.settings import tracking_uri

    ref = resolve_model(args.model_uri, tracking_uri())
    explanation = Explanation.from_json(load_explanation(ref, tracking_uri()))
    rows = explanation.rows(args.top)
    console = Console(width=160)
    if not rows:
        console.print(f"{ref.name} version {ref.version} reads no columns to explain")
        return 0
    table = Table(*rows[0].keys(), title=f"feature importance of {ref.name} version {ref.version}")
    for row in rows:
        table.add_row(*row.values())
    console.print(table)
    per_class = (
        " and, per class, how much that class's probability drops on its own rows" if explanation.per_class else ""
    )
    console.print(
        f"{explanation.method} on {explanation.n_rows} {explanation.rows_from}, {explanation.n_repeats} shuffles per "
        "column: "
        f"how much {explanation.metric_name} drops when the column is shuffled{per_class}."
    )
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from deployments.serve import serve
    from tasks.settings import tracking_uri

    serve(args.model_uri, tracking_uri(), args.host, args.port)
    return 0


def _cmd_deploy(args: argparse.Namespace) -> int:
    from prefect.settings import PREFECT_API_URL

    from components.errors import JidoError

    if not PREFECT_API_URL.value():
        raise JidoError(
            "jido deploy serves deployments on a Prefect server: start one with `prefect server start` and set "
            "PREFECT_API_URL=http://127.0.0.1:4200/api (or `prefect config set PREFECT_API_URL=...`)"
        )
    from prefect import serve

    from deployments.build import build_deployments

    deployments = build_deployments(args.spec)
    print("serving " + ", ".join(f"{d.flow_name}/{d.name}" for d in deployments) + " (Ctrl-C stops)", flush=True)
    serve(*deployments)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from deployments.prefect_api import start_temporary_api_early

    wait_for_api = start_temporary_api_early()
    from deployments.demo import run_demo

    _install_user_error_filter()
    wait_for_api()
    return run_demo(args.workdir)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jido", description="AutoML as Prefect pipelines: Dask trials, MLflow registry, generated batch scoring."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser("train", help="run the AutoML experiment described by a YAML spec")
    train.add_argument("spec", help="experiment spec (YAML)")
    train.set_defaults(run=_cmd_train)

    score = commands.add_parser(
        "score", help="score CSV or Parquet files with a registered model, checked against its data contract"
    )
    score.add_argument("model_uri", help="models:/NAME@champion or models:/NAME/VERSION")
    score.add_argument(
        "--input", required=True, help="table(s) to score: a .csv or .parquet file, a folder of them, or a quoted glob"
    )
    score.add_argument(
        "--output",
        required=True,
        help="where to write predictions (.csv or .parquet); rejected rows go to rejected/ beside it",
    )
    score.add_argument(
        "--max-rejected-fraction",
        type=float,
        default=0.1,
        help="share of rows that may break the data contract before the run fails (default 0.1)",
    )
    score.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local Dask workers scoring a large input's partitions in parallel; 1 scores in this process "
        "(default: chosen by input size and cores)",
    )
    score.add_argument(
        "--address",
        default=None,
        help="score the partitions on the Dask scheduler at this address (workers must see the files)",
    )
    score.set_defaults(run=_cmd_score)

    models = commands.add_parser("models", help="list registered models, versions, aliases and metrics")
    models.set_defaults(run=_cmd_models)

    contract = commands.add_parser(
        "contract", help="print the data contract a registered model version was trained with"
    )
    contract.add_argument("model_uri", help="models:/NAME@champion or models:/NAME/VERSION")
    contract.set_defaults(run=_cmd_contract)

    explain = commands.add_parser(
        "explain", help="print the feature importance of a registered model version, overall and per class"
    )
    explain.add_argument("model_uri", help="models:/NAME@champion or models:/NAME/VERSION")
    explain.add_argument("--top", type=int, default=20, help="columns to show, most important first (default 20)")
    explain.set_defaults(run=_cmd_explain)

    serve = commands.add_parser(
        "serve", help="serve a registered model over HTTP: JSON rows in, predictions out, checked against its contract"
    )
    serve.add_argument("model_uri", help="models:/NAME@champion or models:/NAME/VERSION")
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)"
    )
    serve.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    serve.set_defaults(run=_cmd_serve)

    deploy = commands.add_parser(
        "deploy", help="serve the training and scoring deployments of a spec on a Prefect server"
    )
    deploy.add_argument("spec", help="experiment spec (YAML)")
    deploy.set_defaults(run=_cmd_deploy)

    demo = commands.add_parser("demo", help="train on a real churn table, register a champion and score new rows")
    demo.add_argument(
        "--workdir", default="jido-demo", help="folder for the demo's data, spec and predictions (default: jido-demo)"
    )
    demo.set_defaults(run=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs the CLI; user errors print one message and exit 2, without a traceback."""
    for key, value in _ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)
    args = _parser().parse_args(argv)
    from components.errors import JidoError

    try:
        return args.run(args)
    except JidoError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        # The command is done and main is the process's entry point: leave the millions of objects Prefect, MLflow,
        # scikit-learn and torch created out of the interpreter's last garbage collection, which otherwise took
        # 2.3-2.5 s at every exit (measured on `jido score`). Exit handlers still run; the OS frees the memory.
        gc.freeze()


if __name__ == "__main__":
    sys.exit(main())
