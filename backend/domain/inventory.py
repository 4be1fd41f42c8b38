"""The inventory table: stock, recent sales, days of cover, sell-through and ABC class (pure).

"The last 28 days" and "the last 90 days" are the 28 (90) store days ending on the day the
report is made (that day included, up to the moment of the report): :func:`window`.

- ``days_of_cover = on_hand / (units_sold_28d / 28)``, ``None`` when nothing sold in the 28
  days, rounded half-up to one decimal. Oversold stock (``on_hand < 0``) gives negative cover:
  the days of sales already owed.
- ``sell_through_28d = units_sold_28d / (units_sold_28d + on_hand)``, ``None`` when both are
  0, rounded half-up to four decimals. Oversold stock counts as 0 on hand here, so that the
  share stays between 0 and 1: everything there was has sold (1), or nothing sold (0).
- ABC class, over each SKU's line revenue of the last 90 days (:func:`abc_classes`).
- Status: :func:`backend.domain.stock.status` of ``on_hand`` and the reorder point.
- ``forecast_daily_units``, ``stockout_date``, ``reorder_by``: the SKU's demand forecast (the
  nightly ``forecast`` job's, :mod:`backend.domain.forecast`) applied to its current on hand
  from today on, and its lead time (its own, else the store's); ``None`` before the first
  forecast, and ``stockout_date`` when nothing is forecast to sell.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from backend.domain import forecast as demand
from backend.domain.money import ZERO
from backend.domain.stock import Status, status

AbcClass = Literal["A", "B", "C"]
COVER_DAYS = 28
ABC_DAYS = 90
A_SHARE = Decimal("0.80")
B_SHARE = Decimal("0.95")

_COVER = Decimal("0.1")
_SHARE = Decimal("0.0001")


def window(today: date, length: int) -> tuple[date, date]:
    """The ``length`` store days ending ``today``, inclusive.

    >>> window(date(2025, 3, 28), 28)
    (datetime.date(2025, 3, 1), datetime.date(2025, 3, 28))
    """
    return today - timedelta(days=length - 1), today


def days_of_cover(on_hand: int, units_sold_28d: int) -> Decimal | None:
    """How many days the stock lasts at the average daily sales of the last 28 days.

    >>> days_of_cover(10, 28), days_of_cover(10, 0), days_of_cover(5, 3)
    (Decimal('10.0'), None, Decimal('46.7'))
    """
    if units_sold_28d == 0:
        return None
    return (Decimal(on_hand) * COVER_DAYS / units_sold_28d).quantize(_COVER, ROUND_HALF_UP)


def sell_through(units_sold_28d: int, on_hand: int) -> Decimal | None:
    """The share of the stock there was that sold in the last 28 days.

    >>> sell_through(30, 10), sell_through(0, 0), sell_through(0, 4), sell_through(6, -2)
    (Decimal('0.7500'), None, Decimal('0.0000'), Decimal('1.0000'))
    """
    if units_sold_28d == 0:
        return None if on_hand == 0 else ZERO.quantize(_SHARE)
    left = max(on_hand, 0)
    return (Decimal(units_sold_28d) / (units_sold_28d + left)).quantize(_SHARE, ROUND_HALF_UP)


def abc_classes(revenue: Mapping[str, Decimal], skus: Iterable[str]) -> dict[str, AbcClass]:
    """The ABC class of each SKU from its revenue.

    The SKUs with revenue are ranked by revenue, highest first (equal revenue: the smaller sku
    first). Going down the ranking, a SKU is **A** while the SKUs ranked before it hold less
    than 80% of the total revenue, so the SKU that reaches or crosses 80% is the last A; then
    **B** while those before it hold less than 95%; **C** after that. A SKU without revenue is C.

    Parameters
    ----------
    revenue
        Revenue per SKU; absent SKUs have none.
    skus
        The SKUs to classify (those with revenue are classified whether listed or not).

    Examples
    --------
    >>> r = {"a": Decimal(70), "b": Decimal(10), "c": Decimal(10), "d": Decimal(6), "e": Decimal(4)}
    >>> abc_classes(r, ["f"])
    {'a': 'A', 'b': 'A', 'c': 'B', 'd': 'B', 'e': 'C', 'f': 'C'}
    """
    ranked = sorted(((s, v) for s, v in revenue.items() if v > 0), key=lambda item: (-item[1], item[0]))
    total = sum((v for _, v in ranked), ZERO)
    classes: dict[str, AbcClass] = {}
    before = ZERO
    for sku, value in ranked:
        if before < A_SHARE * total:
            classes[sku] = "A"
        elif before < B_SHARE * total:
            classes[sku] = "B"
        else:
            classes[sku] = "C"
        before += value
    for sku in skus:
        classes.setdefault(sku, "C")
    return dict(sorted(classes.items()))


@dataclass(frozen=True)
class CatalogueEntry:
    """What the catalogue says of a SKU."""

    name: str | None = None
    category: str | None = None
    reorder_point: int | None = None
    lead_time_days: int | None = None


@dataclass(frozen=True)
class StockLevel:
    """What the stock counters say of a SKU."""

    on_hand: int = 0
    reorder_point: int | None = None


@dataclass(frozen=True)
class InventoryRow:
    sku: str
    name: str | None
    category: str | None
    on_hand: int
    reorder_point: int
    units_sold_28d: int
    days_of_cover: Decimal | None
    sell_through_28d: Decimal | None
    status: Status
    abc_class: AbcClass
    forecast_daily_units: Decimal | None = None
    stockout_date: date | None = None
    reorder_by: date | None = None
    lead_time_days: int = demand.DEFAULT_LEAD_TIME_DAYS

    def to_json(self) -> dict[str, Any]:
        """Wire form: counts as integers, cover, sell-through and forecast as numbers, dates as
        ``YYYY-MM-DD`` (or null)."""
        out = asdict(self)
        for name in ("days_of_cover", "sell_through_28d", "forecast_daily_units"):
            value = out[name]
            out[name] = None if value is None else float(value)
        for name in ("stockout_date", "reorder_by"):
            value = out[name]
            out[name] = None if value is None else value.isoformat()
        return out


def inventory_rows(
    catalogue: Mapping[str, CatalogueEntry],
    stock: Mapping[str, StockLevel],
    units_sold_28d: Mapping[str, int],
    revenue_90d: Mapping[str, Decimal],
    *,
    today: date | None = None,
    forecasts: Mapping[str, demand.Forecast] | None = None,
    default_lead_time: int = demand.DEFAULT_LEAD_TIME_DAYS,
) -> list[InventoryRow]:
    """One row per SKU in the catalogue or in stock, by sku (the ABC classes ranked over all of
    ``revenue_90d``).

    The reorder point is the stock's (kept with the latest product version), else the
    catalogue's, else 0 for a SKU never described. With ``today`` and ``forecasts`` (the
    ``forecast`` job's, by SKU), a SKU with a forecast gets ``forecast_daily_units``,
    ``stockout_date`` and ``reorder_by`` (its lead time, else ``default_lead_time``).

    Examples
    --------
    >>> rows = inventory_rows({"MUG": CatalogueEntry("Mug", "Home", 5)}, {"MUG": StockLevel(4)},
    ...                       {"MUG": 14}, {"MUG": Decimal("70")})
    >>> r = rows[0]
    >>> r.status, r.days_of_cover, r.sell_through_28d, r.abc_class
    ('low', Decimal('8.0'), Decimal('0.7778'), 'A')
    """
    skus = sorted(set(catalogue) | set(stock))
    # Ranked over every SKU's revenue, listed here or not: a page of the table classes its
    # SKUs as the whole table would.
    classes = abc_classes(revenue_90d, skus)
    rows = []
    for sku in skus:
        entry = catalogue.get(sku, CatalogueEntry())
        level = stock.get(sku, StockLevel())
        reorder_point = next(
            (p for p in (level.reorder_point, entry.reorder_point) if p is not None),
            0,
        )
        sold = int(units_sold_28d.get(sku, 0))
        lead_time = default_lead_time if entry.lead_time_days is None else entry.lead_time_days
        plan = None if forecasts is None or today is None else forecasts.get(sku)
        stockout = None if plan is None or today is None else demand.stockout_date(level.on_hand, plan, today)
        rows.append(
            InventoryRow(
                sku=sku,
                name=entry.name,
                category=entry.category,
                on_hand=level.on_hand,
                reorder_point=reorder_point,
                units_sold_28d=sold,
                days_of_cover=days_of_cover(level.on_hand, sold),
                sell_through_28d=sell_through(sold, level.on_hand),
                status=status(level.on_hand, reorder_point),
                abc_class=classes[sku],
                forecast_daily_units=None if plan is None else plan.daily_units,
                stockout_date=stockout,
                reorder_by=demand.reorder_by(stockout, lead_time),
                lead_time_days=lead_time,
            )
        )
    return rows
