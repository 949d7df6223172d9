"""What a share from a phone becomes (chat/conversations/shares.py); the views'
tests (tests/chat/web/test_share_target.py) take it end to end."""

from urllib.parse import parse_qs, urlsplit

import pytest

from chat.conversations import shares
from tests.helpers.factories import image_factory


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({}, ""),
        ({"title": "", "text": "", "url": ""}, ""),
        ({"text": "  What is this?  "}, "What is this?"),
        # Apps put a page's address in "text" as often as in "url": said once.
        (
            {"text": "Look https://x.example/a", "url": "https://x.example/a"},
            "Look https://x.example/a",
        ),
        ({"title": "Fern", "text": "Fern"}, "Fern"),
        ({"title": "Fern", "url": "https://x.example/f"}, "Fern\nhttps://x.example/f"),
        # Invisible controls and bidi overrides are taken out, as from anything typed.
        ({"text": "a\x00b\u202ec"}, "abc"),
    ],
)
def test_the_text_shared_along_says_each_thing_once(fields, text):
    assert shares.share_text(fields) == text


def test_the_text_shared_along_fits_in_an_address():
    assert len(shares.share_text({"text": "x" * 50_000})) == shares.PREFILL_LIMIT


def test_the_way_on_names_the_photos_and_the_text_and_reads_back(user):
    photos = [image_factory(owner=user), image_factory(owner=user)]
    url = shares.continue_url(shares.ShareOutcome(text="Is it ripe?", images=photos))
    address = urlsplit(url)
    assert address.path == "/"
    query = {name: values[0] for name, values in parse_qs(address.query).items()}
    attached = shares.attachments(user, query)
    assert [p["id"] for p in attached.photos] == [str(p.id) for p in photos]
    assert attached.text == "Is it ripe?"
