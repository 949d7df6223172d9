"""The real camera and phone files in ../shared/photos (never copied into the
repository). CI has shared/ beside the checkout, so there a missing folder
fails the run instead of skipping it."""

import os
from pathlib import Path

import pytest

PHOTOS = Path(__file__).resolve().parents[2].parent / "shared" / "photos"

# Files that must be refused, and the words the person is told.
REFUSED = {
    "200MP.heic": "megapixels",
    "corrupted.heic": "isn't a photo",
    "truncated.heic": "cut short",
}


def real_photos() -> list[Path]:
    if not PHOTOS.is_dir():
        if os.environ.get("CI"):
            raise RuntimeError(f"{PHOTOS} is missing: CI must have shared/ beside the checkout")
        return []
    return sorted(p for p in PHOTOS.rglob("*") if p.is_file() and p.suffix.lower() != ".md")


def real_photo(name: str) -> Path:
    path = next((p for p in real_photos() if p.name == name), None)
    if path is None:
        pytest.skip(f"{name} is not in {PHOTOS}")
    return path


def photo_params():
    """One pytest param a real file, named after it."""
    files = real_photos()
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no {PHOTOS}"))]
    return [pytest.param(p, id=p.name) for p in files]
