"""The payment providers an installation takes money through, by name and by channel."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from shequ.application.ports import PaymentGateway
from shequ.domain.errors import PaymentProviderNotFound
from shequ.domain.payments import Channel

__all__ = ["PaymentProviders"]


class PaymentProviders:
    """One gateway per provider; each channel belongs to the first gateway offering it."""

    def __init__(self, gateways: Iterable[PaymentGateway]) -> None:
        self._by_name = {g.provider: g for g in gateways}

    def __iter__(self) -> Iterator[PaymentGateway]:
        return iter(self._by_name.values())

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._by_name)

    @property
    def channels(self) -> frozenset[Channel]:
        return frozenset(c for g in self for c in g.channels)

    def get(self, provider: str) -> PaymentGateway:
        found = self._by_name.get(provider)
        if found is None:
            # Which providers are configured is not told: the notify routes are public.
            raise PaymentProviderNotFound(
                f"no payment provider {provider!r} is configured", provider=provider
            )
        return found

    def for_channel(self, channel: Channel) -> PaymentGateway:
        for gateway in self:
            if channel in gateway.channels:
                return gateway
        raise PaymentProviderNotFound(
            f"no configured payment provider takes {channel.value} payments", channel=channel.value
        )
