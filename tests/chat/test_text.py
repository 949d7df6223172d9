"""chat.text: what typed text loses before it is kept; and every place a person
types text keeping it that way, on SQLite and on PostgreSQL (DATABASE_URL),
where a NUL was a 500 or a database error."""

import contextlib
import json

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chat.conversations import reply_services
from chat.errors import ServiceError
from chat.llm.catalog import OFFLINE_MODEL_ID
from chat.models import Conversation, Invite, Message, Team
from chat.text import controls_strip
from tests.helpers.factories import conversation_factory, team_factory, user_factory

NUL = "\x00"
BIDI_OVERRIDES = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Invisible, and no keyboard types them: every C0 control but the three that break lines.
OTHER_CONTROLS = (
    "".join(chr(c) for c in range(1, 0x20) if chr(c) not in "\t\n\r")
    + "\x7f"
    + "".join(chr(c) for c in range(0x80, 0xA0))
)
TAKEN_OUT = set(NUL + BIDI_OVERRIDES + OTHER_CONTROLS)
# What right-to-left writers, emoji and line breaks need.
KEPT = "\t\n\r\u200e\u200f\u061c\u200c\u200d"

# Any text, with the characters at stake much more often than chance would bring them.
typed_text = st.text(
    alphabet=st.one_of(
        st.characters(exclude_categories=["Cs"]),
        st.sampled_from(sorted(TAKEN_OUT | set(KEPT))),
    ),
    max_size=40,
)


def clean(stored):
    return not TAKEN_OUT & set(stored)


@given(typed_text)
def test_controls_strip_takes_out_exactly_nul_the_invisible_controls_and_bidi_overrides(text):
    assert controls_strip(text) == "".join(c for c in text if c not in TAKEN_OUT)


def test_line_breaks_tabs_bidi_marks_and_joiners_are_kept():
    text = f"שלום{KEPT}👩\u200d💻"
    assert controls_strip(text) == text


# --- every entry point --------------------------------------------------------
# Each one is used the way the page uses it, and returns every text of its kind
# stored so far: each must be clean, and no request may fail with a 500.


def team_name(client, person, text):
    response = client.post(reverse("teams"), {"name": text})
    assert response.status_code == 302
    return Team.objects.values_list("name", flat=True)


def invite_email(client, person, text):
    team = Team.objects.filter(memberships__user=person).first() or team_factory(person)
    response = client.post(reverse("team-invite", args=[team.id]), {"email": text, "days": "7"})
    assert response.status_code == 302
    return Invite.objects.values_list("email", flat=True)


def display_name(client, person, text):
    response = client.post(reverse("account"), {"display_name": text})
    assert response.status_code in (200, 302)  # 200: the form says it's too long
    return get_user_model().objects.values_list("first_name", flat=True)


def new_conversation(client, person, text):
    response = client.post(
        reverse("conversations"),
        json.dumps({"title": text, "system_prompt": text}),
        content_type="application/json",
    )
    assert response.status_code in (201, 400)
    return [t for c in Conversation.objects.all() for t in (c.title, c.system_prompt)]


def changed_conversation(client, person, text):
    conversation = conversation_factory(owner=person, title="Plant")
    for change in ({"title": text}, {"system_prompt": text}):
        response = client.patch(
            reverse("conversation-detail", args=[conversation.id]),
            json.dumps(change),
            content_type="application/json",
        )
        assert response.status_code in (200, 400)
    return [t for c in Conversation.objects.all() for t in (c.title, c.system_prompt)]


def question(client, person, text):
    return _asked(person, text=text or "?", options={})


def stop_sequence(client, person, text):
    return _asked(person, text="What is this?", options={"stop": [text or "?", "end"]})


def _asked(person, **ask):
    with contextlib.suppress(ServiceError):  # refused in words: e.g. only invisible characters
        reply_services.question_ask(
            person,
            conversation_factory(owner=person),
            image_ids=[],
            model_id=OFFLINE_MODEL_ID,
            detail="auto",
            **ask,
        )
    stored = []
    for text, options in Message.objects.values_list("text", "options"):
        stored += [text, *options.get("stop", [])]
    return stored


ENTRY_POINTS = [
    team_name,
    invite_email,
    display_name,
    new_conversation,
    changed_conversation,
    question,
    stop_sequence,
]


@pytest.mark.django_db
@pytest.mark.parametrize("entry_point", ENTRY_POINTS, ids=lambda f: f.__name__)
@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=st.one_of(typed_text, typed_text.map(lambda t: f"ada{t}@example.com")))
def test_every_entry_point_keeps_typed_text_without_nul_or_bidi_overrides(
    client, settings, entry_point, text
):
    settings.VISIONQA = {**settings.VISIONQA, "INVITE_EMAILS_PER_HOUR": 10_000}
    person = get_user_model().objects.filter(username="typist").first()
    if person is None:
        person = user_factory(username="typist")
        client.force_login(person)
    stored = list(entry_point(client, person, text))
    assert all(clean(s) for s in stored), [s for s in stored if not clean(s)]


@pytest.mark.django_db
@pytest.mark.parametrize("entry_point", ENTRY_POINTS, ids=lambda f: f.__name__)
def test_a_nul_and_a_bidi_override_are_taken_out_not_refused(client, entry_point):
    person = user_factory()
    client.force_login(person)
    stored = list(entry_point(client, person, "ada\x00\u202e@example.com"))
    assert "ada@example.com" in stored
