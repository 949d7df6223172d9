
import pytest
from channels.layers import channel_layers
from django.utils import translation

from tests.helpers.factories import conversation_factory, user_factory
from tests.helpers.fakeupstream import FakeUpstream


@pytest.fixture(scope="session")
def fake_upstream_server():
    server = FakeUpstream().start()
    yield server
    server.stop()


@pytest.fixture
def fake_upstream(fake_upstream_server, settings):
    """The fake AI/ML API, with the app's settings pointed at it and a key set."""
    fake_upstream_server.reset()
    settings.AIMLAPI_KEY = "test-key-do-not-log"
    settings.AIMLAPI_BASE_URL = fake_upstream_server.base_url
    return fake_upstream_server


@pytest.fixture(autouse=True)
def _isolated(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VISIONQA = {**settings.VISIONQA, "OFFLINE_CHUNK_DELAY_S": 0, "RETRY_BASE_S": 0.01}
    # Layers hold loop-bound queues and pools; each test has its own loop.
    channel_layers.backends = {}
    # The test client's requests leave their language active on this thread.
    translation.activate(settings.LANGUAGE_CODE)
    yield
    channel_layers.backends = {}
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def decode_holds(monkeypatch):
    """The pixels each photo decode asks the process's decode budget for."""
    from chat.photos import image_decode

    held = []
    real = image_decode.decode_budget.hold

    def hold(pixels, timeout):
        held.append(pixels)
        return real(pixels, timeout)

    monkeypatch.setattr(image_decode.decode_budget, "hold", hold)
    return held


@pytest.fixture
def user(db):
    return user_factory()




@pytest.fixture
def staff(client):
    """A staff member (superuser), logged in on the test client."""
    user = user_factory(username="boss", is_staff=True, is_superuser=True)
    client.force_login(user)
    return user


@pytest.fixture
def owned_conversation():
    """(a conversation, its owner's session cookie): what a page's socket to a
    server process (`servers`) carries, that process knowing no test client."""
    from tests.helpers.sockets import session_cookie  # here: it loads the whole ASGI app

    conversation = conversation_factory(owner=user_factory())
    return conversation, session_cookie(conversation.owner)


@pytest.fixture
def servers(fake_upstream_server, tmp_path):
    """Start real server processes (tests/helpers/servers.py) on the test
    database and the fake upstream; each is killed after the test."""
    from tests.helpers.servers import Server

    fake_upstream_server.reset()
    started = []

    def start(name, **env):
        server = Server(name, fake_upstream_server.base_url, tmp_path / "media", **env).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def marked():
    """Markdown as a plain viewer renders it (tests/helpers/markdown.py)."""
    from tests.helpers.markdown import Marked

    renderer = Marked()
    yield renderer
    renderer.close()


@pytest.fixture
def catalog(monkeypatch):
    """Translations for this test only, on top of the language's own catalog:
    catalog("es", {"Not found.": "No encontrado."}); a plural's forms as
    {(singular msgid, index): text}, the index as the language's plural rule
    gives it (German: 0 for one, 1 for more).
    A test that checks a message is translated, and when, says the
    translation it expects rather than depend on the shipped wording."""
    from django.utils.translation import trans_real

    def install(language, entries):
        messages = trans_real.translation(language)._catalog._catalogs[0]
        for msgid, text in entries.items():
            monkeypatch.setitem(messages, msgid, text)

    return install
