"""What registration prepares while a time-budgeted sweep runs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from components.problems import get_problem


def test_registration_modules_are_imported_on_a_thread_before_registration():
    # A fresh interpreter: the test session has imported skops and great-expectations long ago.
    script = textwrap.dedent(
        """
        import sys
        from tasks.register import _REGISTRATION_MODULES, preload_registration_modules
        names = ("skops.io",) + _REGISTRATION_MODULES
        assert not any(name in sys.modules for name in names), "imported before the preload"
        import threading
        loading = preload_registration_modules()
        assert [t.daemon for t in threading.enumerate() if t.name == "jido-preload"] == [True]
        loading.result(timeout=120)
        missing = [name for name in names if name not in sys.modules]
        print("missing:", missing)
        """
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "missing: []" in done.stdout


def test_the_refit_builds_forests_with_a_job_per_free_core():
    import os

    from joblib.parallel import ThreadingBackend, get_active_backend

    from components.models import get_family
    from tasks.register import _free_cores

    forest = get_family("RandomForest").build(
        get_problem("classification"), get_family("RandomForest").defaults(get_problem("classification")), 0
    )
    assert forest.n_jobs is None  # so joblib's configuration decides: one job in a trial, every core in the refit
    assert get_active_backend()[1] in (None, 1)
    with _free_cores(os.cpu_count() or 1):
        backend, n_jobs = get_active_backend()
        assert isinstance(backend, ThreadingBackend) and n_jobs == (os.cpu_count() or 1)


def test_the_refit_takes_only_the_cores_no_other_program_uses():
    """A CPU-bound program in a session of its own, as a user's other program runs: the refit leaves its core to it."""
    import os
    import signal
    import time

    from tasks.register import free_cores

    cores = os.cpu_count() or 1
    assert free_cores() >= cores - 1  # this machine is about idle while the test runs alone
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True) for _ in range(cores)
    ]
    try:
        time.sleep(0.5)
        assert free_cores() == 1  # every core taken by another program: the refit still gets one
    finally:
        for burner in burners:
            os.killpg(burner.pid, signal.SIGKILL)
            burner.wait()
