import threading

import pytest

from components.threads import in_background


def test_work_in_the_background_hands_back_its_result_or_its_error_on_a_daemon_thread():
    seen = []

    def work(value):
        seen.append(threading.current_thread())
        return value * 2

    assert in_background(work, 21, name="jido-test").result(timeout=10) == 42
    assert seen[0].daemon and seen[0].name == "jido-test" and seen[0] is not threading.current_thread()

    def fails():
        raise SystemExit(3)  # a BaseException too reaches the taker

    with pytest.raises(SystemExit):
        in_background(fails, name="jido-test").result(timeout=10)
