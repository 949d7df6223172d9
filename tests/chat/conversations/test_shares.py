"""What a share from a phone becomes (chat/conversations/shares.py); the views'
tests (tests/chat/web/test_share_target.py) take it end to end."""

import json
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chat.conversations import shares
from chat.models import Image
from chat.photos import waiting
from tests.helpers.factories import image_factory, jpeg_bytes

PHOTO = jpeg_bytes((8, 8))
ADDRESS = "198.51.100.7"


def photo(size=0, name="a.jpg"):
    """A photo's header, and as many bytes in all as `size` (if it's more)."""
    return SimpleUploadedFile(name, PHOTO + b"\0" * (size - len(PHOTO)), "image/jpeg")


def root():
    return Path(settings.MEDIA_ROOT) / "shares"


def waiting_photo_bytes():
    """The photos' bytes waiting on disk, in all and by sender."""
    by_sender: dict[str, int] = {}
    for directory in root().iterdir():
        if directory.is_dir():
            meta = json.loads((directory / waiting.META).read_text())
            size = sum(p.stat().st_size for p in directory.iterdir() if p.name.isdigit())
            by_sender[meta["sender"]] = by_sender.get(meta["sender"], 0) + size
    return sum(by_sender.values()), by_sender


@pytest.fixture
def caps(settings):
    """Small caps: 6 000 bytes waiting in all, 2 500 from one address."""
    settings.VISIONQA = {
        **settings.VISIONQA,
        "SHARE_WAITING_MAX_BYTES": 6000,
        "SHARE_WAITING_PER_ADDRESS_BYTES": 2500,
    }


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


def test_one_address_cannot_fill_the_waiting_room_for_everyone(caps):
    first = shares.share_receive(None, [photo(2000)], {}, ADDRESS)
    assert first.token and first.status == 200
    again = shares.share_receive(None, [photo(1000, "b.jpg")], {}, ADDRESS)
    assert again.token is None and again.status == 429
    assert again.problems[0].name == "b.jpg"
    assert "Log in to VisionQA first, then share this photo again" in again.problems[0].message
    other = shares.share_receive(None, [photo(2000)], {}, "203.0.113.9")
    assert other.token and other.status == 200


def test_an_ipv6_network_counts_as_one_address(caps):
    shares.share_receive(None, [photo(2000)], {}, "2001:db8:1:2::1")
    neighbour = shares.share_receive(None, [photo(1000)], {}, "2001:db8:1:2:ffff::9")
    assert neighbour.status == 429


def test_the_senders_address_is_never_written_to_disk(caps):
    outcome = shares.share_receive(None, [photo()], {"text": "hi"}, ADDRESS)
    kept = (root() / outcome.token / waiting.META).read_text()
    assert "198.51.100.7" not in kept and "198.51.100" not in kept
    assert len(json.loads(kept)["sender"]) == 64  # a keyed SHA-256


def test_shares_arriving_together_cannot_all_take_the_last_room(caps, monkeypatch):
    """Six shares of 1 500 bytes at once, from six addresses, where 6 000 bytes
    may wait: three are kept (each has a few hundred bytes of description
    too), whatever the order they write in, and the others told why."""
    add = waiting.Draft.add

    def slow_add(self, name, chunks):
        time.sleep(0.05)  # the others all count the room meanwhile, if they can
        add(self, name, chunks)

    monkeypatch.setattr(waiting.Draft, "add", slow_add)
    outcomes = []

    def send(n):
        outcomes.append(shares.share_receive(None, [photo(1500)], {}, f"198.51.100.{n}"))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(o.status for o in outcomes) == [200] * 3 + [503] * 3
    assert waiting_photo_bytes()[0] <= 6000


@hypothesis_settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sent=st.lists(
        st.tuples(
            st.integers(0, 3),  # which address
            st.lists(st.integers(len(PHOTO), 1800), min_size=1, max_size=3),  # its photos
        ),
        max_size=8,
    )
)
def test_waiting_photos_stay_within_both_caps_whatever_is_shared(caps, sent):
    waiting.sweep(root(), -1)  # each example starts with nothing waiting
    for address, sizes in sent:
        outcome = shares.share_receive(
            None, [photo(size) for size in sizes], {}, f"198.51.100.{address}"
        )
        assert {p.status for p in outcome.problems} <= {429, 503}
        total, by_sender = waiting_photo_bytes()
        assert total <= 6000 and all(size <= 2500 for size in by_sender.values())


def test_a_waiting_photo_gone_during_the_claim_is_refused_and_the_others_stored(user, monkeypatch):
    kept = shares.share_receive(None, [photo(name="a.jpg"), photo(name="b.jpg")], {}, ADDRESS)
    real_take = waiting.take

    def take_then_lose_one(*args, **kwargs):
        share = real_take(*args, **kwargs)
        share.photos[0].path.unlink()  # swept, or removed by hand, as the claim goes on
        return share

    monkeypatch.setattr(waiting, "take", take_then_lose_one)
    outcome = shares.share_claim(user, kept.token)
    assert [(p.name, p.status) for p in outcome.problems] == [("a.jpg", 410)]
    assert "is gone. Share it again." in outcome.problems[0].message
    assert [i.original_name for i in outcome.images] == ["b.jpg"]


def test_the_periodic_sweep_removes_shares_whose_wait_is_over(settings):
    shares.share_receive(None, [photo()], {}, ADDRESS)
    settings.VISIONQA = {**settings.VISIONQA, "SHARE_WAIT_MIN": -1}
    shares.waiting_sweep()
    assert not [d for d in root().iterdir() if d.is_dir()]


def test_the_periodic_sweep_leaves_the_shares_to_one_being_kept(settings):
    shares.share_receive(None, [photo()], {}, ADDRESS)
    settings.VISIONQA = {**settings.VISIONQA, "SHARE_WAIT_MIN": -1}
    with waiting.locked(root()):  # a share is being kept: it sweeps, under the lock
        shares.waiting_sweep()  # at once, not waiting for it
        assert [d for d in root().iterdir() if d.is_dir()]


def test_the_periodic_sweep_with_nothing_ever_shared_makes_no_directory():
    shares.waiting_sweep()
    assert not root().exists()


@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    raw=st.text(max_size=shares.PREFILL_LIMIT),
    photos=st.integers(0, 8),
)
def test_the_way_on_stays_short_in_any_script_and_reads_back_a_start_of_the_text(user, raw, photos):
    text = shares.share_text({"text": raw})  # what a share's text always is
    images = [Image(id=uuid.uuid4()) for _ in range(photos)]
    url = shares.continue_url(shares.ShareOutcome(text=text, images=images))
    # Well under the 8 KB a proxy takes in a request line, with its method and version.
    assert len(url) <= shares.PREFILL_QUERY_BYTES + 400
    query = QueryDict(urlsplit(url).query)
    assert text.startswith(shares.attachments(user, query).text)
    assert query.get("photos", "") == ",".join(str(i.id) for i in images)


def test_a_long_text_in_another_script_is_cut_in_the_address_not_lost_whole(user):
    text = "这是什么植物" * 333  # 1998 characters, 9 bytes each once encoded
    url = shares.continue_url(shares.ShareOutcome(text=text))
    read = shares.attachments(user, QueryDict(urlsplit(url).query)).text
    assert len(url) < 8000 and text.startswith(read)
    assert len(read) == shares.PREFILL_QUERY_BYTES // 9
