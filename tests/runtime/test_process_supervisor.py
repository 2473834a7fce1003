"""The one process supervisor on real child processes: restart on death with backoff, give up
after the budget or on a final exit, commands rebuilt at each start, stop all, and the
foreground mode `pulseledger listen` uses."""

import logging
import os
import signal
import subprocess
import sys
import time

from services.runtime.process_supervisor import ChildSpec, ProcessSupervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
CRASHER = [sys.executable, "-c", "raise SystemExit(3)"]


def wait_until(condition, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def only(supervisor):
    (child,) = supervisor.children.values()
    return child


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0): look at its state
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_supervisor__killed_child__is_restarted(tmp_path):
    supervisor = ProcessSupervisor([ChildSpec("sleeper", SLEEPER)], tmp_path, backoff_s=0.01)
    supervisor.start()
    try:
        first = only(supervisor).process.pid
        os.kill(first, signal.SIGKILL)

        assert wait_until(lambda: (supervisor.poll(), only(supervisor).running
                                   and only(supervisor).process.pid != first)[1])
        assert only(supervisor).restarts == 1
    finally:
        supervisor.stop()


def test_supervisor__crash_loop__gives_up_after_budget(tmp_path):
    supervisor = ProcessSupervisor([ChildSpec("crasher", CRASHER)], tmp_path, max_restarts=2,
                            backoff_s=0.01)
    supervisor.start()

    assert wait_until(lambda: (supervisor.poll(), only(supervisor).given_up)[1])
    assert only(supervisor).restarts == 2
    assert only(supervisor).last_exit == 3


def test_supervisor__stop__leaves_nothing_running(tmp_path):
    supervisor = ProcessSupervisor([ChildSpec("a", SLEEPER), ChildSpec("b", SLEEPER)], tmp_path)
    supervisor.start()
    pids = [child.process.pid for child in supervisor.children.values()]

    supervisor.stop()

    assert not any(alive(pid) for pid in pids)


def test_supervisor__ignores_sigterm_child__is_killed_after_timeout(tmp_path):
    stubborn = [sys.executable, "-c",
                ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                 "print('ready', flush=True); time.sleep(60)")]
    supervisor = ProcessSupervisor([ChildSpec("stubborn", stubborn)], tmp_path, stop_timeout_s=0.5)
    supervisor.start()
    # signal only once the child has installed its handler
    assert wait_until(lambda: b"ready" in (tmp_path / "stubborn.log").read_bytes())
    pid = only(supervisor).process.pid

    supervisor.stop()

    assert not alive(pid)


def test_supervisor__final_exit__not_restarted(tmp_path):
    supervisor = ProcessSupervisor(
        [ChildSpec("misconfigured", [sys.executable, "-c", "raise SystemExit(78)"],
                   final_exit_codes=frozenset({78}))], tmp_path, backoff_s=0.01)
    supervisor.start()

    assert wait_until(lambda: (supervisor.poll(), only(supervisor).given_up)[1])
    assert (only(supervisor).restarts, only(supervisor).last_exit) == (0, 78)


def test_supervisor__one_shot__done_on_success_only(tmp_path):
    supervisor = ProcessSupervisor(
        [ChildSpec("ok", [sys.executable, "-c", "pass"], one_shot=True)], tmp_path)
    supervisor.start()

    assert wait_until(lambda: (supervisor.poll(), only(supervisor).done)[1])
    assert only(supervisor).phase == "done" and only(supervisor).restarts == 0


def test_supervisor__command_and_hook_run_at_every_start(tmp_path):
    """A peer's command names the addresses known when it (re)starts, not when it was first
    started; the hook clears its readiness file first."""
    starts = []

    def command():
        starts.append(len(starts))
        return [sys.executable, "-c", f"raise SystemExit({len(starts)})"]

    marker = tmp_path / "ready"
    marker.write_text("stale")
    spec = ChildSpec("crasher", command, before_start=lambda: marker.unlink(missing_ok=True))
    supervisor = ProcessSupervisor([spec], tmp_path, max_restarts=2, backoff_s=0.01)
    supervisor.start()

    assert wait_until(lambda: (supervisor.poll(), only(supervisor).given_up)[1])
    assert starts == [0, 1, 2]
    assert only(supervisor).last_exit == 3  # the third command, not the first again
    assert not marker.exists()


def test_supervisor__backoff_doubles_to_the_cap_and_resets_after_a_healthy_run(tmp_path, caplog):
    supervisor = ProcessSupervisor([ChildSpec("crasher", CRASHER)], tmp_path, backoff_s=0.01,
                                   backoff_cap_s=0.04, max_restarts=4)
    supervisor.start()
    with caplog.at_level(logging.WARNING, logger="services.runtime.process_supervisor"):
        assert wait_until(lambda: (supervisor.poll(), only(supervisor).given_up)[1])
    delays = [message.rsplit(" in ", 1)[1] for message in caplog.messages]
    assert delays == ["0.01s", "0.02s", "0.04s", "0.04s"]

    healthy = ProcessSupervisor([ChildSpec("sleeper", SLEEPER)], tmp_path, backoff_s=0.01,
                                healthy_after_s=0.0)
    healthy.start()
    try:
        only(healthy).next_backoff_s = 5.0  # as if it had crashed often before
        os.kill(only(healthy).process.pid, signal.SIGKILL)
        assert wait_until(lambda: (healthy.poll(), only(healthy).restarts == 1)[1])
        assert only(healthy).next_backoff_s == 0.02  # forgiven: the first delay again, doubled
    finally:
        healthy.stop()


def test_supervisor__same_session__stop_terminates_children(tmp_path):
    supervisor = ProcessSupervisor([ChildSpec("a", SLEEPER)], None, own_session=False)
    supervisor.start()
    pid = only(supervisor).process.pid

    supervisor.stop()

    assert not alive(pid)
    assert only(supervisor).process.returncode == -signal.SIGTERM


FOREGROUND = """
import sys
from services.runtime.process_supervisor import ChildSpec, run_in_foreground
child = ChildSpec("child", [sys.executable, "-c", sys.argv[1]], final_exit_codes=frozenset({78}))
sys.exit(run_in_foreground(child, backoff_s=0.01, backoff_cap_s=0.02, healthy_after_s=60))
"""


def test_run_in_foreground__final_exit_is_the_exit_code(tmp_path):
    code = ("import pathlib, sys; p = pathlib.Path(sys.argv[1]); "
            "p.write_text(p.read_text() + 'x') if p.exists() else p.write_text('x'); "
            "raise SystemExit(78 if len(p.read_text()) == 3 else 75)")
    runs = tmp_path / "runs"
    result = subprocess.run([sys.executable, "-c", FOREGROUND,
                             code.replace("sys.argv[1]", repr(str(runs)))],
                            check=False, capture_output=True, timeout=60)
    assert result.returncode == 78
    assert runs.read_text() == "xxx"  # 75 twice (restarted), then 78 (not)
    assert b"exited with 75; restart 2" in result.stderr
    assert b"exited with 78, a final exit" in result.stderr


def test_run_in_foreground__sigterm_stops_the_child(tmp_path):
    ready = tmp_path / "ready"
    child = ("import pathlib, signal, sys, time; "
             "signal.signal(signal.SIGTERM, lambda *_: sys.exit(0)); "
             f"pathlib.Path({str(ready)!r}).write_text('up'); time.sleep(60)")
    foreground = subprocess.Popen([sys.executable, "-c", FOREGROUND, child])
    try:
        assert wait_until(ready.exists, 30)
        foreground.send_signal(signal.SIGTERM)
        assert foreground.wait(timeout=30) == 0
    finally:
        foreground.kill()  # a no-op once it has been waited for
        foreground.wait()
