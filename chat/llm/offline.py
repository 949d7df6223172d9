"""The offline demo model: an OpenAI-compatible endpoint inside the process.

It looks at the photos it is sent (size, orientation, colours, brightness) and
streams a short reasoning and answer as SSE in the provider's wire format, so
the real client, parser and pipeline run end to end without an API key.
"""

import asyncio
import base64
import io
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, TypedDict, cast

import httpx
from PIL import Image, ImageStat

NAMED_COLOURS = {
    "black": (20, 20, 20),
    "white": (240, 240, 240),
    "grey": (128, 128, 128),
    "red": (200, 40, 40),
    "orange": (230, 130, 30),
    "yellow": (230, 210, 50),
    "green": (60, 160, 60),
    "teal": (40, 140, 140),
    "blue": (50, 90, 200),
    "purple": (130, 60, 160),
    "pink": (230, 140, 170),
    "brown": (120, 80, 40),
    "beige": (210, 190, 150),
}


def _colour_name(rgb: Sequence[int]) -> str:
    return min(
        NAMED_COLOURS,
        key=lambda n: sum((a - b) ** 2 for a, b in zip(rgb, NAMED_COLOURS[n], strict=True)),
    )


class PhotoFacts(TypedDict):
    width: int
    height: int
    orientation: str
    brightness: int
    light: str
    colours: list[str]


def describe_photo(data_url: str) -> PhotoFacts:
    """Facts about one photo, read locally."""
    raw = base64.b64decode(data_url.split(",", 1)[1])
    with Image.open(io.BytesIO(raw)) as img:
        width, height = img.size
        rgb = img.convert("RGB")
        small = rgb.resize((48, 48))
        brightness = ImageStat.Stat(small.convert("L")).mean[0]
        quantized = small.quantize(colors=4)
        # A palette image always has a palette, and its colours are palette indices.
        palette = cast(list[int], quantized.getpalette())
        counts = sorted(cast(list[tuple[int, int]], quantized.getcolors()), reverse=True)
        colours: list[str] = []
        for _, index in counts:
            name = _colour_name(tuple(palette[index * 3 : index * 3 + 3]))
            if name not in colours:
                colours.append(name)
    if width > height * 1.1:
        orientation = "landscape"
    elif height > width * 1.1:
        orientation = "portrait"
    else:
        orientation = "square"
    light = "bright" if brightness > 170 else "dark" if brightness < 70 else "evenly lit"
    return {
        "width": width,
        "height": height,
        "orientation": orientation,
        "brightness": round(brightness),
        "light": light,
        "colours": colours[:3],
    }


def compose_reply(question: str, photos: Sequence[str]) -> tuple[str, str]:
    facts = [describe_photo(url) for url in photos]
    reasoning = [f"The question is: “{question or '(no text, just the photo)'}”."]
    if not facts:
        reasoning.append("There is no photo attached, so I can only talk about the text.")
        answer = (
            "I'm the offline demo, so I can't really answer questions without a photo. "
            "Attach a photo and I'll describe what I can measure in it — or set an "
            "AI/ML API key to ask the Qwen models anything."
        )
        return " ".join(reasoning), answer
    lines = []
    for n, f in enumerate(facts, 1):
        reasoning.append(
            f"Photo {n} is {f['width']}×{f['height']} pixels, so it is {f['orientation']}. "
            f"Its average brightness is {f['brightness']} out of 255, which looks {f['light']}. "
            f"The main colours are {', '.join(f['colours'])}."
        )
        lines.append(
            f"Photo {n}: a {f['orientation']} picture, {f['width']}×{f['height']} pixels, "
            f"{f['light']}, mostly {' and '.join(f['colours'][:2])}."
        )
    reasoning.append("I can't recognise objects offline, so I'll report what I measured.")
    answer = (
        "Here is what I can tell without an AI model (this is the offline demo):\n\n"
        + "\n".join(f"- {line}" for line in lines)
        + "\n\nSet AIMLAPI_KEY to have a Qwen vision model answer your actual question."
    )
    return " ".join(reasoning), answer


def _words(text: str, per_chunk: int = 3) -> Iterator[str]:
    words = text.split(" ")
    for i in range(0, len(words), per_chunk):
        piece = " ".join(words[i : i + per_chunk])
        yield piece if i + per_chunk >= len(words) else piece + " "


def sse_lines(model: str, reasoning: str, answer: str, prompt_tokens: int) -> Iterator[bytes]:
    chunk_id = f"chatcmpl-offline-{uuid.uuid4()}"
    created = int(time.time())

    def chunk(
        delta: dict[str, str | None] | None,
        finish: str | None = None,
        usage: dict[str, Any] | None = None,
        choices: bool = True,
    ) -> bytes:
        body = {
            "id": chunk_id,
            "choices": ([{"delta": delta, "index": 0, "finish_reason": finish}] if choices else []),
            "created": created,
            "model": model,
            "object": "chat.completion.chunk",
            "usage": usage,
        }
        return f"data: {json.dumps(body)}\n\n".encode()

    yield chunk({"content": None, "role": "assistant", "reasoning_content": ""})
    for piece in _words(reasoning):
        yield chunk({"content": None, "reasoning_content": piece})
    for piece in _words(answer):
        yield chunk({"content": piece, "reasoning_content": None})
    yield chunk({"content": "", "reasoning_content": None}, finish="stop")
    reasoning_tokens = len(reasoning.split())
    completion_tokens = reasoning_tokens + len(answer.split())
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "completion_tokens_details": {"reasoning_tokens": reasoning_tokens},
    }
    yield chunk(None, usage=usage, choices=False)
    yield b"data: [DONE]\n\n"


class _DelayedStream(httpx.AsyncByteStream):
    def __init__(self, parts: Sequence[bytes], delay: float) -> None:
        self._parts = parts
        self._delay = delay

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for part in self._parts:
            if self._delay:
                await asyncio.sleep(self._delay)
            yield part


class OfflineTransport(httpx.AsyncBaseTransport):
    def __init__(self, chunk_delay: float = 0.03) -> None:
        self.chunk_delay = chunk_delay

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(await request.aread())
        last_user = next(m for m in reversed(body["messages"]) if m["role"] == "user")
        content = last_user["content"]
        if isinstance(content, str):
            question, photos = content, []
        else:
            question = " ".join(p["text"] for p in content if p["type"] == "text")
            photos = [p["image_url"]["url"] for p in content if p["type"] == "image_url"]
        reasoning, answer = await asyncio.to_thread(compose_reply, question, photos)
        prompt_tokens = len(question.split()) + 256 * len(photos)
        parts = list(sse_lines(body["model"], reasoning, answer, prompt_tokens))
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream"},
            stream=_DelayedStream(parts, self.chunk_delay),
        )
