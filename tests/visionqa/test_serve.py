"""`manage.py serve`: N Daphne processes on one port, restarted when they die,
stopped together (visionqa/serve.py)."""

import logging
import os
import signal
import sys
import threading
import time
import urllib.request

import pytest

from tests.helpers.prodserver import Serve, alive, manage, production_env, wait_for
from visionqa import serve

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
    caplog.set_level(logging.INFO, logger="visionqa.serve")
    supervisor = serve.Supervisor([SLOW_TO_STOP, SLOW_TO_STOP], grace_s=5, margin_s=1)
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
    caplog.set_level(logging.INFO, logger="visionqa.serve")
    supervisor = serve.Supervisor([SLOW_TO_STOP], grace_s=5, margin_s=1, start_before_stop=False)

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
    broken = tmp_path / "broken"
    command = [
        sys.executable,
        "-c",
        f"import os, sys, time\nif os.path.exists({str(broken)!r}): sys.exit(4)\n"
        "while True: time.sleep(1)",
    ]
    supervisor = serve.Supervisor(
        [command], grace_s=1, margin_s=1, ready=lambda c: time.monotonic() - c.started_at > 1
    )
    seen = {}

    def steps():
        assert wait_for(lambda: all(pids(supervisor)), 10)
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


def test_a_child_listens_on_the_inherited_socket_and_reads_proxy_headers_only_behind_a_proxy():
    command = serve.daphne_command(fd=7, proxy_headers=False)
    assert command[3:5] == ["--fd", "7"] and command[-1] == "visionqa.asgi:application"
    assert "--proxy-headers" not in command
    assert "--proxy-headers" in serve.daphne_command(fd=7, proxy_headers=True)


def test_a_child_may_listen_on_a_unix_socket_of_its_own(tmp_path):
    command = serve.daphne_command(unix_socket=tmp_path / "2.sock")
    assert command[3:5] == ["-u", str(tmp_path / "2.sock")]


def test_a_childs_own_access_log_with_its_query_strings_and_tokens_is_off():
    command = serve.daphne_command(fd=7)
    assert command[command.index("--access-log") + 1] == os.devnull


def test_proxy_headers_follow_the_tls_proxy_setting(settings):
    settings.SECURE_PROXY_SSL_HEADER = None
    assert serve.behind_tls_proxy() is False
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert serve.behind_tls_proxy() is True


def test_several_processes_without_redis_are_told_they_share_no_channel_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    assert serve.shared_channel_layer() is False
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "chat.live.layers.PubSubChannelLayer"}}
    assert serve.shared_channel_layer() is True


def test_the_grace_comes_from_the_settings_then_the_environment(settings, monkeypatch):
    settings.VISIONQA = {k: v for k, v in settings.VISIONQA.items() if k != "SHUTDOWN_GRACE_S"}
    monkeypatch.delenv("VISIONQA_SHUTDOWN_GRACE_S", raising=False)
    assert serve.shutdown_grace_s() == 25
    monkeypatch.setenv("VISIONQA_SHUTDOWN_GRACE_S", "7")
    assert serve.shutdown_grace_s() == 7
    settings.VISIONQA = {**settings.VISIONQA, "SHUTDOWN_GRACE_S": 12}
    assert serve.shutdown_grace_s() == 12


def test_only_ipv4_addresses_are_bound():
    with pytest.raises(ValueError, match="IPv4"):
        serve.bind_tcp("::1", 0)


def test_a_child_that_dies_is_restarted_with_a_growing_delay_and_a_crash_loop_gives_up(caplog):
    caplog.set_level(logging.INFO, logger="visionqa.serve")
    supervisor = serve.Supervisor(
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
    caplog.set_level(logging.INFO, logger="visionqa.serve")
    supervisor = serve.Supervisor([SLOW_TO_STOP, SLOW_TO_STOP], grace_s=5, margin_s=1)
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
    supervisor = serve.Supervisor([DEAF], grace_s=0.5, margin_s=0.3)
    stop_after(supervisor, 1)
    started = time.monotonic()
    assert supervisor.run() == 1
    assert 1.7 < time.monotonic() - started < 4
    assert "still running after 1 s: killing it" in caplog.text
    assert "killed by SIGKILL" in caplog.text


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    env = production_env(tmp, VISIONQA_SHUTDOWN_GRACE_S="5")
    manage(env, "migrate", "--noinput", "-v0")
    return tmp, env


def test_serve_runs_two_processes_restarts_a_killed_one_and_stops_on_sigterm(migrated):
    tmp, env = migrated
    server = Serve(env, tmp / "serve.log", processes=2)
    try:
        server.wait_healthy()
        first = wait_for(lambda: len(server.children()) == 2 and server.children(), 20)
        assert len(first) == 2, server.log

        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        replaced = wait_for(
            lambda: (c := server.children()) and len(c) == 2 and victim not in c and c, 20
        )
        assert replaced and victim not in replaced, server.log
        assert "killed by SIGKILL" in server.log and "restarting it in 1.0 s" in server.log
        for _ in range(5):  # still answering, whichever process takes the connection
            with urllib.request.urlopen(server.url + "/healthz", timeout=5) as response:
                assert response.status == 200

        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=5 + 5 + 5) == 0, server.log
        assert time.monotonic() - started < 5 + 5
        assert not any(alive(pid) for pid in replaced)
        assert "SIGTERM: stopping 2 processes (up to 5 s + 5 s)" in server.log
        assert "REDIS_URL is not set" in server.log
    finally:
        server.stop()


def test_sighup_replaces_both_processes_while_the_site_keeps_answering(migrated):
    tmp, env = migrated
    server = Serve(env, tmp / "reload.log", processes=2)
    answers, failures, done = [], [], threading.Event()

    def keep_asking():
        while not done.is_set():
            try:
                with urllib.request.urlopen(server.url + "/healthz", timeout=10) as response:
                    answers.append(response.status)
            except OSError as exc:
                failures.append(repr(exc))
            time.sleep(0.02)

    try:
        server.wait_healthy()
        before = wait_for(lambda: len(server.children()) == 2 and server.children(), 20)
        asker = threading.Thread(target=keep_asking, daemon=True)
        asker.start()
        server.process.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "all 2 processes replaced" in server.log, 120), server.log
        done.set()
        asker.join(15)
        after = server.children()
        assert len(after) == 2 and not after & before, server.log
        assert failures == [] and answers and set(answers) == {200}
    finally:
        done.set()
        server.stop()
