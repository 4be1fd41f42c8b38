"""Why the pipeline refuses a request, in words, without knowing it came over HTTP.

The ingest path (:mod:`backend.processing.ingest`, :mod:`backend.processing.connectors`) raises
these; the API maps each kind to its HTTP status at its edge (:mod:`backend.api.errors`), so the
code below the API names what went wrong and the API alone knows status codes.

Examples
--------
>>> error = TooLarge("payload_too_large", "the body is over 1 MiB")
>>> isinstance(error, Refused), error.code, str(error)
(True, 'payload_too_large', 'the body is over 1 MiB')
"""

from __future__ import annotations

from typing import Any


class Refused(Exception):
    """A request refused as a whole: ``code`` names the reason, the message says what to do."""

    def __init__(self, code: str, message: str, details: list[Any] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or []


class InvalidRequest(Refused):
    """The request itself is unusable (not JSON, not the expected shape, no valid event)."""


class TooLarge(Refused):
    """The request is over a size limit: send less at a time."""


class NotAuthentic(Refused):
    """The request's signature is missing or wrong: nothing was read or written."""


class TryAgain(Refused):
    """Nothing was lost, but the request could not be done now: send the same one again."""
