"""The SQLite stores a sweep writes at every trial are put in write-ahead-log mode, and nothing else is touched."""

from __future__ import annotations

import sqlite3

import pytest

from components.experiment.tracking import ExperimentTracker
from components.search.store import SweepStore, sqlite_url
from components.sqlite import local_sqlite_file, write_ahead


def _journal_mode(path) -> str:
    with sqlite3.connect(path) as connection:
        return connection.execute("PRAGMA journal_mode").fetchone()[0]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:////tmp/x/mlflow.db", "/tmp/x/mlflow.db"),
        ("sqlite:///mlflow.db", "mlflow.db"),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
        ("sqlite:///file:shared.db?mode=memory&uri=true", None),
        ("postgresql://jido@db/optuna", None),
        ("http://tracking:5000", None),
        ("file:///tmp/mlruns", None),
        ("databricks", None),
    ],
)
def test_only_local_sqlite_files_are_named(url, expected):
    found = local_sqlite_file(url)
    assert (str(found) if found else None) == expected


def test_a_new_database_starts_in_wal_mode_in_its_new_folder(tmp_path):
    path = tmp_path / "not" / "yet" / "study.db"
    write_ahead(f"sqlite:///{path}")
    assert _journal_mode(path) == "wal"


def test_an_existing_database_keeps_its_rows(tmp_path):
    path = tmp_path / "kept.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE trials (n INTEGER)")
        connection.executemany("INSERT INTO trials VALUES (?)", [(1,), (2,)])
    connection.close()
    assert _journal_mode(path) == "delete"
    write_ahead(f"sqlite:///{path}")
    write_ahead(f"sqlite:///{path}")  # a second call finds it set and changes nothing
    assert _journal_mode(path) == "wal"
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT n FROM trials ORDER BY n").fetchall() == [(1,), (2,)]
    connection.close()


def test_other_databases_are_left_alone(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_ahead("postgresql://jido@db/optuna")
    write_ahead("sqlite:///:memory:")
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_folder_is_left_to_the_store_to_report(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    write_ahead(f"sqlite:///{blocker / 'study.db'}")  # no error here, and nothing made
    assert blocker.read_text() == "not a folder"


def test_the_sweep_store_and_the_tracking_store_write_ahead(tmp_path, tracking_uri):
    store = SweepStore.open(sqlite_url(tmp_path / "exp"), "churn", "abc", True)
    assert _journal_mode(tmp_path / "exp" / "study.db") == "wal"
    assert store.finished() == []
    ExperimentTracker(tracking_uri, "wal-check")
    assert _journal_mode(local_sqlite_file(tracking_uri)) == "wal"
