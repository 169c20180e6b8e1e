"""Uploading photos (products, after-sale claims): checked by content, stored by digest."""

from __future__ import annotations

import hashlib

import attrs

from shequ.application.audit import audit
from shequ.application.policy import Actor, Permission, Policy
from shequ.application.ports import BlobStore, Clock, ImageInspector, UnitOfWork
from shequ.domain.errors import InvalidPhoto
from shequ.domain.media import MAX_PHOTO_BYTES, PhotoFacts

__all__ = ["StoredPhoto", "UploadPhotoHandler"]


@attrs.frozen
class StoredPhoto:
    uri: str
    facts: PhotoFacts


class UploadPhotoHandler:
    """Any signed-in account may upload a photo; what it claims to be does not matter, what
    its bytes decode to does."""

    def __init__(
        self,
        uow: UnitOfWork,
        clock: Clock,
        policy: Policy,
        images: ImageInspector,
        blobs: BlobStore,
    ) -> None:
        self._uow, self._clock, self._policy = uow, clock, policy
        self._images, self._blobs = images, blobs

    def __call__(self, data: bytes, *, actor: Actor) -> StoredPhoto:
        self._policy.require(actor, Permission.BROWSE)
        if len(data) > MAX_PHOTO_BYTES:
            raise InvalidPhoto(f"a photo is at most {MAX_PHOTO_BYTES // 1024 // 1024} MiB")
        if not data:
            raise InvalidPhoto("the upload is empty")
        facts = self._images.inspect(data)
        facts.check()
        data = self._images.without_metadata(data, facts)
        facts = attrs.evolve(facts, size=len(data))
        name = f"{hashlib.sha256(data).hexdigest()}.{facts.extension}"
        uri = self._blobs.put(name, data, f"image/{facts.extension.replace('jpg', 'jpeg')}")
        with self._uow as uow:
            audit(
                uow,
                actor,
                "photo.uploaded",
                f"photo:{name}",
                self._clock.now(),
                bytes=facts.size,
                width=facts.width,
                height=facts.height,
            )
            uow.commit()
        return StoredPhoto(uri=uri, facts=facts)
