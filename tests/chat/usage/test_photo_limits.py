"""Each person's photos: photos per hour and photo storage in all, with the
defaults from settings and an administrator's own figures for one person.
A refused upload gets a plain message and writes nothing to disk."""

import threading
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from chat.conversations import reply_services, services
from chat.errors import ServiceError
from chat.llm.catalog import OFFLINE_MODEL_ID
from chat.models import Image, UserLimit
from chat.photos import images as photo
from chat.teams import sharing
from chat.usage import photo_limits
from tests.helpers.factories import (
    conversation_factory,
    image_factory,
    jpeg_bytes,
    user_factory,
)

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


def upload(client, data=None):
    data = data or jpeg_bytes((320, 240))
    return client.post("/api/images/", {"file": SimpleUploadedFile("photo.jpg", data)})


def stored_files(settings):
    """Every file under MEDIA_ROOT, once the earlier uploads' cached pictures
    (made in the background) are written."""
    photo._warm_pool().submit(lambda: None).result()
    root = settings.MEDIA_ROOT
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def limits(settings, **values):
    settings.VISIONQA = {**settings.VISIONQA, **values}


def made_earlier(image, ago):
    Image.objects.filter(pk=image.pk).update(created_at=image.created_at - ago)


def stored_as(image, size):
    """Make `image` count as `size` bytes of storage."""
    Image.objects.filter(pk=image.pk).update(size_bytes=size)


@pytest.fixture
def person(client):
    user = user_factory()
    client.force_login(user)
    return user


# --- photos per hour -------------------------------------------------------------


def test_a_photo_past_the_hourly_limit_is_refused_with_a_429_and_nothing_is_written(
    client, person, settings
):
    limits(settings, PHOTOS_PER_HOUR=2)
    assert [upload(client).status_code for _ in range(2)] == [201, 201]
    before = stored_files(settings)
    response = upload(client)
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "photo_rate_limited"
    assert error["message"].startswith("You've added 2 photos in the last hour, your limit.")
    assert stored_files(settings) == before
    assert Image.objects.filter(owner=person).count() == 2


def test_the_hourly_limit_says_when_the_next_photo_can_be_added(client, person, settings):
    limits(settings, PHOTOS_PER_HOUR=2)
    first, second = image_factory(person), image_factory(person)
    made_earlier(first, timedelta(minutes=50))
    made_earlier(second, timedelta(minutes=20))
    response = upload(client)
    assert response.json()["error"]["message"].endswith("Try again in 10 minutes.")
    assert 540 < int(response["Retry-After"]) <= 600


def test_photos_older_than_an_hour_leave_room(client, person, settings):
    limits(settings, PHOTOS_PER_HOUR=1)
    made_earlier(image_factory(person), timedelta(minutes=61))
    assert upload(client).status_code == 201


def test_one_persons_photos_leave_others_room(client, person, settings):
    limits(settings, PHOTOS_PER_HOUR=1)
    image_factory(user_factory())
    assert upload(client).status_code == 201


def test_a_limit_of_no_photos_says_to_ask_an_administrator(client, person, settings):
    limits(settings, PHOTOS_PER_HOUR=0)
    response = upload(client)
    assert response.status_code == 429
    assert "Ask an administrator" in response.json()["error"]["message"]


# --- photo storage ----------------------------------------------------------------


def test_a_photo_past_the_storage_is_refused_with_a_413_and_nothing_is_written(
    client, person, settings
):
    limits(settings, PHOTO_STORAGE_MB=1)
    stored_as(image_factory(person), MB - 1000)
    before = stored_files(settings)
    response = upload(client, jpeg_bytes((800, 600)))
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "photo_storage_full"
    assert error["message"].startswith("This photo (")
    assert "doesn't fit in your 1 MB of photo storage: less than 0.1 MB is left." in (
        error["message"]
    )
    assert stored_files(settings) == before
    assert Image.objects.filter(owner=person).count() == 1


def test_a_full_store_says_so_plainly(client, person, settings):
    limits(settings, PHOTO_STORAGE_MB=500)
    stored_as(image_factory(person), 500 * MB)
    response = upload(client)
    assert response.status_code == 413
    assert response.json()["error"]["message"] == (
        "You have used your 500 MB of photo storage. Ask an administrator for more room."
    )


def test_a_full_store_refuses_before_the_photo_is_decoded(client, person, settings, monkeypatch):
    limits(settings, PHOTO_STORAGE_MB=1)
    stored_as(image_factory(person), MB)
    decoded = []
    monkeypatch.setattr(photo, "process_upload", lambda f: decoded.append(f))
    assert upload(client).status_code == 413
    assert decoded == []


def test_a_photo_that_just_fits_is_kept(client, person, settings):
    limits(settings, PHOTO_STORAGE_MB=1)
    data = jpeg_bytes((320, 240))
    kept = upload(client, data).json()
    size = Image.objects.get(pk=kept["id"]).size_bytes
    Image.objects.filter(pk=kept["id"]).update(size_bytes=MB - size)  # exactly this much room
    assert upload(client, data).status_code == 201
    assert photo_limits.photo_storage_used(person) == MB


def test_a_copy_of_a_conversation_takes_no_more_photo_storage(person):
    conversation = conversation_factory(owner=person)
    image = image_factory(person)
    services_ask(person, conversation, image)
    used = photo_limits.photo_storage_used(person)
    sharing.conversation_fork(person, conversation)
    assert photo_limits.photo_storage_used(person) == used
    assert Image.objects.count() == 1


def services_ask(user, conversation, image):
    reply_services.question_ask(
        user,
        conversation,
        text="What is this?",
        image_ids=[str(image.id)],
        model_id=OFFLINE_MODEL_ID,
        detail="auto",
        options={},
    )


# --- an administrator's own figures ------------------------------------------------


@pytest.fixture
def admin_client():
    staff = user_factory(username="boss", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    return client


def test_an_administrator_raises_one_persons_storage_in_the_admin(
    client, person, settings, admin_client
):
    limits(settings, PHOTO_STORAGE_MB=1)
    stored_as(image_factory(person), MB)
    assert upload(client).status_code == 413
    response = admin_client.post(
        "/admin/chat/userlimit/add/", {"user": person.pk, "photo_storage_mb": "2"}
    )
    assert response.status_code == 302
    assert upload(client).status_code == 201


def test_an_administrators_photos_per_hour_apply_to_that_person_only(
    client, person, settings, admin_client
):
    limits(settings, PHOTOS_PER_HOUR=100)
    admin_client.post("/admin/chat/userlimit/add/", {"user": person.pk, "photos_per_hour": "1"})
    assert [upload(client).status_code for _ in range(2)] == [201, 429]
    other = Client()
    other.force_login(user_factory())
    assert [upload(other).status_code for _ in range(2)] == [201, 201]


def test_an_empty_figure_in_the_admin_means_the_default(person, settings):
    limits(settings, PHOTOS_PER_HOUR=7, PHOTO_STORAGE_MB=300)
    UserLimit.objects.create(user=person, monthly_tokens=1000)
    assert photo_limits.photo_allowance(person) == photo_limits.PhotoAllowance(7, 300)


def test_the_admin_page_shows_the_defaults_and_the_storage_used(person, settings, admin_client):
    limits(settings, PHOTOS_PER_HOUR=7, PHOTO_STORAGE_MB=300)
    stored_as(image_factory(person), 30 * MB)
    page = admin_client.get("/admin/chat/userlimit/add/").content.decode()
    assert "Empty: the default for everyone, 7." in page
    assert "Empty: the default for everyone, 300 MB." in page
    own = UserLimit.objects.create(user=person)
    page = admin_client.get(f"/admin/chat/userlimit/{own.pk}/change/").content.decode()
    assert "30.0 MB of 300 MB" in page


# --- never over ---------------------------------------------------------------------


@pytest.fixture
def stored_sizes(monkeypatch):
    """image_create storing photos of the sizes given, without decoding any:
    what is counted here is bytes, and the decode is the same for every size."""
    sizes = []

    def process_upload(fileobj):
        size = sizes.pop(0)
        return photo.StoredPhoto(
            content=b"\0" * size,
            content_type="image/jpeg",
            extension="jpg",
            width=32,
            height=32,
            thumbnail=b"\0",
        )

    monkeypatch.setattr(photo, "process_upload", process_upload)
    monkeypatch.setattr(photo, "warm", lambda *args: None)
    return sizes


def an_upload():
    return SimpleUploadedFile("photo.jpg", b"any bytes: the decode is stood in for")


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    storage_kb=st.integers(0, 64),
    sizes_kb=st.lists(st.integers(1, 24), min_size=1, max_size=12),
)
def test_photo_storage_is_never_exceeded_and_never_refused_with_room(
    settings, stored_sizes, storage_kb, sizes_kb
):
    # MB here is 1 KB, so that a few small files fill it.
    limits(settings, PHOTO_STORAGE_MB=storage_kb, PHOTOS_PER_HOUR=1000)
    user = user_factory()
    used = 0
    for kb in sizes_kb:
        stored_sizes[:] = [kb * 1024]
        before = len(stored_files(settings))
        try:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(photo_limits, "MB", 1024)
                services.image_create(user, an_upload())
        except ServiceError as refusal:
            assert refusal.status == 413
            assert used + kb > storage_kb  # refused only when it would not fit
            assert len(stored_files(settings)) == before  # and nothing written
        else:
            used += kb
            assert len(stored_files(settings)) == before + 2  # the photo and its thumbnail
        assert photo_limits.photo_storage_used(user) == used * 1024 <= storage_kb * 1024


@pytest.mark.django_db(transaction=True)
def test_two_uploads_at_once_cannot_both_take_the_last_room(settings, stored_sizes):
    limits(settings, PHOTO_STORAGE_MB=1)
    user = user_factory()
    stored_sizes.extend([MB // 2 + 1, MB // 2 + 1])
    decoded = threading.Barrier(2)
    real = photo.process_upload

    def decode_together(fileobj):
        stored = real(fileobj)
        decoded.wait(timeout=10)  # both past their first check, both about to store
        return stored

    outcomes = []

    def store():
        try:
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr(photo, "process_upload", decode_together)
                services.image_create(user, an_upload())
            outcomes.append("stored")
        except ServiceError as refusal:
            outcomes.append(refusal.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=store) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["photo_storage_full", "stored"]
    assert photo_limits.photo_storage_used(user) <= MB


# --- the sizes counted ------------------------------------------------------------


def test_migration_sets_each_photos_counted_size_from_its_file(person):
    import importlib

    from django.apps import apps

    rewritten, missing = image_factory(person), image_factory(person)
    Image.objects.filter(pk=rewritten.pk).update(size_bytes=rewritten.size_bytes + 4096)
    Image.objects.filter(pk=missing.pk).update(size_bytes=12345)
    missing.file.delete(save=False)
    migration = importlib.import_module("chat.migrations.0010_attempts_photo_limits")
    migration.sizes_from_files(apps, None)
    rewritten.refresh_from_db()
    missing.refresh_from_db()
    assert rewritten.size_bytes == rewritten.file.size
    assert missing.size_bytes == 12345
