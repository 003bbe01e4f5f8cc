"""Row-wise steps done as two halves at once give exactly what one pass gives."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from filters_server.imaging import halves
from filters_server.imaging.halves import by_halves


def _square_into(source: np.ndarray, out: np.ndarray) -> None:
    np.multiply(source, source, out=out)


def test_both_halves_are_computed_into_the_arrays() -> None:
    source = np.arange(200 * 30, dtype=np.float32).reshape(200, 30)
    out = np.zeros_like(source)
    by_halves(_square_into, source, out)
    np.testing.assert_array_equal(out, source * source)


def test_the_bottom_half_runs_in_another_thread_when_one_is_free() -> None:
    threads: dict[int, str] = {}

    def record(rows: np.ndarray) -> None:
        threads[int(rows[0, 0])] = threading.current_thread().name

    by_halves(record, np.arange(128).reshape(128, 1))
    assert threads[0] == threading.current_thread().name
    assert threads[64].startswith("pixels-half")


def test_with_every_helper_busy_the_caller_does_the_whole_step(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(halves, "_free", threading.BoundedSemaphore(1))
    halves._free.acquire()  # another job's half holds the only helper
    calls: list[int] = []
    by_halves(lambda rows: calls.append(len(rows)), np.zeros((200, 3)))
    assert calls == [200]


def test_a_few_rows_are_not_split() -> None:
    calls: list[int] = []
    by_halves(lambda rows: calls.append(len(rows)), np.zeros((halves.MIN_ROWS - 1, 3)))
    assert calls == [halves.MIN_ROWS - 1]


def test_an_error_in_the_helpers_half_reaches_the_caller_and_frees_the_helper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(halves, "_free", threading.BoundedSemaphore(1))  # one helper: a leak would show

    def fail_below(rows: np.ndarray) -> None:
        if rows[0, 0] >= 64:
            raise ValueError("bottom half")

    with pytest.raises(ValueError, match="bottom half"):
        by_halves(fail_below, np.arange(128).reshape(128, 1))
    calls: list[int] = []
    by_halves(lambda rows: calls.append(len(rows)), np.zeros((128, 1)))
    assert sorted(calls) == [64, 64]


_FORKED = r"""
import os, signal, sys
import numpy as np
from filters_server.imaging.halves import by_halves

def square(source, out):
    np.multiply(source, source, out=out)

source = np.arange(256, dtype=np.float64).reshape(128, 2)
out = np.zeros_like(source)
by_halves(square, source, out)  # the parent's helper thread exists now
pid = os.fork()
if pid == 0:
    signal.alarm(20)  # a hang fails the child, not the test run
    out[:] = 0
    by_halves(square, source, out)
    os._exit(0 if np.array_equal(out, source * source) else 1)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform")
def test_a_forked_process_gets_helpers_of_its_own() -> None:
    """--processes forks servers: a copy of the parent's pool would never run the child's halves."""
    result = subprocess.run([sys.executable, "-c", _FORKED], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
