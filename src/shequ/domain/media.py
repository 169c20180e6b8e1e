"""Rules for uploaded photos: what a photo may be, judged by its content, not its name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import attrs

from shequ.domain.errors import InvalidInput, InvalidPhoto
from shequ.domain.values import clean_text

__all__ = ["MAX_PHOTOS", "MAX_PHOTO_BYTES", "MAX_PIXELS", "PHOTO_FORMATS", "PhotoFacts", "photos"]

MAX_PHOTO_BYTES: Final = 5 * 1024 * 1024
MAX_SIDE: Final = 8000
MIN_SIDE: Final = 32
MAX_PIXELS: Final = 40_000_000  # a decompression bomb stays out
PHOTO_FORMATS: Final = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
MAX_PHOTOS: Final = 9


def photos(values: Sequence[str]) -> tuple[str, ...]:
    """The addresses of up to nine uploaded photos (``POST /v1/uploads/photos``)."""
    found = tuple(clean_text(v, "photo", max_len=300) for v in values)
    if len(found) > MAX_PHOTOS:
        raise InvalidInput(f"at most {MAX_PHOTOS} photos", field="photos")
    return found


@attrs.frozen
class PhotoFacts:
    """What the bytes really are, as an image decoder read them."""

    format: str
    width: int
    height: int
    size: int

    def check(self) -> None:
        if self.format not in PHOTO_FORMATS:
            raise InvalidPhoto(f"a photo is a JPEG, PNG or WebP image, not {self.format}")
        if self.size > MAX_PHOTO_BYTES:
            raise InvalidPhoto(f"a photo is at most {MAX_PHOTO_BYTES // 1024 // 1024} MiB")
        if not (MIN_SIDE <= self.width <= MAX_SIDE and MIN_SIDE <= self.height <= MAX_SIDE):
            raise InvalidPhoto(
                f"a photo is {MIN_SIDE} to {MAX_SIDE} pixels wide and high, "
                f"not {self.width}×{self.height}"
            )
        if self.width * self.height > MAX_PIXELS:
            raise InvalidPhoto("the photo has too many pixels")

    @property
    def extension(self) -> str:
        return PHOTO_FORMATS[self.format]
