"""Reviews (评价) of products and of local services: a rating of 1 to 5 with words and
photos, only from a resident who bought the product (one review an order line) or booked
the service (one a booking); the seller or the merchant may answer once. Products and
merchants keep their ratings' total and count, so their average is always current.

Text is stored as written; whoever shows it escapes it.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from typing import Final

import attrs

from shequ.domain.errors import IllegalTransition, InvalidInput
from shequ.domain.events import DomainEvent
from shequ.domain.ids import (
    AccountId,
    BookingId,
    CommunityId,
    OrderId,
    ProductId,
    ProviderId,
    ReviewId,
    SellerId,
    SkuId,
)
from shequ.domain.media import photos
from shequ.domain.values import clean_text

__all__ = [
    "MAX_RATING",
    "Review",
    "ReviewAnswered",
    "ReviewSubject",
    "ReviewWritten",
    "average_tenths",
    "checked_rating",
]

MAX_RATING: Final = 5


def checked_rating(rating: int) -> int:
    """A rating: a whole number from 1 to 5."""
    if type(rating) is not int or not 1 <= rating <= MAX_RATING:
        raise InvalidInput(f"a rating is a whole number from 1 to {MAX_RATING}", field="rating")
    return rating


def average_tenths(total: int, count: int) -> int | None:
    """The average of ``count`` ratings adding up to ``total``, in tenths (46 for 4.6),
    rounded half up; ``None`` when there are none."""
    if not count:
        return None
    return (20 * total + count) // (2 * count)


class ReviewSubject(enum.StrEnum):
    PRODUCT = "product"
    SERVICE = "service"


@attrs.frozen(kw_only=True)
class ReviewWritten(DomainEvent):
    review_id: ReviewId
    subject: ReviewSubject
    subject_id: str  # the product's or the merchant's id
    rating: int


@attrs.frozen(kw_only=True)
class ReviewAnswered(DomainEvent):
    review_id: ReviewId
    author_id: AccountId  # whose review it is: they are told


@attrs.define(slots=False, eq=False)
class Review:
    id: ReviewId
    subject: ReviewSubject
    author_id: AccountId
    community_id: CommunityId
    rating: int
    text: str
    photos: tuple[str, ...]
    created_at: dt.datetime
    # a product's review: the order line it is about, and the seller who may answer
    product_id: ProductId | None = None
    sku_id: SkuId | None = None
    order_id: OrderId | None = None
    seller_id: SellerId | None = None
    # a service's review: the booking, and the merchant who may answer
    provider_id: ProviderId | None = None
    booking_id: BookingId | None = None
    answer: str = ""
    answered_at: dt.datetime | None = None
    answered_by: AccountId | None = None
    version: int = 1
    events: list[DomainEvent] = attrs.field(factory=list, init=False, repr=False)

    @property
    def subject_id(self) -> str:
        found = self.product_id if self.subject is ReviewSubject.PRODUCT else self.provider_id
        return found or ""

    @classmethod
    def write(
        cls,
        *,
        id: ReviewId,
        subject: ReviewSubject,
        author_id: AccountId,
        community_id: CommunityId,
        rating: int,
        text: str,
        photo_urls: Sequence[str],
        now: dt.datetime,
        **about: str,
    ) -> Review:
        """``about``: ``product_id``, ``sku_id``, ``order_id`` and ``seller_id`` for a
        product; ``provider_id`` and ``booking_id`` for a service."""
        made = cls(
            id=id,
            subject=ReviewSubject(subject),
            author_id=author_id,
            community_id=community_id,
            rating=checked_rating(rating),
            text=clean_text(text, "text", max_len=2000, required=False),
            photos=photos(photo_urls),
            created_at=now,
            **about,  # type: ignore[arg-type]
        )
        made.events.append(
            ReviewWritten(
                occurred_at=now,
                review_id=id,
                subject=made.subject,
                subject_id=made.subject_id,
                rating=made.rating,
            )
        )
        return made

    def answer_with(self, text: str, *, by: AccountId | None, now: dt.datetime) -> None:
        """The seller's or merchant's answer, once."""
        if self.answered_at is not None:
            raise IllegalTransition(
                f"review {self.id} is answered already", status="answered", action="answer"
            )
        self.answer = clean_text(text, "answer", max_len=1000)
        self.answered_at, self.answered_by = now, by
        self.version += 1
        self.events.append(
            ReviewAnswered(occurred_at=now, review_id=self.id, author_id=self.author_id)
        )
