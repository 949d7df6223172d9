"""Export a conversation: its data as JSON, a readable Markdown transcript, and a
zip of both with the photos, written as it streams (never whole in memory).

Plain core: a Conversation in; a dict, text or bytes out. Permission and HTTP
are the views' business (api.py)."""

import json
import zipfile
from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from django.core.exceptions import SuspiciousOperation
from django.db.models import prefetch_related_objects
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from chat.conversations import selectors
from chat.conversations.untrusted_markdown import markdown_defuse, markdown_plain
from chat.llm.catalog import get_model, short_name
from chat.models import Conversation, Image, Message
from chat.photos import regions
from chat.teams.people import display_name

CHUNK_BYTES = 64 * 1024
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png"}
STATUS_NOTES = {
    Message.Status.STOPPED: gettext_lazy("Stopped — the answer so far is kept."),
    Message.Status.FAILED: gettext_lazy("This answer failed."),
    Message.Status.INTERRUPTED: gettext_lazy("Interrupted — the server restarted while answering."),
    Message.Status.STREAMING: gettext_lazy("Still being written when this was exported."),
}

# {image id: (the image, its path in the zip)}
Photos = dict[Any, tuple[Image, str]]


@dataclass(frozen=True)
class Drawn:
    """A copy of a photo with one question's regions drawn on it, numbered as
    in that question: its path in the zip, and each (number, box)."""

    image: Image
    path: str
    regions: list[tuple[int, list[int]]]


# {(question id, image id): the copy of that photo with that question's regions}
DrawnPhotos = dict[tuple[Any, str], Drawn]


def filename(conversation: Conversation, extension: str) -> str:
    """A safe ASCII file name from the title: "Plant – Küche!" → "plant-kuche.json"."""
    slug = slugify(conversation.title)[:60].strip("-_") or "conversation"
    return f"{slug}.{extension}"


def conversation_export_json(conversation: Conversation) -> dict[str, Any]:
    """The conversation as data; a photo whose stored file is gone is marked "missing"."""
    data, photos, _copies = _export(conversation)
    _mark_missing(data, {str(i.id) for i, _path in photos.values() if not _stored(i)}, set())
    return data


def json_bytes(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()


def conversation_markdown(conversation: Conversation, data: dict[str, Any]) -> str:
    """A transcript a person can read: each question with its photos, each answer
    with the model's name, its thinking quoted, and its Markdown as written.

    Everything in it but our own lines was written by someone else (a model a
    prompt may have steered, a teammate), and the file will be opened in
    Markdown viewers that trust it: the title and names are plain text, the
    rest is defused (chat.conversations.untrusted_markdown) as the page's
    renderer treats answers: no raw HTML, no remote pictures, no links but
    http, https and mailto. Our own lines are in the active language."""
    title = markdown_plain(conversation.title or "") or _("Untitled conversation")
    lines = [f"# {title}", ""]
    exported = _("Exported from VisionQA on %(when)s.") % {"when": _when(data["exported_at"])}
    lines += [f"*{exported}*", ""]
    if conversation.system_prompt.strip():
        instructions = _("Instructions for this conversation")
        lines += [f"**{instructions}**", "", _quote(conversation.system_prompt)]
        lines.append("")
    for message in data["messages"]:
        lines += ["---", ""]
        lines += _question(message) if message["role"] == Message.Role.USER else _answer(message)
    return "\n".join(lines).rstrip() + "\n"


def conversation_zip_stream(conversation: Conversation) -> Generator[bytes, None, None]:
    """The zip (conversation.md, conversation.json, photos/…) as an iterator of bytes.

    The database is read now; the iterator only reads photo files, so it can run
    in any thread. A photo whose file is gone is left out and noted in both texts.
    The transcript is in the language active now, whichever thread writes it."""
    data, photos, drawn = _export(conversation)
    return _zip_chunks(conversation, data, photos, drawn, translation.get_language())


def _export(conversation: Conversation) -> tuple[dict[str, Any], Photos, DrawnPhotos]:
    messages = selectors.conversation_messages(conversation)
    prefetch_related_objects(messages, "author")
    photos = _photos(messages)
    drawn = _drawn(messages, photos)
    data = {
        "id": str(conversation.id),
        "title": conversation.title,
        "system_prompt": conversation.system_prompt,
        "exported_at": timezone.now().isoformat(),
        "messages": [_message(m, photos, drawn) for m in messages],
    }
    return data, photos, drawn


def _photos(messages: list[Message]) -> Photos:
    """Each distinct photo once, numbered in order of first appearance."""
    photos: Photos = {}
    for message in messages:
        for image in selectors.message_images(message):
            if image.id not in photos:
                path = f"photos/{len(photos) + 1}-{image.id}.{_extension(image)}"
                photos[image.id] = (image, path)
    return photos


def _drawn(messages: list[Message], photos: Photos) -> DrawnPhotos:
    """For each question with regions, a copy of each photo it marked with
    them drawn: photos/<n>-<id>-regions.jpg (then -regions-2.jpg, … should
    later questions mark the same photo: each copy numbers its regions as
    its question does)."""
    drawn: DrawnPhotos = {}
    copies: dict[str, int] = {}
    for message in messages:
        for n, region in enumerate(message.regions or [], start=1):
            key = (message.id, region["image"])
            if key not in drawn:
                image = next(
                    (i for i, _path in photos.values() if str(i.id) == region["image"]), None
                )
                if image is None:
                    continue  # not among the question's photos: nothing to draw it on
                copies[region["image"]] = copies.get(region["image"], 0) + 1
                again = copies[region["image"]]
                number = _number(photos[image.id][1])
                suffix = "" if again == 1 else f"-{again}"
                path = f"photos/{number}-{image.id}-regions{suffix}.jpg"
                drawn[key] = Drawn(image, path, [])
            drawn[key].regions.append((n, list(region["box"])))
    return drawn


def _number(path: str) -> str:
    """A photo's number in the export, from its path in the zip."""
    return PurePosixPath(path).name.split("-", 1)[0]


def _extension(image: Image) -> str:
    suffix = PurePosixPath(image.file.name or "").suffix.lstrip(".").lower()
    return suffix or EXTENSIONS.get(image.content_type, "bin")


def _message(message: Message, photos: Photos, drawn: DrawnPhotos) -> dict[str, Any]:
    marked = selectors.regions_serialize(message, selectors.message_images(message))
    for region in marked:
        copy = drawn.get((message.id, str(region["image"])))
        # The copy of its photo it is drawn on, in the zip.
        region["drawn"] = copy.path if copy else None
    return {
        "id": str(message.id),
        "role": message.role,
        "author": (
            display_name(message.author)
            if message.role == Message.Role.USER and message.author
            else None
        ),
        "text": message.text,
        "reasoning": message.reasoning,
        "model": message.model,
        "detail": message.detail,
        "status": message.status,
        "created_at": message.created_at.isoformat(),
        "usage": message.usage,
        "images": [
            {"id": str(i.id), "width": i.width, "height": i.height, "file": photos[i.id][1]}
            for i in selectors.message_images(message)
        ],
        "regions": marked,
        "find": message.find or None,
        "superseded": message.superseded,
    }


def _drawn_copy(copy: Drawn) -> bytes | None:
    """The photo with its regions drawn, or None if it can't be read."""
    name = copy.image.file.name
    if not name:
        return None
    try:
        with copy.image.file.storage.open(name, "rb") as source:
            return regions.regions_drawn(source, copy.regions)
    except (OSError, SuspiciousOperation, ValueError):
        return None  # ImageRejected is a ValueError


def _stored(image: Image) -> bool:
    try:
        name = image.file.name
        if not name:
            return False
        return image.file.storage.exists(name)
    except (OSError, SuspiciousOperation):
        return False


def _mark_missing(data: dict[str, Any], missing_ids: set[str], undrawn: set[str]) -> None:
    """Photos whose file is gone, and drawn copies (by path) that could not be made."""
    for message in data["messages"]:
        for image in message["images"]:
            if image["id"] in missing_ids:
                image["missing"] = True
        for region in message["regions"]:
            if region["drawn"] in undrawn or region["image"] in missing_ids:
                region["drawn"] = None


def _question(message: dict[str, Any]) -> list[str]:
    author = markdown_plain(message["author"] or _("Unknown"))
    lines = [f"**{author}** · {_when(message['created_at'])}", ""]
    if message["text"].strip():
        lines += [markdown_defuse(message["text"].strip()), ""]
    for image in message["images"]:
        number = {"number": PurePosixPath(image["file"]).name.split("-", 1)[0]}
        if image.get("missing"):
            lines += [f"*{_('Photo %(number)s (photo missing)') % number}*", ""]
        else:
            lines += [f"![{_('Photo %(number)s') % number}]({image['file']})", ""]
    numbers = {image["id"]: _number(image["file"]) for image in message["images"]}
    if message["regions"]:
        lines += [
            *(
                "- "
                + _("Region %(n)s on photo %(photo)s: %(box)s")
                % {
                    "n": r["n"],
                    "photo": numbers.get(r["image"], "?"),
                    "box": regions.box_text(r["box"]),
                }
                for r in message["regions"]
            ),
            "",
        ]
        shown = dict.fromkeys(r["drawn"] for r in message["regions"] if r["drawn"])
        for path in shown:
            label = _("Photo %(number)s with the regions marked") % {"number": _number(path)}
            lines += [f"![{label}]({path})", ""]
    return lines


def _answer(message: dict[str, Any]) -> list[str]:
    name = markdown_plain(_model_name(message["model"]))
    if message["superseded"]:
        heading = _("Earlier answer from %(model)s") % {"model": name}
    else:
        heading = name
    lines = [f"**{heading}** · {_when(message['created_at'])}", ""]
    if message["superseded"]:
        lines += [f"*{_('Replaced by a newer answer.')}*", ""]
    if message["reasoning"].strip():
        lines += [f"> **{_('Thinking')}**", ">", _quote(message["reasoning"]), ""]
    if message["text"].strip():
        lines += [markdown_defuse(message["text"].strip()), ""]
    if message["status"] in STATUS_NOTES:
        lines += [f"*{STATUS_NOTES[message['status']]}*", ""]
    return lines


def _model_name(model_id: str) -> str:
    spec = get_model(model_id) if model_id else None
    if spec is None:
        return model_id or _("Answer")
    return short_name(spec)


def _when(iso: str) -> str:
    return timezone.localtime(datetime.fromisoformat(iso)).strftime("%Y-%m-%d %H:%M %Z")


def _quote(text: str) -> str:
    """`text`, defused, as a block quote. Lines are split where Markdown splits
    them, not at every break Python knows (U+2028 and the like)."""
    return "\n".join(f"> {line}".rstrip() for line in markdown_defuse(text.strip()).split("\n"))


class _Sink:
    """An unseekable stream for zipfile: it keeps what was written until drained."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass  # zipfile never closes a stream it was handed; nothing to release

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _zip_time(moment: datetime) -> tuple[int, int, int, int, int, int]:
    return max((1980, 1, 1, 0, 0, 0), timezone.localtime(moment).timetuple()[:6])


def _zip_chunks(
    conversation: Conversation,
    data: dict[str, Any],
    photos: Photos,
    drawn: DrawnPhotos,
    language: str | None,
) -> Generator[bytes, None, None]:
    sink = _Sink()
    missing = set()
    undrawn = set()
    with zipfile.ZipFile(sink, "w") as archive:
        # Photos first: the texts then say truly which ones the zip holds.
        for image, path in photos.values():
            name = image.file.name
            try:
                source = image.file.storage.open(name, "rb") if name else None
            except (OSError, SuspiciousOperation, ValueError):
                source = None
            if source is None:
                missing.add(str(image.id))
                continue
            info = zipfile.ZipInfo(path, _zip_time(image.created_at))  # stored: JPEG/PNG
            info.external_attr = 0o644 << 16
            with source, archive.open(info, "w") as entry:
                while chunk := source.read(CHUNK_BYTES):
                    entry.write(chunk)
                    if out := sink.drain():
                        yield out
        for copy in drawn.values():
            content = _drawn_copy(copy) if str(copy.image.id) not in missing else None
            if content is None:
                undrawn.add(copy.path)
                continue
            info = zipfile.ZipInfo(copy.path, _zip_time(copy.image.created_at))
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)  # stored: a JPEG
            yield sink.drain()
        _mark_missing(data, missing, undrawn)
        now = _zip_time(timezone.now())
        # Each chunk may be made on another thread, none of them in the
        # request's language: the transcript is written in it, all at once.
        with translation.override(language):
            markdown = conversation_markdown(conversation, data)
        for name, content in (
            ("conversation.md", markdown.encode()),
            ("conversation.json", json_bytes(data)),
        ):
            info = zipfile.ZipInfo(name, now)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
            yield sink.drain()
    yield sink.drain()  # the central directory, written on close
