import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage

from chat.models import Image, Message
from tests.helpers.factories import (
    PASSWORD,
    conversation_factory,
    image_factory,
    jpeg_bytes,
    user_factory,
)
from tests.helpers.writes import writes_counted

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(client, user):
    client.force_login(user)
    return client


def upload(client, data, name="photo.jpg"):
    return client.post("/api/images/", {"file": SimpleUploadedFile(name, data)})


def test_upload_returns_id_size_and_thumbnail(api):
    response = upload(api, jpeg_bytes((800, 600)))
    assert response.status_code == 201
    body = response.json()
    assert (body["width"], body["height"]) == (800, 600)
    thumb = api.get(body["thumbnail_url"])
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    assert "private" in thumb["Cache-Control"]


def test_the_full_photo_is_served_beside_its_thumbnail(api):
    """The full-screen viewer's picture: the stored photo, kept as privately."""
    body = upload(api, jpeg_bytes((800, 600))).json()
    full = api.get(body["thumbnail_url"] + "?size=full")
    assert full.status_code == 200 and full["Content-Type"] == "image/jpeg"
    assert PILImage.open(io.BytesIO(b"".join(full.streaming_content))).size == (800, 600)
    assert "no-store" in full["Cache-Control"]


def test_upload_applies_exif_rotation_and_strips_metadata(api, settings):
    exif = PILImage.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    exif[0x010F] = "PhoneMaker"
    response = upload(api, jpeg_bytes((800, 600), exif=exif.tobytes()))
    body = response.json()
    assert (body["width"], body["height"]) == (600, 800)
    stored = Image.objects.get(id=body["id"])
    with PILImage.open(stored.file.path) as img:
        assert not img.getexif()


def test_text_file_named_jpg_is_refused_with_a_plain_message(api):
    response = upload(api, b"hello, I am not a photo")
    assert response.status_code == 415
    assert response.json()["error"] == {
        "code": "not_an_image",
        "message": "This file isn't a photo we can read.",
    }
    assert not Image.objects.exists()


def test_empty_file_is_refused(api):
    response = upload(api, b"")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "empty_file"


def test_upload_without_file_field_is_refused(api):
    response = api.post("/api/images/", {})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "missing_file"


def test_oversized_upload_is_refused(api, settings):
    settings.VISIONQA = {**settings.VISIONQA, "MAX_UPLOAD_BYTES": 1000}
    response = upload(api, jpeg_bytes((800, 600)))
    assert response.status_code == 413


def test_png_with_alpha_is_kept_as_png(api):
    buffer = io.BytesIO()
    PILImage.new("RGBA", (100, 80), (255, 0, 0, 128)).save(buffer, "PNG")
    body = upload(api, buffer.getvalue(), "x.png").json()
    assert Image.objects.get(id=body["id"]).content_type == "image/png"


def test_api_needs_login_and_answers_in_json(client):
    response = client.get("/api/models/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_wrong_method_is_405_in_json(api):
    response = api.get("/api/images/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_unknown_api_path_is_404_in_json(api):
    assert api.get("/api/nothing/").json()["error"]["code"] == "not_found"


def test_post_without_csrf_token_is_403_in_json(user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post("/api/conversations/", "{}", content_type="application/json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


def test_create_conversation(api):
    response = api.post("/api/conversations/", "{}", content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert body["url"] == f"/c/{body['id']}/"


def test_create_conversation_with_bad_json_is_400(api):
    response = api.post("/api/conversations/", "{nope", content_type="application/json")
    assert response.status_code == 400


def test_conversation_detail_follows_the_contract(api, user):
    conversation = conversation_factory(owner=user, title="Plant")
    image = image_factory(owner=user)
    question = Message.objects.create(conversation=conversation, role="user", text="What?")
    question.messageimage_set.create(image=image, position=0)
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        text="Mint",
        reasoning="Leaves.",
        model="alibaba/qwen3-vl-32b-thinking",
        finish_reason="stop",
        usage={"prompt_tokens": 1, "completion_tokens": 2, "reasoning_tokens": 1},
    )
    body = api.get(f"/api/conversations/{conversation.id}/").json()
    assert body["id"] == str(conversation.id) and body["title"] == "Plant"
    first, second = body["messages"]
    assert set(first) >= {
        "id",
        "role",
        "text",
        "reasoning",
        "images",
        "model",
        "status",
        "finish_reason",
        "usage",
        "created_at",
    }
    assert first["images"][0]["thumbnail_url"].endswith("/thumbnail/")
    assert (second["text"], second["reasoning"], second["finish_reason"]) == (
        "Mint",
        "Leaves.",
        "stop",
    )


def test_reading_a_conversation_shows_a_dead_reply_as_interrupted_and_writes_nothing(api, user):
    conversation = conversation_factory(owner=user)
    reply = Message.objects.create(
        conversation=conversation, role="assistant", status="streaming", text="Half"
    )
    Message.objects.filter(id=reply.id).update(updated_at=reply.updated_at - timedelta(minutes=5))
    with writes_counted() as writes:
        body = api.get(f"/api/conversations/{conversation.id}/").json()
    assert [(m["status"], m["text"]) for m in body["messages"]] == [("interrupted", "Half")]
    assert writes == []


def test_another_users_conversation_and_photo_are_404(api):
    other = user_factory()
    conversation = conversation_factory(owner=other)
    image = image_factory(owner=other)
    assert api.get(f"/api/conversations/{conversation.id}/").status_code == 404
    assert api.get(f"/api/images/{image.id}/thumbnail/").status_code == 404
    assert api.get(f"/api/images/{image.id}/thumbnail/?size=full").status_code == 404
    assert api.get("/api/conversations/not-a-uuid/").status_code == 404


def test_model_catalog_without_key_offers_only_the_offline_demo(api, settings):
    settings.AIMLAPI_KEY = ""
    models = {m["id"]: m for m in api.get("/api/models/").json()["models"]}
    assert models["visionqa/offline-demo"]["available"] is True
    assert models["alibaba/qwen3-vl-32b-thinking"]["available"] is False
    assert set(models["alibaba/qwen3-32b"]) >= {"id", "label", "vision", "reasoning", "available"}
    assert models["Qwen/QwQ-32B"]["vision"] is False


def test_model_catalog_with_key_offers_all_four(api, settings):
    settings.AIMLAPI_KEY = "k"
    models = api.get("/api/models/").json()["models"]
    assert all(m["available"] for m in models)


def test_login_page_and_conversation_page_render(client, user):
    assert client.get("/").status_code == 302
    client.login(username=user.username, password=PASSWORD)
    conversation = conversation_factory(owner=user, title="Mine")
    page = client.get(conversation.get_absolute_url())
    assert page.status_code == 200 and b"Mine" in page.content
    other = conversation_factory()
    assert client.get(other.get_absolute_url()).status_code == 404


@pytest.mark.parametrize(
    "body", ['{"title": "bad \\ud800 title"}', "[" * 5000 + "]" * 5000, '{"title": 5}']
)
def test_bad_conversation_body_is_400_in_json(api, body):
    response = api.post("/api/conversations/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["message"]


def test_malformed_multipart_upload_is_400_in_json(api):
    response = api.post(
        "/api/images/", b"garbage", content_type="multipart/form-data; boundary=nope"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"bad_upload", "missing_file"}


def stored_files(settings):
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"", 400),
        (b"GIF89a not really", 415),
        (jpeg_bytes((800, 600))[:400], 415),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', 415),
    ],
    ids=["empty", "fake-gif", "truncated", "svg"],
)
def test_refused_upload_stores_nothing(api, settings, data, status):
    response = upload(api, data)
    assert response.status_code == status
    assert response.json()["error"]["message"]
    assert not Image.objects.exists() and stored_files(settings) == []


@pytest.fixture
def received(monkeypatch):
    """Bytes of upload our size limit saw arrive."""
    from chat.web import uploads

    seen = []
    real = uploads.SizeLimitHandler.receive_data_chunk

    def counting(self, raw_data, start):
        seen.append(len(raw_data))
        return real(self, raw_data, start)

    monkeypatch.setattr(uploads.SizeLimitHandler, "receive_data_chunk", counting)
    return seen


def test_sixty_megabyte_upload_is_refused_without_reading_it(api, settings, received):
    response = upload(api, b"\xff" * (60 * 1024 * 1024), "huge.jpg")
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "file_too_large"
    assert sum(received) == 0
    assert not Image.objects.exists() and stored_files(settings) == []


def test_upload_past_the_limit_is_stopped_while_it_streams(api, settings, received):
    # Declared size within the framing allowance, so only the streaming check can catch it.
    settings.VISIONQA = {**settings.VISIONQA, "MAX_UPLOAD_BYTES": 1024 * 1024}
    response = upload(api, b"\xff" * (1024 * 1024 + 40 * 1024), "big.jpg")
    assert response.status_code == 413
    # Stopped at the first chunk past the limit (chunks are 64 KB).
    assert 1024 * 1024 < sum(received) <= 1024 * 1024 + 64 * 1024
    assert not Image.objects.exists() and stored_files(settings) == []


def test_declared_oversized_upload_is_refused_before_reading(api):
    response = api.post(
        "/api/images/",
        {"file": SimpleUploadedFile("x.jpg", jpeg_bytes())},
        CONTENT_LENGTH=str(60 * 1024 * 1024),
    )
    assert response.status_code == 413


def test_upload_reports_visual_tokens_per_detail(api):
    body = upload(api, jpeg_bytes((4032, 3024))).json()
    # Kept at the "high" size, 2336×1760: what each detail will send from it.
    assert (body["width"], body["height"]) == (2336, 1760)
    assert body["visual_tokens"] == {"low": 234, "auto": 1271, "high": 4015}


def test_a_question_shows_its_regions_numbered_and_what_it_asked_to_find(api, user):
    conversation = conversation_factory(owner=user)
    image = image_factory(owner=user, size=(1000, 800))
    boxes = [[120, 80, 560, 400], [0, 0, 1000, 1000]]
    question = Message.objects.create(
        conversation=conversation,
        role="user",
        text="Find: keys",
        find="keys",
        regions=[{"image": str(image.id), "box": box} for box in boxes],
    )
    question.messageimage_set.create(image=image, position=0)
    Message.objects.create(conversation=conversation, role="assistant", text="None.")
    first, second = api.get(f"/api/conversations/{conversation.id}/").json()["messages"]
    assert first["find"] == "keys"
    assert first["regions"] == [
        # 440×256 stored pixels → 13×8 patches; the whole photo: 31×25 at "high".
        {"n": 1, "image": str(image.id), "box": boxes[0], "tokens": 13 * 8},
        {"n": 2, "image": str(image.id), "box": boxes[1], "tokens": 31 * 25},
    ]
    assert (second["regions"], second["find"]) == ([], None)
