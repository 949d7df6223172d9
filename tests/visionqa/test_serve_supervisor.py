"""The supervisor behind `manage.py serve` (visionqa/serve_supervisor.py), with
stand-ins for Daphne: it restarts a child that dies, gives up on a crash
loop, stops every child together, and replaces them one by one on SIGHUP."""

import logging
import signal
import sys
import threading
import time

from tests.helpers.prodserver import wait_for
from visionqa import serve_supervisor

# Stand-ins for Daphne: quick to start, each behaving one way.
EXIT_AT_ONCE = [sys.executable, "-c", "import sys; sys.exit(3)"]
SLOW_TO_STOP = [
    sys.executable,
    "-c",
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *a: (time.sleep(0.5), sys.exit(0)))\n"
    "while True: time.sleep(1)",
]
DEAF = [
    sys.executable,
    "-c",
    "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True: time.sleep(1)",
]


def stop_after(supervisor, seconds, sig=signal.SIGTERM):
    """What the signal handler does, from a timer (the supervisor runs in the
    test's own main thread, where handlers live)."""
    timer = threading.Timer(seconds, lambda: supervisor.request_stop(sig))
    timer.start()
    return timer


def in_background(steps):
    """Run `steps` (a function) beside the supervisor, which holds the main thread."""
    thread = threading.Thread(target=steps, daemon=True)
    thread.start()
    return thread


def pids(supervisor):
    return [c.popen.pid if c.popen else None for c in supervisor.children]


def order(caplog, *fragments):
    """The index of the first log message holding each fragment."""
    messages = [r.getMessage() for r in caplog.records]
    return [next(i for i, m in enumerate(messages) if f in m) for f in fragments]


def test_sighup_replaces_the_processes_one_by_one_each_new_one_first(caplog):
    caplog.set_level(logging.INFO, logger="visionqa.serve_supervisor")
    supervisor = serve_supervisor.Supervisor([SLOW_TO_STOP, SLOW_TO_STOP], grace_s=5, margin_s=1)
    seen = {}

    def steps():
        assert wait_for(lambda: all(pids(supervisor)), 10)
        seen["before"] = pids(supervisor)
        supervisor.request_reload()
        wait_for(lambda: "all 2 processes replaced" in caplog.text, 20)
        seen["after"] = pids(supervisor)
        supervisor.request_stop(signal.SIGTERM)

    thread = in_background(steps)
    assert supervisor.run() == 0
    thread.join(5)
    assert "all 2 processes replaced" in caplog.text
    assert not set(seen["before"]) & set(seen["after"])
    first_new, second_new = seen["after"]
    first_old, second_old = seen["before"]
    steps = order(
        caplog,
        f"process 1 started (pid {first_new})",
        f"the old one (pid {first_old}) asked to stop",
        f"the old one (pid {first_old}) exited with status 0",
        f"process 2 started (pid {second_new})",
        f"the old one (pid {second_old}) asked to stop",
        f"the old one (pid {second_old}) exited with status 0",
    )
    assert steps == sorted(set(steps))


def test_on_unix_sockets_sighup_stops_each_old_process_before_its_replacement(caplog):
    caplog.set_level(logging.INFO, logger="visionqa.serve_supervisor")
    supervisor = serve_supervisor.Supervisor(
        [SLOW_TO_STOP], grace_s=5, margin_s=1, start_before_stop=False
    )

    def steps():
        assert wait_for(lambda: all(pids(supervisor)), 10)
        supervisor.request_reload()
        wait_for(lambda: "all 1 processes replaced" in caplog.text, 20)
        supervisor.request_stop(signal.SIGTERM)

    thread = in_background(steps)
    assert supervisor.run() == 0
    thread.join(5)
    asked, exited, started = order(caplog, "asked to stop", "exited with status 0", "started (pid")
    # The first "started" is the first process's; the replacement's comes after the old one's exit.
    messages = [r.getMessage() for r in caplog.records]
    replacement = [i for i, m in enumerate(messages) if "started (pid" in m][1]
    assert asked < exited < replacement


def test_a_replacement_that_dies_starting_leaves_the_old_process_serving(tmp_path, caplog):
    broken, running = tmp_path / "broken", tmp_path / "running"
    command = [
        sys.executable,
        "-c",
        f"import os, sys, time\nif os.path.exists({str(broken)!r}): sys.exit(4)\n"
        f"open({str(running)!r}, 'w').close()\n"
        "while True: time.sleep(1)",
    ]
    supervisor = serve_supervisor.Supervisor(
        [command], grace_s=1, margin_s=1, ready=lambda c: time.monotonic() - c.started_at > 1
    )
    seen = {}

    def steps():
        # Past its own check for the broken code (a loaded machine starts
        # Python slowly), not merely started.
        assert wait_for(running.exists, 10)
        seen["before"] = pids(supervisor)
        broken.touch()  # the new code on disk cannot start
        supervisor.request_reload()
        wait_for(lambda: "keeping the old processes" in caplog.text, 20)
        time.sleep(0.5)
        seen["after"] = pids(supervisor)
        supervisor.request_stop(signal.SIGTERM)

    thread = in_background(steps)
    assert supervisor.run() == 0
    thread.join(5)
    assert "the new one" in caplog.text and "exited with status 4 while starting" in caplog.text
    assert seen["after"] == seen["before"]
    assert supervisor.children[0].exits == [4]


def test_a_child_that_dies_is_restarted_with_a_growing_delay_and_a_crash_loop_gives_up(caplog):
    caplog.set_level(logging.INFO, logger="visionqa.serve_supervisor")
    supervisor = serve_supervisor.Supervisor(
        [EXIT_AT_ONCE], grace_s=1, margin_s=1, backoff_base_s=0.1, max_quick_failures=4
    )
    assert supervisor.run() == 1
    assert supervisor.children[0].exits == [3, 3, 3, 3]
    messages = [r.getMessage() for r in caplog.records]
    delays = [m.split("restarting it in ")[1] for m in messages if "restarting" in m]
    assert delays == ["0.1 s", "0.2 s", "0.4 s"]
    assert "the 4th time in a row" in caplog.text
    assert "giving up" in caplog.text


def test_a_stop_is_forwarded_to_every_child_and_waited_for(caplog):
    caplog.set_level(logging.INFO, logger="visionqa.serve_supervisor")
    supervisor = serve_supervisor.Supervisor([SLOW_TO_STOP, SLOW_TO_STOP], grace_s=5, margin_s=1)
    stopped = []
    supervisor.on_stopping = lambda: stopped.append(True)
    stop_after(supervisor, 1.5, signal.SIGINT)
    started = time.monotonic()
    assert supervisor.run() == 0
    took = time.monotonic() - started
    assert stopped == [True]
    assert 1.9 < took < 5, took  # the children's half second was waited for, no more
    assert caplog.text.count("exited with status 0") == 2
    assert "SIGINT: stopping 2 processes" in caplog.text


def test_a_child_still_running_after_the_grace_and_margin_is_killed(caplog):
    supervisor = serve_supervisor.Supervisor([DEAF], grace_s=0.5, margin_s=0.3)
    stop_after(supervisor, 1)
    started = time.monotonic()
    assert supervisor.run() == 1
    assert 1.7 < time.monotonic() - started < 4
    assert "still running after 1 s: killing it" in caplog.text
    assert "killed by SIGKILL" in caplog.text
