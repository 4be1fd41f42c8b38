"""Sending an e-mail: SES in AWS, ``.eml`` files in the outbox locally (``DIGEST_TRANSPORT``)."""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any


class SendFailed(RuntimeError):
    """The transport did not take the message: nothing was sent."""


def send_ses(ses: Any, message: EmailMessage) -> str:
    """Send through SES ``SendRawEmail``; returns SES's message id."""
    response = ses.send_raw_email(
        Source=str(message["From"]),
        Destinations=[str(message["To"])],
        RawMessage={"Data": message.as_bytes()},
    )
    return str(response["MessageId"])


def write_outbox(outbox: Path, message: EmailMessage) -> str:
    """Write the message as ``<outbox>/<time>-<digest>.eml`` (atomically); returns its name.

    Raises
    ------
    SendFailed
        When the outbox cannot be written (the message is then not there at all).
    """
    data = message.as_bytes()
    name = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{hashlib.sha256(data).hexdigest()[:16]}.eml"
    try:
        outbox.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = outbox / f".{name}.tmp"
        partial.write_bytes(data)
        os.replace(partial, outbox / name)
    except OSError as exc:
        raise SendFailed(f"cannot write to the outbox {outbox}: {exc.strerror or exc}") from None
    return name
