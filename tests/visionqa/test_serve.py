"""`manage.py serve`: N Daphne processes on one port, restarted when they die,
stopped together (visionqa/serve.py), and what it reads from the settings."""

import os
import signal
import threading
import time
import urllib.request

import pytest

from tests.helpers.prodserver import Serve, alive, manage, production_env, wait_for
from visionqa import serve


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
