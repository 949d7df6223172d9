"""What the conversation-socket tests share: a person, their conversation and
their session cookie."""

import pytest

from tests.helpers.factories import conversation_factory, user_factory
from tests.helpers.sockets import session_cookie


@pytest.fixture
def owner():
    return user_factory()


@pytest.fixture
def conversation(owner):
    return conversation_factory(owner=owner)


@pytest.fixture
def cookie(owner):
    return session_cookie(owner)
