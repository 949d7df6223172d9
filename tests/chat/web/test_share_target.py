"""Photos shared from a phone's share sheet: the multipart POST as Android
sends it (no CSRF token), logged in or not, and everything a share can get
wrong (chat/web/share_target.py, chat/conversations/shares.py)."""

import json
import logging
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chat.models import Image
from tests.helpers.factories import PASSWORD, jpeg_bytes, user_factory
from tests.helpers.realphotos import real_photo

pytestmark = pytest.mark.django_db

CLAIM = "/share-target/claim/"
LOGIN_NEXT = f"/accounts/login/?next={CLAIM}"


@pytest.fixture
def phone():
    """The phone's browser: Django's test client refusing any POST without a
    CSRF token, as the site does. Android's share carries none."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture(autouse=True)
def no_tracebacks(caplog):
    """Whatever a share sends, the log has no error and no traceback."""
    caplog.set_level(logging.INFO)
    yield
    for record in caplog.records:
        assert record.levelno < logging.ERROR and not record.exc_info, record.getMessage()


def photo_file(name="IMG_0001.jpg", size=(800, 600)):
    return SimpleUploadedFile(name, jpeg_bytes(size), content_type="image/jpeg")


def share(client, photos, **fields):
    """POST as Android's share sheet does: the files under "photos", beside
    the manifest's text fields (empty when the app sends none)."""
    data = {"title": "", "text": "", "url": "", **fields, "photos": photos}
    return client.post("/share-target/", data, HTTP_SEC_FETCH_SITE="none")


def photos_in(location):
    return parse_qs(urlsplit(location).query).get("photos", [""])[0].split(",")


def boot_of(response):
    found = re.search(r'<script id="boot" type="application/json">(.*?)</script>', response.text)
    return json.loads(found.group(1))


def waiting_shares():
    """The shares waiting on disk (beside them, the lock file)."""
    root = Path(settings.MEDIA_ROOT) / "shares"
    return [d for d in root.iterdir() if d.is_dir()] if root.is_dir() else []


def log_in(client, user, next_url):
    """The log-in form, as the person fills it in after the share."""
    client.get(f"/accounts/login/?next={next_url}")
    form = {"username": user.username, "password": PASSWORD, "next": next_url}
    form["csrfmiddlewaretoken"] = client.cookies[settings.CSRF_COOKIE_NAME].value
    return client.post("/accounts/login/", form)


def test_a_logged_in_share_opens_a_new_question_with_the_photos(phone, user):
    phone.force_login(user)
    response = share(phone, [photo_file("a.jpg"), photo_file("b.jpg", (600, 800))])
    assert response.status_code == 303
    ids = photos_in(response["Location"])
    images = Image.objects.filter(owner=user)
    assert sorted(ids) == sorted(str(i.id) for i in images) and len(ids) == 2
    page = phone.get(response["Location"])
    boot = boot_of(page)
    assert [p["id"] for p in boot["attached"]] == ids
    assert [(p["width"], p["height"]) for p in boot["attached"]] == [(800, 600), (600, 800)]
    assert boot["conversationId"] is None  # a new conversation, not yet asked


def test_the_text_shared_along_is_put_in_the_question_box(phone, user):
    phone.force_login(user)
    response = share(
        phone, [photo_file()], title="My plant", text="What is this? https://x.example/p", url=""
    )
    page = phone.get(response["Location"])
    assert boot_of(page)["prefill"] == "My plant\nWhat is this? https://x.example/p"


def test_a_real_phone_photo_goes_through_the_upload_pipeline(phone, user):
    path = real_photo("Portrait_6.jpg")
    phone.force_login(user)
    upload = SimpleUploadedFile("Portrait_6.jpg", path.read_bytes(), content_type="image/jpeg")
    response = share(phone, [upload])
    assert response.status_code == 303
    image = Image.objects.get(owner=user)
    # Stored as any upload is: upright (its EXIF said to turn it), metadata gone.
    assert image.height > image.width and image.original_name == "Portrait_6.jpg"


def test_logged_out_the_photos_wait_for_the_log_in_then_open_with_it(phone):
    person = user_factory(username="sam")
    response = share(phone, [photo_file("a.jpg"), photo_file("b.jpg")], text="Is it ripe?")
    assert response.status_code == 303 and response["Location"] == LOGIN_NEXT
    assert not Image.objects.exists()  # nothing is decoded for no one
    assert len(waiting_shares()) == 1

    login_page = phone.get(response["Location"])
    assert f'name="next" value="{CLAIM}"' in login_page.text
    logged_in = log_in(phone, person, CLAIM)
    assert logged_in.status_code == 302 and logged_in["Location"] == CLAIM
    claimed = phone.get(CLAIM)
    assert claimed.status_code == 303
    images = Image.objects.filter(owner=person)
    assert sorted(photos_in(claimed["Location"])) == sorted(str(i.id) for i in images)
    assert len(images) == 2
    page = phone.get(claimed["Location"])
    assert len(boot_of(page)["attached"]) == 2 and boot_of(page)["prefill"] == "Is it ripe?"
    # Taken: nothing waits any more, and claiming again finds nothing.
    assert not waiting_shares()
    again = phone.get(CLAIM)
    assert again.status_code == 303 and again["Location"] == "/"
    assert Image.objects.count() == 2


def test_someone_elses_session_claims_nothing(phone, client):
    share(phone, [photo_file()])
    other = user_factory(username="other")
    client.force_login(other)
    response = client.get(CLAIM)
    assert response.status_code == 303 and response["Location"] == "/"
    assert not Image.objects.exists()


def test_photos_that_waited_too_long_are_gone_and_the_page_says_so(phone, settings):
    share(phone, [photo_file()])
    settings.VISIONQA = {**settings.VISIONQA, "SHARE_WAIT_MIN": 0}
    log_in(phone, user_factory(), CLAIM)
    response = phone.get(CLAIM)
    assert response.status_code == 410
    assert "waited too long" in response.text and "Share them again" in response.text
    assert not Image.objects.exists() and not waiting_shares()


def test_a_newer_share_replaces_one_still_waiting(phone):
    share(phone, [photo_file("first.jpg")])
    share(phone, [photo_file("second.jpg"), photo_file("third.jpg")])
    assert len(waiting_shares()) == 1
    person = user_factory()
    log_in(phone, person, CLAIM)
    phone.get(CLAIM)
    names = sorted(Image.objects.filter(owner=person).values_list("original_name", flat=True))
    assert names == ["second.jpg", "third.jpg"]


def test_a_share_with_no_photos_is_a_clear_400(phone, user):
    phone.force_login(user)
    response = share(phone, [], text="hello")
    assert response.status_code == 400
    assert "No photos came with this share" in response.text


def test_a_file_that_isnt_a_photo_is_refused_and_the_photos_are_kept(phone, user):
    phone.force_login(user)
    notes = SimpleUploadedFile("notes.txt", b"just some text", content_type="text/plain")
    response = share(phone, [photo_file("good.jpg"), notes])
    assert response.status_code == 415
    assert "notes.txt" in response.text and "isn&#x27;t a photo we can read" in response.text
    assert "1 photo was added." in response.text
    image = Image.objects.get(owner=user)
    # The way on, with the photo that was added.
    link = re.search(r'<a class="button primary" href="([^"]+)">Ask about them</a>', response.text)
    assert link and photos_in(link.group(1).replace("&amp;", "&")) == [str(image.id)]


def test_logged_out_a_file_that_isnt_a_photo_is_refused_without_decoding(phone, decode_holds):
    notes = SimpleUploadedFile("notes.pdf", b"%PDF-1.4 not a photo", content_type="image/jpeg")
    response = share(phone, [photo_file(), notes])
    assert response.status_code == 415 and "notes.pdf" in response.text
    assert "1 photo is waiting for you to log in." in response.text
    assert f'href="{LOGIN_NEXT}"' in response.text.replace("&amp;", "&")
    assert decode_holds == []  # only the headers were read
    person = user_factory()
    log_in(phone, person, CLAIM)
    assert phone.get(CLAIM).status_code == 303
    assert Image.objects.filter(owner=person).count() == 1


def test_a_photo_over_the_size_limit_is_refused_with_413(phone, user, settings):
    settings.VISIONQA = {**settings.VISIONQA, "MAX_UPLOAD_BYTES": 20_000}
    phone.force_login(user)
    big = SimpleUploadedFile("big.jpg", jpeg_bytes((1600, 1200)) + b"\0" * 20_000)
    response = share(phone, [big, photo_file("small.jpg", (100, 100))])
    assert response.status_code == 413 and "big.jpg" in response.text
    assert Image.objects.filter(owner=user).count() == 1


def test_logged_out_a_photo_over_the_size_limit_is_not_kept(phone, settings):
    settings.VISIONQA = {**settings.VISIONQA, "MAX_UPLOAD_BYTES": 20_000}
    big = SimpleUploadedFile("big.jpg", jpeg_bytes((1600, 1200)) + b"\0" * 20_000)
    response = share(phone, [big])
    assert response.status_code == 413 and "larger than" in response.text
    assert "_auth_user_id" not in phone.session and "share_waiting" not in phone.session
    assert not waiting_shares()


def test_more_photos_than_a_question_takes_keeps_the_first_ones(phone, user):
    phone.force_login(user)
    limit = settings.VISIONQA["MAX_IMAGES_PER_QUESTION"]
    response = share(phone, [photo_file(f"{n}.jpg", (64, 64)) for n in range(limit + 2)])
    assert response.status_code == 400
    assert f"at most {limit} photos: the last 2 were left out" in response.text
    names = set(Image.objects.filter(owner=user).values_list("original_name", flat=True))
    assert names == {f"{n}.jpg" for n in range(limit)}


def test_the_photo_limits_apply_on_claim_too(phone, settings):
    settings.VISIONQA = {**settings.VISIONQA, "PHOTOS_PER_HOUR": 1}
    share(phone, [photo_file("one.jpg"), photo_file("two.jpg")])
    person = user_factory()
    log_in(phone, person, CLAIM)
    response = phone.get(CLAIM)
    assert response.status_code == 429 and "two.jpg" in response.text
    assert Image.objects.filter(owner=person).count() == 1


def test_everyones_waiting_photos_are_capped(phone, settings):
    settings.VISIONQA = {**settings.VISIONQA, "SHARE_WAITING_MAX_BYTES": 1}
    response = share(phone, [photo_file()])
    assert response.status_code == 503 and "Log in to VisionQA first" in response.text
    assert "share_waiting" not in phone.session


def test_one_address_cannot_fill_everyones_waiting_photos(phone, settings):
    settings.VISIONQA = {**settings.VISIONQA, "SHARE_WAITING_PER_ADDRESS_BYTES": 1}
    response = share(phone, [photo_file("a.jpg")])
    assert response.status_code == 429 and "a.jpg" in response.text
    assert "Too many photos shared from your network" in response.text
    assert "Log in to VisionQA first, then share this photo again." in response.text
    assert "share_waiting" not in phone.session and not waiting_shares()


def test_a_share_is_counted_against_the_address_it_came_from(settings):
    settings.VISIONQA = {**settings.VISIONQA, "SHARE_WAITING_PER_ADDRESS_BYTES": 30_000}
    first, second, elsewhere = Client(), Client(), Client()

    def from_address(client, address):
        """A share of 20 000 bytes: one fits in an address's room, two don't."""
        big = SimpleUploadedFile("a.jpg", jpeg_bytes((64, 64)) + b"\0" * 20_000)
        data = {"photos": [big], "title": "", "text": "", "url": ""}
        response = client.post(
            "/share-target/", data, HTTP_SEC_FETCH_SITE="none", REMOTE_ADDR=address
        )
        return response.status_code

    assert from_address(first, "198.51.100.7") == 303
    assert from_address(second, "198.51.100.7") == 429
    assert from_address(elsewhere, "203.0.113.9") == 303


def test_logging_out_discards_the_photos_the_session_kept_waiting(phone):
    share(phone, [photo_file()])
    log_in(phone, user_factory(), "/")  # logged in, but never at the claim
    assert len(waiting_shares()) == 1
    token = phone.cookies[settings.CSRF_COOKIE_NAME].value
    assert phone.post("/accounts/logout/", {"csrfmiddlewaretoken": token}).status_code == 302
    assert not waiting_shares()


def test_a_long_text_in_another_script_still_opens_the_question(phone, user):
    phone.force_login(user)
    text = "这株植物的叶子为什么发黄？" * 160  # 2080 characters, 9 bytes each in an address
    response = share(phone, [photo_file()], text=text)
    assert response.status_code == 303 and len(response["Location"]) < 8000
    prefill = boot_of(phone.get(response["Location"]))["prefill"]
    assert len(prefill) > 400 and text.startswith(prefill)


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_SEC_FETCH_SITE": "cross-site"},
        {"HTTP_SEC_FETCH_SITE": "same-site"},
        {"HTTP_ORIGIN": "https://evil.example"},
        {"HTTP_ORIGIN": "null"},
    ],
    ids=["cross-site", "same-site", "other-origin", "opaque-origin"],
)
def test_a_share_posted_by_another_website_adds_nothing(phone, user, headers):
    phone.force_login(user)
    data = {"photos": [photo_file()], "text": "", "title": "", "url": ""}
    response = phone.post("/share-target/", data, **headers)
    assert response.status_code == 403 and "another website" in response.text
    assert not Image.objects.exists()


def test_logged_out_a_share_from_another_website_leaves_no_session(phone):
    data = {"photos": [photo_file()]}
    response = phone.post("/share-target/", data, HTTP_SEC_FETCH_SITE="cross-site")
    assert response.status_code == 403
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert not waiting_shares()


def test_a_share_from_our_own_page_is_taken(phone, user):
    """A browser without Sec-Fetch-Site: its Origin, when ours, is fine."""
    phone.force_login(user)
    data = {"photos": [photo_file()]}
    response = phone.post("/share-target/", data, HTTP_ORIGIN="http://testserver")
    assert response.status_code == 303


def test_a_share_that_cant_be_read_is_a_clear_400(phone):
    response = phone.post(
        "/share-target/",
        b"--x\r\nnot really multipart",
        content_type="multipart/form-data; boundary=",
        HTTP_SEC_FETCH_SITE="none",
    )
    assert response.status_code == 400 and "couldn&#x27;t be read" in response.text


def test_opening_the_share_address_by_hand_goes_home(phone):
    response = phone.get("/share-target/")
    assert response.status_code == 303 and response["Location"] == "/"


def test_the_claim_asks_for_a_log_in_first(phone):
    response = phone.get(CLAIM)
    assert response.status_code == 302 and response["Location"] == LOGIN_NEXT


def test_the_new_conversation_page_attaches_only_the_persons_own_photos(client, user):
    theirs = user_factory(username="theirs")
    client.force_login(theirs)
    other = share(client, [photo_file()])
    client.force_login(user)
    mine = share(client, [photo_file()])
    ids = photos_in(other["Location"]) + photos_in(mine["Location"]) + ["not-an-id"]
    page = client.get("/", {"photos": ",".join(ids)})
    assert [p["id"] for p in boot_of(page)["attached"]] == photos_in(mine["Location"])
