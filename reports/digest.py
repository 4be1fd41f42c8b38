"""A digest e-mail (HTML and plain text) from the figures it is given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from reports.model import REPORT_TITLES, BoughtTogether, Kpi, format_change, format_kpi

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_TEMPLATES.filters["kpi"] = lambda kpi: format_kpi(kpi.kind, kpi.current)
_TEMPLATES.filters["previous"] = lambda kpi: format_kpi(kpi.kind, kpi.previous)
_TEMPLATES.filters["change"] = lambda kpi: format_change(kpi.change_pct)


@dataclass(frozen=True)
class Digest:
    """One digest e-mail: who, which period, the figures and the two links."""

    store: str
    sender: str
    recipient: str
    frequency: str
    start: date
    end: date
    currency: str
    report_type: str
    kpis: tuple[Kpi, ...]
    report_url: str
    unsubscribe_url: str
    sent_at: datetime
    # "Often bought together" (weekly digests): the period's strongest pairs, none when too few
    bought_together: tuple[BoughtTogether, ...] = ()

    @property
    def period(self) -> str:
        if self.start == self.end:
            return self.start.strftime("%A %d %B %Y")
        return f"{self.start.isoformat()} to {self.end.isoformat()}"

    @property
    def subject(self) -> str:
        kind = "Daily" if self.frequency == "daily" else "Weekly"
        return f"{kind} digest of {self.store}: {self.period}"

    @property
    def report_title(self) -> str:
        return REPORT_TITLES.get(self.report_type, self.report_type)


def compose(digest: Digest) -> EmailMessage:
    """The message, ``multipart/alternative`` (plain text first, then HTML), with the
    one-click unsubscribe headers of RFC 8058."""
    message = EmailMessage()
    message["From"] = digest.sender
    message["To"] = digest.recipient
    message["Subject"] = digest.subject
    message["Date"] = format_datetime(digest.sent_at)
    message["Message-ID"] = make_msgid(domain=digest.sender.rpartition("@")[2] or "storepulse.local")
    message["List-Unsubscribe"] = f"<{digest.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_TEMPLATES.get_template("digest.txt").render(d=digest))
    message.add_alternative(_TEMPLATES.get_template("digest.html").render(d=digest), subtype="html")
    return message
