"""Reading images with Pillow (the ``images`` extra), and storing blobs."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

from shequ.domain.errors import AdapterError, InvalidPhoto
from shequ.domain.media import MAX_PIXELS, PhotoFacts

__all__ = ["DirectoryBlobStore", "InMemoryBlobStore", "PillowImageInspector"]


class PillowImageInspector:
    """Knows an image by its bytes, whatever its name or declared type says."""

    def inspect(self, data: bytes) -> PhotoFacts:
        try:
            from PIL import Image, UnidentifiedImageError
        except ImportError as e:
            raise AdapterError(
                "photo uploads need the images extra: pip install 'shequ[images]'"
            ) from e
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.verify()  # reads the whole file: a truncated or forged one fails here
                kind, (width, height) = image.format or "unknown", image.size
        except (
            UnidentifiedImageError,
            OSError,
            SyntaxError,
            ValueError,
            Image.DecompressionBombError,
        ) as e:
            raise InvalidPhoto("the file is not an image (its content says otherwise)") from e
        return PhotoFacts(format=kind, width=width, height=height, size=len(data))

    def without_metadata(self, data: bytes, facts: PhotoFacts) -> bytes:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            pixels = image.copy()  # pixels only: Pillow writes no metadata unless asked
        out = io.BytesIO()
        options = {"quality": 90} if facts.format in ("JPEG", "WEBP") else {}
        pixels.save(out, format=facts.format, **options)
        return out.getvalue()


class DirectoryBlobStore:
    """Files in one folder, served by the embedding application under ``base_url``."""

    def __init__(self, folder: Path, base_url: str = "/media/") -> None:
        self._folder, self._base_url = folder, base_url

    def put(self, name: str, data: bytes, content_type: str) -> str:
        self._folder.mkdir(parents=True, exist_ok=True)
        target = self._folder / name
        if not target.exists():
            temporary = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
            temporary.write_bytes(data)
            os.replace(temporary, target)
        return f"{self._base_url}{name}"


class InMemoryBlobStore:
    """Keeps blobs in a dict, for tests."""

    def __init__(self) -> None:
        self.blobs: dict[str, tuple[bytes, str]] = {}

    def put(self, name: str, data: bytes, content_type: str) -> str:
        self.blobs[name] = (data, content_type)
        return f"memory://{name}"
