"""The customers processor: each registration's country and hashed e-mail, kept once.

Registrations are immutable facts, and no figure and no read route looks one up by customer: the
segments job and the read API know customers by their orders. So a batch's registrations are
written together, as a few shared items (:func:`registry_items`), not as one update of each
customer's profile: one write unit then holds about six registrations instead of one. The latest
registration of a customer by event time wins, and that is decided when they are read
(:func:`latest`, over the items of the ``REGISTRATIONS#<n>`` partitions), so arrival order,
repeats and redeliveries do not matter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from backend.adapters.analytics import AnalyticsStore
from backend.adapters.batch import Parsed
from backend.adapters.dynamo import content_keyed_items
from backend.domain.events import CustomerRegistered, Event

REGISTRY_SHARDS = 8
REGISTRY_PREFIX = "REGISTRATIONS#"
REGISTRY_ITEM_BYTES = 900
ENTRIES = "entries"


@dataclass(frozen=True)
class Registration:
    """A customer's registration as stored: ``version`` orders two of one customer."""

    customer_id: str
    country: str
    email_hash: str | None
    version: str

    def entry(self) -> str:
        """``<customer id>|<country>|<e-mail hash or empty>|<version>`` (ids, countries, hex
        hashes and versions hold no ``|``)."""
        return f"{self.customer_id}|{self.country}|{self.email_hash or ''}|{self.version}"

    @classmethod
    def from_entry(cls, entry: str) -> Registration:
        customer_id, country, email_hash, version = entry.split("|", 3)
        return cls(customer_id, country, email_hash or None, version)


def registration(event: Event) -> Registration:
    data: CustomerRegistered = event.data
    return Registration(data.customer_id, data.country, data.email_hash, event.version)


def registry_items(registrations: Iterable[Registration]) -> list[dict[str, Any]]:
    """Items listing these registrations, shared by the registrations of one batch.

    Each item holds up to :data:`REGISTRY_ITEM_BYTES` of entries in the string set ``entries``,
    under ``REGISTRATIONS#<n>``/``B#<digest of its entries>``: its key follows from its content,
    so putting it again (a redelivery of the same batch) rewrites the same item, and a batch
    redelivered with other company writes another item repeating some entries, which
    :func:`latest` reads as one.

    Examples
    --------
    >>> items = registry_items([Registration("C1", "FR", None, "2025-01-01T00:00:00.000000+00:00#e1")])
    >>> items[0]["pk"].startswith("REGISTRATIONS#"), sorted(items[0]["entries"])
    (True, ['C1|FR||2025-01-01T00:00:00.000000+00:00#e1'])
    """
    return content_keyed_items(
        (r.entry() for r in registrations),
        prefix=REGISTRY_PREFIX,
        shards=REGISTRY_SHARDS,
        attribute=ENTRIES,
        max_bytes=REGISTRY_ITEM_BYTES,
    )


def latest(items: Iterable[Mapping[str, Any]]) -> dict[str, Registration]:
    """Each customer's latest registration (by event time, then event id) in these items.

    >>> old = Registration("C1", "FR", None, "2025-01-01T00:00:00.000000+00:00#e1")
    >>> new = Registration("C1", "DE", "ab", "2025-02-01T00:00:00.000000+00:00#e2")
    >>> latest(registry_items([new]) + registry_items([old]))["C1"].country
    'DE'
    """
    found: dict[str, Registration] = {}
    for item in items:
        for entry in item.get(ENTRIES, ()):
            candidate = Registration.from_entry(str(entry))
            known = found.get(candidate.customer_id)
            if known is None or candidate.version > known.version:
                found[candidate.customer_id] = candidate
    return found


def apply(analytics: AnalyticsStore, *, items: Sequence[Parsed]) -> dict[str, BaseException]:
    """Record the batch's registrations (plain puts of immutable items: safe to repeat)."""
    analytics.put_immutable(registry_items(registration(item.value) for item in items))
    return {}
