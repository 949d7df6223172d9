"""Every real camera, phone and odd file in ../shared/photos, through the
upload endpoint and every detail the model can be sent."""

import base64
import io

import pytest
from channels.db import database_sync_to_async
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage
from PIL import ImageChops, ImageCms, ImageStat

from chat.conversations import services
from chat.models import Image
from chat.photos.images import TOKEN_BUDGET, encode_for_model, target_size, visual_tokens
from tests.helpers.factories import conversation_factory, user_factory
from tests.helpers.fakeupstream import Scripted, load_sse
from tests.helpers.realphotos import REFUSED, photo_params, real_photo
from tests.helpers.sockets import ask, frames_until_done, open_socket, session_cookie, settle

pytestmark = pytest.mark.django_db

METADATA = {"exif", "xmp", "icc_profile", "comment", "XML:com.adobe.xmp", "photoshop", "dpi"}


def upload(client, path):
    data = SimpleUploadedFile(path.name, path.read_bytes(), content_type="application/octet-stream")
    return client.post("/api/images/", {"file": data})


def stored(client, path):
    response = upload(client, path)
    assert response.status_code == 201, response.content
    return Image.objects.get(id=response.json()["id"])


def assert_clean(content):
    with PILImage.open(io.BytesIO(content)) as img:
        assert not METADATA.intersection(img.info), img.info.keys()
        assert not img.getexif()


@pytest.fixture
def client(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize("path", photo_params())
def test_real_photo_is_stored_or_refused_with_a_plain_message(client, path):
    response = upload(client, path)
    if path.name in REFUSED:
        assert response.status_code == 415
        assert REFUSED[path.name] in response.json()["error"]["message"]
        assert not Image.objects.exists()
    else:
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["width"] > 0 and body["height"] > 0


@pytest.mark.parametrize("path", [p for p in photo_params() if p.id not in REFUSED])
def test_stored_real_photo_and_thumbnail_carry_no_metadata(client, path):
    image = stored(client, path)
    assert_clean(image.file.read())
    assert_clean(image.thumbnail.read())


@pytest.mark.parametrize("path", [p for p in photo_params() if p.id not in REFUSED])
@pytest.mark.parametrize("detail", list(TOKEN_BUDGET))
def test_real_photo_encodes_at_every_detail_within_its_budget(client, path, detail):
    image = stored(client, path)
    mime, content = encode_for_model(image.file.path, detail)
    assert_clean(content)
    with PILImage.open(io.BytesIO(content)) as sent:
        assert sent.format == {"image/jpeg": "JPEG", "image/png": "PNG"}[mime]
        assert sent.size == target_size(image.width, image.height, detail)
    assert visual_tokens(image.width, image.height, detail) <= TOKEN_BUDGET[detail]
    assert len(base64.b64encode(content)) < 10 * 1024 * 1024


def grey_sample(content):
    with PILImage.open(io.BytesIO(content)) as img:
        return img.convert("L").resize((60, 40) if img.width > img.height else (40, 60))


@pytest.mark.parametrize("shape", ["Landscape", "Portrait"])
@pytest.mark.parametrize("orientation", range(9))
def test_every_exif_orientation_comes_out_like_its_upright_twin(client, shape, orientation):
    twin = stored(client, real_photo(f"{shape}_1.jpg"))
    turned = stored(client, real_photo(f"{shape}_{orientation}.jpg"))
    assert (turned.width, turned.height) == (twin.width, twin.height)
    difference = ImageChops.difference(
        grey_sample(turned.file.read()), grey_sample(twin.file.read())
    )
    # JPEG re-encoding differs by a level or two; a wrong turn or mirror by tens.
    assert ImageStat.Stat(difference).mean[0] < 4


def test_iphone_heic_already_turned_by_its_container_is_not_turned_twice(client):
    # arrow.heic: EXIF says 6, but the HEIF's own rotation has already applied it.
    image = stored(client, real_photo("arrow.heic"))
    assert image.height > image.width


def test_display_p3_colours_are_converted_to_srgb_not_just_relabelled(client, tmp_path):
    # The Display P3 profile of a real iPhone photo, on flat patches of colour
    # (a PNG, so nothing but the conversion moves them).
    with PILImage.open(real_photo("pug.heic")) as iphone:
        p3 = iphone.info["icc_profile"]
    colours = [(220, 60, 40), (40, 190, 70), (60, 60, 220), (128, 128, 128)]
    patches = PILImage.new("RGB", (400, 100))
    for n, colour in enumerate(colours):
        patches.paste(colour, (n * 100, 0, n * 100 + 100, 100))
    path = tmp_path / "p3.png"
    patches.save(path, icc_profile=p3)
    expected = ImageCms.profileToProfile(
        patches, ImageCms.ImageCmsProfile(io.BytesIO(p3)), ImageCms.createProfile("sRGB")
    )
    image = stored(client, path)
    with PILImage.open(image.file.path) as kept:
        for n, colour in enumerate(colours[:3]):
            got = kept.convert("RGB").getpixel((n * 100 + 50, 50))
            want = expected.getpixel((n * 100 + 50, 50))
            assert max(abs(a - b) for a, b in zip(got, want, strict=True)) <= 2
            assert max(abs(a - b) for a, b in zip(got, colour, strict=True)) >= 8


FAMILIES = {
    "jpeg": "Portrait_6.jpg",
    "heic": "pug.heic",
    "heif-alpha": "RGBA_8__128x128.heif",
    "png-16-bit": "RGB_16__128x128.png",
    "grey-heic": "L_exif_xmp_iptc.heic",
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", list(FAMILIES.values()), ids=list(FAMILIES))
async def test_real_photo_reaches_the_model_at_every_detail(fake_upstream, name):
    path = real_photo(name)
    owner = await database_sync_to_async(user_factory)()
    conversation = await database_sync_to_async(conversation_factory)(owner=owner)
    upload = SimpleUploadedFile(path.name, path.read_bytes())
    image = await database_sync_to_async(services.image_create)(owner, upload)
    socket = await open_socket(conversation.id, await database_sync_to_async(session_cookie)(owner))
    for detail in TOKEN_BUDGET:
        fake_upstream.enqueue(Scripted(events=load_sse("qwen3-vl-32b-thinking.sse")))
        await socket.send_json_to(ask(images=[str(image.id)], detail=detail))
        assert (await frames_until_done(socket))[-1]["status"] == "completed"
        part = fake_upstream.requests[-1]["json"]["messages"][-1]["content"][1]
        assert part["image_url"]["detail"] == detail
        header, payload = part["image_url"]["url"].split(",", 1)
        content = base64.b64decode(payload)
        assert_clean(content)
        with PILImage.open(io.BytesIO(content)) as sent:
            assert header == f"data:{PILImage.MIME[sent.format]};base64"
            assert sent.size == target_size(image.width, image.height, detail)
    await socket.disconnect()
    await settle()
