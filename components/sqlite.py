"""SQLite databases that jido writes at every trial: kept in write-ahead-log mode.

A sweep commits two to four transactions a trial (the Optuna record, the MLflow
nested run). In SQLite's default rollback-journal mode each commit creates,
syncs and deletes a journal file; in WAL mode it appends to one log, which
cost a trial's records about 40% less CPU (benchmarks/sweep_overhead.py).

The mode is kept in the database file itself, so setting it once serves every
later connection, MLflow's and Optuna's engines included, without reaching
into either library. Commits keep SQLite's default full sync: a finished
trial is on disk when its commit returns, as before.

WAL needs every process that opens the file on one host (not a network file
system): that is the embedded default's setting, one machine; a shared store
belongs on a tracking server or PostgreSQL (docs/architecture.md).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


def local_sqlite_file(url: str) -> Path | None:
    """The file a ``sqlite:///`` URL names; None for other databases, in-memory ones and ``file:`` URIs."""
    try:
        parsed = make_url(url)
    except ArgumentError:  # not a database URL (an MLflow "file:" or "http:" store, say)
        return None
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    if parsed.database.startswith("file:") or parsed.query.get("uri"):
        return None
    return Path(parsed.database)


def write_ahead(url: str) -> None:
    """Puts the local SQLite database at ``url`` in WAL mode, creating it (and its folder) when missing.

    Other URLs are left alone. Where the file cannot be opened or changed
    (a read-only folder, a lock held past the timeout), it stays as it is:
    the store that opens it next reports such a problem in its own words.
    """
    path = local_sqlite_file(url)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=5)
    except (OSError, sqlite3.Error):
        return
    try:
        if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            connection.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error:
        pass  # see the docstring: the store's own open says what is wrong
    finally:
        connection.close()
