from components.experiment.leaderboard import PROGRESS_HEADER, Leaderboard
from components.experiment.results import TrialResult


def _board(metric: str) -> Leaderboard:
    board = Leaderboard(metric)
    board.add(TrialResult(0, "KNN", {"n_neighbors": 5}, "completed", 0.30, 1.2, None, (0.3,)))
    board.add(TrialResult(1, "SGD", {"alpha": 0.1}, "failed", None, 0.4, "ValueError: boom"))
    board.add(TrialResult(2, "RandomForest", {"n_estimators": 50}, "completed", 0.20, 65.0, None, (0.2, 0.2)))
    return board


def test_direction_decides_the_best():
    assert _board("accuracy").best().iteration == 0
    assert _board("log_loss").best().iteration == 2
    assert [r.iteration for r in _board("log_loss").ranked()] == [2, 0, 1]


def test_save_load_round_trip(tmp_path):
    board = _board("AUC_weighted")
    board.save(tmp_path / "lb.json")
    loaded = Leaderboard.load(tmp_path / "lb.json")
    assert loaded == board


def test_progress_row_follows_azures_columns():
    board = _board("accuracy")
    row = board.progress_row(board.results[2], "RandomForest")
    assert PROGRESS_HEADER.split() == ["ITERATION", "PIPELINE", "DURATION", "METRIC", "BEST"]
    assert row.split() == ["2", "RandomForest", "0:01:05", "0.2000", "0.3000"]
    assert "FAILED" in board.progress_row(board.results[1], "SGD")


def test_table_rows_rank_and_keep_the_error_headline():
    rows = _board("accuracy").table()
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert rows[-1]["status"] == "failed" and rows[-1]["error"] == "ValueError: boom"
