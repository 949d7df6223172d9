"""/healthz and /readyz."""

import socket

import pytest
from channels.layers import channel_layers
from django.db import OperationalError

from visionqa import health

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_logging_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ok_when_the_database_and_channel_layer_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok"}


def test_readyz_names_an_unreachable_channel_layer(client, settings):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"redis://:secret@127.0.0.1:{s.getsockname()[1]}/0"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chat.live.layers.PubSubChannelLayer",
            "CONFIG": {"hosts": [closed]},
        }
    }
    channel_layers.backends = {}
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failing": ["channel_layer"]}
    assert b"secret" not in response.content


def test_readyz_names_an_unreachable_database(client, monkeypatch):
    def unreachable():
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(health, "_database_ok", unreachable)
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]


def test_health_checks_are_not_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/accounts/login/").status_code == 301
