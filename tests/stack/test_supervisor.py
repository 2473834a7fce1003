"""The supervisor on real child processes: restart on death, give up after the budget, stop all."""

import os
import signal
import sys
import time

from services.stack.supervisor import Component, Supervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
CRASHER = [sys.executable, "-c", "raise SystemExit(3)"]


def wait_until(condition, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0): look at its state
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_supervisor__killed_child__is_restarted(tmp_path):
    supervisor = Supervisor([Component("sleeper", SLEEPER)], tmp_path, backoff_s=0.01)
    supervisor.start()
    try:
        first = supervisor.states[0].process.pid
        os.kill(first, signal.SIGKILL)

        assert wait_until(lambda: (supervisor.poll(), supervisor.states[0].running
                                   and supervisor.states[0].process.pid != first)[1])
        assert supervisor.states[0].restarts == 1
    finally:
        supervisor.stop()


def test_supervisor__crash_loop__gives_up_after_budget(tmp_path):
    supervisor = Supervisor([Component("crasher", CRASHER)], tmp_path, max_restarts=2,
                            backoff_s=0.01)
    supervisor.start()

    assert wait_until(lambda: (supervisor.poll(), supervisor.states[0].given_up)[1])
    assert supervisor.states[0].restarts == 2
    assert supervisor.states[0].last_exit == 3


def test_supervisor__stop__leaves_nothing_running(tmp_path):
    supervisor = Supervisor([Component("a", SLEEPER), Component("b", SLEEPER)], tmp_path)
    supervisor.start()
    pids = [state.process.pid for state in supervisor.states]

    supervisor.stop()

    assert not any(alive(pid) for pid in pids)


def test_supervisor__ignores_sigterm_child__is_killed_after_timeout(tmp_path):
    stubborn = [sys.executable, "-c",
                ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                 "print('ready', flush=True); time.sleep(60)")]
    supervisor = Supervisor([Component("stubborn", stubborn)], tmp_path, stop_timeout_s=0.5)
    supervisor.start()
    # signal only once the child has installed its handler
    assert wait_until(lambda: b"ready" in (tmp_path / "stubborn.log").read_bytes())
    pid = supervisor.states[0].process.pid

    supervisor.stop()

    assert not alive(pid)
