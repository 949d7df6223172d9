"""The words that point Qwen3-VL at parts of a photo: the prompt of a "find"
question, and the line that tells the model which of the pictures it is sent
are crops of which (the regions a person marked).

Coordinates are the model's own grounding convention: integers 0–1000
relative to the image's width and height, boxes [x1, y1, x2, y2]. The model
answers in kind, with JSON objects carrying "bbox_2d" or "point_2d" and an
optional "label"; the page draws them (README, "Point at the photo").
"""

from collections.abc import Sequence
from dataclasses import dataclass


def find_prompt(what: str) -> str:
    """The request sent for a question that asks to locate `what` in its photo.

    Spelled out in full (the answer's shape, the coordinates' range) because
    the model answers a bare "find X" in prose as often as in boxes."""
    return (
        f'Locate every "{what}" in the image. Answer with a JSON list of objects '
        '{"bbox_2d": [x1, y1, x2, y2], "label": "<short name>"}, coordinates from 0 '
        "to 1000 relative to the image width and height, then one sentence saying "
        "what you found."
    )


@dataclass(frozen=True)
class SentRegion:
    """A region as a question sends it: region `n` (numbered as the person
    sent them), cut from the photo sent as image `of_image`, itself sent as
    image `image` (both counted from 1 among the question's pictures)."""

    n: int
    image: int
    of_image: int
    box: Sequence[int]


def regions_line(regions: Sequence[SentRegion]) -> str:
    """What ties each crop to its photo, said before the question's text.

    The box is given too: the model can then answer about the whole photo in
    its coordinates, which is what the page draws on."""
    if not regions:
        return ""
    parts = [
        f"image {r.image} is region {r.n} of image {r.of_image} "
        f"(box [{', '.join(str(v) for v in r.box)}])"
        for r in regions
    ]
    said = "; ".join(parts)
    return f"{said[0].upper()}{said[1:]}, marked by the person (boxes in 0–1000 coordinates)."
