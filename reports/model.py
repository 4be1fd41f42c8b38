"""What a report shows, as plain data: the renderers take these and return bytes or text.

Money is ``Decimal``; nothing here knows where the figures came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

REPORT_TITLES = {
    "sales_summary": "Sales summary",
    "inventory": "Inventory",
    "customers": "Customers",
}


@dataclass(frozen=True)
class Kpi:
    """One line of the KPI table: ``kind`` is ``money``, ``count`` or ``share``."""

    name: str
    label: str
    kind: str
    current: Decimal | int
    previous: Decimal | int
    change_pct: Decimal | None


@dataclass(frozen=True)
class BoughtTogether:
    """Two products often bought together: their names (the sku when never described), in how
    many orders of the period, and the lift (how much more often than by chance)."""

    first: str
    second: str
    orders: int
    lift: float


@dataclass(frozen=True)
class SalesPoint:
    period: date
    net_sales: Decimal
    orders: int


@dataclass(frozen=True)
class TopProduct:
    rank: int
    sku: str
    name: str | None
    units: int
    net_sales: Decimal


@dataclass(frozen=True)
class StockItem:
    sku: str
    name: str | None
    on_hand: int
    reorder_point: int
    days_of_cover: Decimal | None
    status: str


@dataclass(frozen=True)
class Cohort:
    cohort: str
    size: int
    retention: tuple[float, ...]


@dataclass(frozen=True)
class Segment:
    segment: str
    customers: int
    share_of_revenue: float


@dataclass(frozen=True)
class ReportData:
    """Everything one PDF shows.

    ``cohorts`` and ``segments`` are ``None`` when the deployment cannot compute them: the
    customers report then says so instead of drawing empty tables.
    """

    store: str
    report_type: str
    start: date
    end: date
    previous_start: date
    previous_end: date
    generated_at: datetime
    currency: str
    kpis: tuple[Kpi, ...]
    granularity: str
    sales: tuple[SalesPoint, ...]
    top_products: tuple[TopProduct, ...]
    stock_as_of: date | None = None
    stock_items: tuple[StockItem, ...] = ()
    cohorts: tuple[Cohort, ...] | None = None
    segments: tuple[Segment, ...] | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def title(self) -> str:
        return REPORT_TITLES.get(self.report_type, self.report_type)


def format_money(value: Decimal) -> str:
    """Two decimals with thousands separators.

    >>> format_money(Decimal("1234.5"))
    '1,234.50'
    """
    return f"{value:,.2f}"


def format_kpi(kind: str, value: Decimal | int | None) -> str:
    """A KPI as a reader sees it.

    >>> format_kpi("share", Decimal("0.4567")), format_kpi("count", 1200)
    ('45.67%', '1,200')
    """
    if value is None:
        return "n/a"
    if kind == "money":
        return format_money(Decimal(value))
    if kind == "share":
        return f"{Decimal(value) * 100:.2f}%"
    return f"{int(value):,}"


def format_change(change: Decimal | None) -> str:
    """A change in percent with its sign; ``n/a`` when the previous value was zero.

    >>> format_change(Decimal("12.5")), format_change(Decimal("-3")), format_change(None)
    ('+12.50%', '-3.00%', 'n/a')
    """
    if change is None:
        return "n/a"
    return f"{change:+.2f}%"
