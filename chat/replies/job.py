"""Preparing one reply: what generating it needs, read in one go, and the request body.

The job is read on a database thread (with the ask, when there is one); the
request body is built from it afterwards, off the database thread, because
encoding photos is CPU work.
"""

import asyncio
from dataclasses import dataclass
from typing import Any

from django.utils.translation import ngettext

from chat.accounts.language import language_name, speaking
from chat.conversations import reply_services, selectors, services
from chat.live import events, frames
from chat.llm import context, grounding
from chat.llm.catalog import ModelSpec, get_model
from chat.llm.payload import build_payload
from chat.models import Message
from chat.photos import images, regions

# A turn of the conversation as chat.llm.context and chat.llm.payload take it:
# role, text, tokens; a question's detail and its pictures (Picture), and
# whether its text comes after them ("text_last").
Turn = dict[str, Any]


@dataclass(frozen=True)
class Picture:
    """One picture a question sends: its photo whole at the question's detail,
    or (`box`) a region of it, cut from the stored photo at "high"."""

    path: str
    detail: str
    box: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Job:
    spec: ModelSpec
    turns: list[Turn]
    # Kept for the usage record, should the upstream send no usage.
    prompt_estimate: int
    system_prompt: str
    options: dict[str, Any]
    group: str  # the conversation's channel-layer group
    message: frames.SerializedMessage  # the reply as serialized when it started
    notice: str  # said when history was left out, in `language`
    cache_dir: str
    # The asker's interface language (their latest question's; "" when it was
    # saved before questions kept theirs): what the reply says of itself is
    # in it, whoever started the generation.
    language: str = ""


# Said after an interrupted reply's saved text, for Continue: the model
# writes on from the text as if it had not stopped.
CONTINUE_PROMPT = (
    "Your answer above was cut off. Continue it exactly where it stops, "
    "without repeating anything and without any preface."
)


class Unprepared(Exception):
    """The request could not be built (a photo could not be read or encoded)."""


class TooLarge(Exception):
    """The question alone is more than the model reads at once (the history
    is dropped before it is). `language`: its asker's, for saying so."""

    def __init__(self, language: str) -> None:
        super().__init__("question too large for the model")
        self.language = language


def _history_turns(spec: ModelSpec, earlier: list[selectors.PastMessage]) -> list[Turn]:
    """The conversation so far as turns with estimated tokens; photos as file
    paths, encoded later off the DB thread."""
    turns: list[Turn] = []
    for message in earlier:
        if message.role == Message.Role.ASSISTANT:
            if message.text and not message.superseded:
                # Reasoning is never sent back: the model only needs what it said.
                turns.append(
                    {
                        "role": "assistant",
                        "text": message.text,
                        "tokens": context.text_tokens(message.text),
                    }
                )
            continue
        photos = message.photos
        turn: Turn = {
            "role": "user",
            "text": message.text,
            "detail": message.detail,
            "pictures": [],
        }
        if spec.vision:
            turn.update(_pictures(message))
            visual = sum(images.visual_tokens(p.width, p.height, message.detail) for p in photos)
            visual += _crop_tokens(message)
        else:
            # A text-only model would refuse image parts: say they were there.
            if photos:
                turn["text"] = f"[{len(photos)} photo(s) not shown to this model] {message.text}"
            visual = 0
        turn["tokens"] = context.text_tokens(turn["text"]) + visual
        turns.append(turn)
    return turns


def _pictures(message: selectors.PastMessage) -> Turn:
    """What a question sends a model that sees photos: each photo whole, each
    followed by the crops of its regions; and its text, which for a find
    question is the prompt built from what to find, and for a question with
    regions starts with the line that says which picture is which, after them."""
    if message.find:
        return {
            "text": grounding.find_prompt(message.find),
            "pictures": [Picture(p.path, message.detail) for p in message.photos],
            "text_last": True,
        }
    if not message.regions:
        return {"pictures": [Picture(p.path, message.detail) for p in message.photos]}
    numbered = list(enumerate(message.regions, start=1))
    pictures: list[Picture] = []
    sent: list[grounding.SentRegion] = []
    placed: set[int] = set()  # regions sent, each once (a photo may come twice)
    for photo in message.photos:
        pictures.append(Picture(photo.path, message.detail))
        whole = len(pictures)
        for n, region in numbered:
            if region["image"] == photo.id and n not in placed:
                placed.add(n)
                pictures.append(Picture(photo.path, regions.CROP_DETAIL, tuple(region["box"])))
                sent.append(grounding.SentRegion(n, len(pictures), whole, region["box"]))
    line = grounding.regions_line(sent)
    text = f"{line}\n{message.text}" if message.text else line
    return {"text": text, "pictures": pictures, "text_last": True}


def _crop_tokens(message: selectors.PastMessage) -> int:
    """What the crops of a question's regions cost, each at "high"."""
    sizes = {p.id: (p.width, p.height) for p in message.photos}
    return sum(
        regions.crop_tokens(*sizes[r["image"]], r["box"])
        for r in message.regions
        if r["image"] in sizes
    )


def _context_budget(spec: ModelSpec, options: dict[str, Any], system_prompt: str) -> int:
    # Room kept for the answer (and the reasoning before it).
    reserve = options.get("max_tokens") or min(8192, spec.context_window // 4)
    return int(spec.context_window - reserve - context.text_tokens(system_prompt))


def _asked_in(earlier: list[selectors.PastMessage]) -> str:
    """The interface language of the latest question ("" for one saved before
    questions kept theirs)."""
    questions = [m for m in earlier if m.role == Message.Role.USER]
    return questions[-1].language if questions else ""


def _system_prompt(own: str, language: str) -> str:
    """The conversation's own instructions, then which language to answer in:
    the asker's interface language, unless they wrote in another."""
    if not language:
        return own
    name = language_name(language)
    line = (
        f"The person reads {name}. Answer in {name}, unless their latest question "
        "is written in another language: then answer in that language."
    )
    return f"{own}\n\n{line}" if own else line


def job_for(reply: Message) -> Job:
    """What generating `reply` needs, read in one go: one query for the history."""
    conversation = reply.conversation
    earlier = selectors.reply_history(reply)
    spec = get_model(reply.model)
    # The services made or retried this reply only once checks.model_available
    # found its model in the catalog, which does not change while we run.
    assert spec is not None, reply.model
    turns = _history_turns(spec, earlier)
    if reply.text:
        # Continue: the reply's saved text, and the request to go on from it.
        turns += [
            {"role": "assistant", "text": reply.text, "tokens": context.text_tokens(reply.text)},
            {
                "role": "user",
                "text": CONTINUE_PROMPT,
                "detail": reply.detail,
                "pictures": [],
                "tokens": context.text_tokens(CONTINUE_PROMPT),
            },
        ]
    language = _asked_in(earlier)
    system_prompt = _system_prompt(conversation.system_prompt, language)
    try:
        turns, dropped = context.fit(turns, _context_budget(spec, reply.options, system_prompt))
    except context.ContextOverflow:
        raise TooLarge(language) from None
    return Job(
        spec=spec,
        turns=turns,
        prompt_estimate=sum(t["tokens"] for t in turns) + context.text_tokens(system_prompt),
        system_prompt=system_prompt,
        options=reply.options,
        group=events.conversation_group(reply.conversation_id),
        message=selectors.message_serialize(reply),
        notice=_left_out(dropped, language) if dropped else "",
        cache_dir=services.encoded_cache_dir(),
        language=language,
    )


def _left_out(dropped: int, language: str) -> str:
    """The reply's notice that history was dropped: saved with it and shown
    later, so in its asker's language, not that of whoever pressed Try again."""
    with speaking(language):
        return ngettext(
            "The oldest message was left out so the conversation fits "
            "what the model can read at once.",
            "The %(count)d oldest messages were left out so the conversation fits "
            "what the model can read at once.",
            dropped,
        ) % {"count": dropped}


def load_job(reply_id: str, channel: str) -> Job:
    """A reply started without its job (Try again, Regenerate): attached to its
    worker channel and read, in one call."""
    reply_services.reply_attach_worker(reply_id, channel)
    return job_for(Message.objects.select_related("conversation").get(id=reply_id))


def _build_payload(job: Job) -> dict[str, Any]:
    """Encode the photos (CPU-bound: run in a worker thread, not the DB thread)."""
    turns: list[Turn] = [{"role": "system", "text": job.system_prompt}] if job.system_prompt else []
    for turn in job.turns:
        pictures: list[Picture] = turn.get("pictures", [])
        sent = {key: value for key, value in turn.items() if key != "pictures"}
        urls = _data_urls(pictures, job.cache_dir)
        sent["image_urls"] = [urls[picture] for picture in pictures]
        sent["image_details"] = [picture.detail for picture in pictures]
        turns.append(sent)
    payload: dict[str, Any] = build_payload(job.spec, turns, job.options)
    return payload


def _data_urls(pictures: list[Picture], cache_dir: str) -> dict[Picture, str]:
    """Each picture's data URL: a photo's crops are cut from one decode of it."""
    urls = {
        p: images.cached_data_url(p.path, p.detail, cache_dir) for p in pictures if p.box is None
    }
    boxes: dict[str, list[tuple[int, ...]]] = {}
    for p in pictures:
        if p.box is not None:
            boxes.setdefault(p.path, []).append(p.box)
    for path, cut in boxes.items():
        for box, url in zip(cut, regions.crop_data_urls(path, cut, cache_dir), strict=True):
            urls[Picture(path, regions.CROP_DETAIL, box)] = url
    return urls


async def payload(job: Job) -> dict[str, Any]:
    """The request body, or Unprepared."""
    try:
        if any(turn.get("pictures") for turn in job.turns):
            # Encoding photos is CPU work: off the event loop.
            return await asyncio.to_thread(_build_payload, job)
        return _build_payload(job)  # no photos: nothing to encode
    except Exception as exc:
        raise Unprepared from exc
