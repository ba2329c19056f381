"""A job's work in a child process: messages, results, errors, pause, cancel, a child that dies,
and no child left behind (its parent closed it, or its parent died)."""
from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from qatstudio.engine.cancel import Cancelled
from qatstudio.services.job_process import ChildDied, JobProcess, RemoteTraceback
from qatstudio.services.tasks import TaskState


# --- work run in the child (module-level: the child imports this module to find them) ---

def _add(state, tell, a, b):
    tell(("pid", os.getpid()))
    return a + b


def _disagree(state, tell):
    raise ValueError("the numbers disagree")


def _count(state, tell, limit):
    """Tells (1, paused so far), (2, ...), ... until cancelled (raises Cancelled) or ``limit``."""
    for count in range(1, limit + 1):
        state.raise_if_cancelled()
        tell((count, state.paused_seconds()))
        time.sleep(0.01)
    return limit


def _hang(state, tell):
    tell(("pid", os.getpid()))
    while True:
        time.sleep(0.05)


@pytest.fixture
def child():
    process = JobProcess(name="qatstudio-test-worker")
    yield process
    process.close()
    assert not process.is_alive()


def _in_thread(function, *args):
    """Run ``function`` on a thread (as the window's task thread runs a job); its result or error."""
    outcome = {}

    def target():
        try:
            outcome["result"] = function(*args)
        except BaseException as error:  # noqa: BLE001
            outcome["error"] = error

    thread = threading.Thread(target=target)
    thread.start()
    return thread, outcome


def _running(child, work, args, state, told, messages=1):
    """``work`` started in the child from a thread, once it has told ``messages`` messages (or a minute
    has passed): the thread, its outcome and the deadline."""
    thread, outcome = _in_thread(child.run, work, args, state, told.append)
    deadline = time.monotonic() + 60
    while len(told) < messages and time.monotonic() < deadline:
        time.sleep(0.01)
    return thread, outcome, deadline


def test_work_runs_in_the_child_and_its_messages_result_and_errors_come_back(child):
    told = []
    assert child.run(_add, (2, 3), TaskState(), told.append) == 5
    assert told[0][1] == child.pid != os.getpid()
    assert child.run(_add, (4, 5), TaskState(), told.append) == 9
    assert told[1][1] == told[0][1], "the child is reused"
    with pytest.raises(ValueError, match="the numbers disagree") as raised:
        child.run(_disagree, (), TaskState(), told.append)
    assert isinstance(raised.value.__cause__, RemoteTraceback)
    assert "_disagree" in str(raised.value.__cause__)  # the child's own traceback
    assert child.run(_add, (1, 1), TaskState(), told.append) == 2  # still serving after a failure


def test_pause_blocks_the_child_and_cancel_stops_it(child):
    state = TaskState()
    told = []
    thread, outcome, deadline = _running(child, _count, (100_000,), state, told, messages=5)
    state.pause()
    time.sleep(0.5)  # the pause reaches the child within a step
    during = len(told)
    time.sleep(0.5)
    assert len(told) == during, "the child went on while paused"
    state.resume()
    while len(told) <= during and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(told) > during
    state.cancel()
    thread.join(30)
    assert not thread.is_alive()
    assert isinstance(outcome.get("error"), Cancelled)
    assert told[-1][1] >= 0.5  # the child counted the time it was paused


def test_a_job_cancelled_before_it_starts_stops_at_once_and_the_child_serves_on(child):
    state = TaskState()
    state.cancel()
    with pytest.raises(Cancelled):
        child.run(_count, (100_000,), state, lambda message: None)
    assert child.run(_add, (1, 2), TaskState(), lambda message: None) == 3


def test_a_child_that_dies_is_a_plain_error_and_the_next_job_gets_a_new_one(child):
    told = []
    thread, outcome, _ = _running(child, _hang, (), TaskState(), told)
    first = told[0][1]
    os.kill(first, signal.SIGKILL)
    thread.join(30)
    assert not thread.is_alive(), "run() hung on a dead child"
    error = outcome["error"]
    assert isinstance(error, ChildDied)
    assert "killed by SIGKILL" in str(error) and "out of memory" in str(error)
    assert not child.is_alive()
    assert child.run(_add, (2, 2), TaskState(), told.append) == 4
    assert told[-1][1] != first


def test_closing_while_a_job_runs_cancels_it_and_leaves_no_child(child):
    told = []
    thread, outcome, _ = _running(child, _hang, (), TaskState(), told)
    child.close()
    thread.join(30)
    assert isinstance(outcome.get("error"), Cancelled)
    assert not child.is_alive() and not multiprocessing.active_children()
    with pytest.raises(Cancelled):  # closed: no new child
        child.run(_add, (1, 1), TaskState(), told.append)


def test_the_child_does_not_outlive_its_parent(tmp_path):
    """A parent killed outright (no chance to close) still takes its child with it."""
    code = (
        "import sys, time\n"
        "from qatstudio.services.job_process import JobProcess\n"
        "if __name__ == '__main__':\n"
        "    child = JobProcess()\n"
        "    child.start()\n"
        "    while not child.is_ready():\n"
        "        time.sleep(0.05)\n"
        "    print(child.pid, flush=True)\n"
        "    time.sleep(600)\n"
    )
    script = tmp_path / "parent.py"
    script.write_text(code)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).resolve().parents[1]),
                                                       os.environ.get("PYTHONPATH", "")]))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        pid = int(parent.stdout.readline())
        assert _alive(pid)
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), "the child outlived its parent"


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie left for init to reap counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_training_process_runs_below_the_windows_priority():
    """With every core busy, the window's GUI thread runs before training's work."""
    from qatstudio.services.jobs import TRAINING_NICE, training_process

    child = training_process()
    try:
        child.start()
        deadline = time.monotonic() + 120
        while not child.is_ready() and time.monotonic() < deadline:  # it sets its priority first, then imports
            time.sleep(0.05)
        assert os.getpriority(os.PRIO_PROCESS, child.pid) == os.getpriority(os.PRIO_PROCESS, 0) + TRAINING_NICE > 0
    finally:
        child.close()
