"""An independent computation of the metrics of CONTRACT section 3, for testing the pipeline.

Written straight from the contract's definitions, over the events as a store sends them (JSON
dicts), with pandas and nothing from ``backend``: when the pipeline and this module agree, they
agree on the contract, not on shared code. It favours being obviously right over being fast.

The rules the contract leaves open are those of ``docs/metrics.md``:

- an ``event_id`` seen before is a duplicate, whatever its payload: the first delivered wins;
  likewise orders are distinct by ``order_id`` and refunds by ``refund_id`` (first delivered);
- a day is the calendar day of ``occurred_at`` in the store's time zone;
- a customer's first order ever is their earliest order by ``occurred_at`` over all time, a tie
  on the same instant going to the smaller ``order_id``;
- money is summed exactly (Decimal, never float) and rounded half-up to cents at the end.

The events are assumed valid (as the ingest API would accept them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pandas as pd

CENT = Decimal("0.01")
ZERO = Decimal("0")

_ORDER_COLUMNS = ["order_id", "customer_id", "channel", "at", "gross", "discount", "units"]
_LINE_COLUMNS = ["order_id", "sku", "quantity", "unit_price", "amount"]
_REFUND_COLUMNS = ["refund_id", "order_id", "at", "amount", "restock"]


def cents(value: Decimal) -> Decimal:
    """Round half-up to cents, as the contract asks, once at the end."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _total(values: Iterable[Any]) -> Decimal:
    # Summed in Python so that an empty column gives Decimal 0, not the integer 0.
    return sum((Decimal(v) for v in values), ZERO)


def _delivered(events: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Events once each: a repeated ``event_id`` is dropped, the first delivery kept."""
    frame = pd.DataFrame(
        [(e["event_id"], e["type"], e["occurred_at"], e["data"]) for e in events],
        columns=["event_id", "type", "occurred_at", "data"],
    )
    frame = frame.drop_duplicates("event_id", keep="first").reset_index(drop=True)
    frame["at"] = pd.to_datetime(frame["occurred_at"], utc=True, format="ISO8601")
    return frame


def _of_type(frame: pd.DataFrame, event_type: str) -> pd.DataFrame:
    return frame[frame["type"] == event_type]


def _local_day(at: pd.Series, tz: str) -> pd.Series:
    return at.dt.tz_convert(tz).dt.date


def _orders_and_lines(frame: pd.DataFrame, tz: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    placed = _of_type(frame, "order.placed")
    orders = pd.DataFrame(
        [
            (
                data["order_id"],
                data["customer_id"],
                data.get("channel", "web"),
                at,
                _total(Decimal(line["unit_price"]) * line["quantity"] for line in data["lines"]),
                Decimal(data.get("discount", "0")),
                sum(line["quantity"] for line in data["lines"]),
            )
            for data, at in zip(placed["data"], placed["at"], strict=True)
        ],
        columns=_ORDER_COLUMNS,
    )
    orders["event_index"] = placed.index.to_numpy()
    orders = orders.drop_duplicates("order_id", keep="first")
    orders["day"] = _local_day(pd.to_datetime(orders["at"], utc=True), tz)
    kept = frame.loc[orders["event_index"]]
    lines = pd.DataFrame(
        [
            (
                data["order_id"],
                line["sku"],
                line["quantity"],
                Decimal(line["unit_price"]),
                Decimal(line["unit_price"]) * line["quantity"],
            )
            for data in kept["data"]
            for line in data["lines"]
        ],
        columns=_LINE_COLUMNS,
    )
    lines = lines.merge(orders[["order_id", "day", "channel"]], on="order_id", how="left")
    return orders.drop(columns="event_index"), lines


def _refunds(frame: pd.DataFrame, tz: str) -> pd.DataFrame:
    refunded = _of_type(frame, "order.refunded")
    refunds = pd.DataFrame(
        [
            (
                data["refund_id"],
                data["order_id"],
                at,
                Decimal(data["amount"]),
                data.get("restock") or [],
            )
            for data, at in zip(refunded["data"], refunded["at"], strict=True)
        ],
        columns=_REFUND_COLUMNS,
    )
    refunds = refunds.drop_duplicates("refund_id", keep="first")
    refunds["day"] = _local_day(pd.to_datetime(refunds["at"], utc=True), tz)
    return refunds


def _first_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """Each customer's first order ever: the earliest instant, then the smallest order_id."""
    ranked = orders.sort_values(["at", "order_id"], kind="stable")
    return ranked.drop_duplicates("customer_id", keep="first")


def _between(frame: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    return frame[(frame["day"] >= start) & (frame["day"] <= end)]


def summary(events: Iterable[Mapping[str, Any]], start: date, end: date, tz: str = "UTC") -> dict[str, Any]:
    """Every summary metric of CONTRACT section 3 for the inclusive range ``start``..``end``.

    Parameters
    ----------
    events
        Events in delivery order, duplicates included, in their JSON form.
    start, end
        The range, in calendar days of the store's time zone.
    tz
        The store's time zone.

    Returns
    -------
    dict
        Money (``gross_sales``, ``discounts``, ``returns``, ``net_sales``,
        ``average_order_value``) as Decimals rounded half-up to cents; counts (``orders``,
        ``units``, ``customers``, ``new_customers``, ``returning_customers``) as ints;
        ``returning_customer_rate`` as an unrounded Decimal fraction (0 without customers).

    Examples
    --------
    >>> summary([], date(2025, 1, 1), date(2025, 1, 31))["average_order_value"]
    Decimal('0.00')
    """
    frame = _delivered(events)
    orders, _ = _orders_and_lines(frame, tz)
    refunds = _refunds(frame, tz)

    placed = _between(orders, start, end)
    gross_sales = _total(placed["gross"])
    discounts = _total(placed["discount"])
    returns = _total(_between(refunds, start, end)["amount"])
    order_count = int(placed["order_id"].nunique())

    first = _first_orders(orders)
    customers = int(placed["customer_id"].nunique())
    new_customers = int(_between(first, start, end)["customer_id"].nunique())
    # Literally the contract: someone whose first and second orders are both in the range is
    # new (the first) and returning (the second) at once.
    later_orders = placed[~placed["order_id"].isin(first["order_id"])]
    returning_customers = int(later_orders["customer_id"].nunique())

    return {
        "gross_sales": cents(gross_sales),
        "discounts": cents(discounts),
        "returns": cents(returns),
        "net_sales": cents(gross_sales - discounts - returns),
        "orders": order_count,
        "units": int(placed["units"].sum()),
        "average_order_value": (
            cents((gross_sales - discounts) / order_count) if order_count else cents(ZERO)
        ),
        "customers": customers,
        "new_customers": new_customers,
        "returning_customers": returning_customers,
        "returning_customer_rate": (Decimal(returning_customers) / Decimal(customers) if customers else ZERO),
    }


def daily(
    events: Iterable[Mapping[str, Any]],
    tz: str = "UTC",
    start: date | None = None,
    end: date | None = None,
) -> pd.DataFrame:
    """Sales by calendar day of the store's time zone.

    Parameters
    ----------
    events
        Events in delivery order, duplicates included.
    tz
        The store's time zone.
    start, end
        When given, every day of the range is a row (zeros on empty days) and nothing else is.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``day`` (a :class:`datetime.date`), with ``gross_sales``, ``discounts``,
        ``returns``, ``net_sales`` (Decimals, to the cent) and ``orders``, ``units`` (ints).

    Examples
    --------
    >>> list(daily([], start=date(2025, 1, 1), end=date(2025, 1, 2))["orders"])
    [0, 0]
    """
    frame = _delivered(events)
    orders, _ = _orders_and_lines(frame, tz)
    refunds = _refunds(frame, tz)
    if start is not None and end is not None:
        days = list(pd.date_range(start, end, freq="D").date)
        orders, refunds = _between(orders, start, end), _between(refunds, start, end)
    else:
        days = sorted(set(orders["day"]) | set(refunds["day"]))
    rows = []
    for day in days:
        on_day = orders[orders["day"] == day]
        gross_sales = _total(on_day["gross"])
        discounts = _total(on_day["discount"])
        returns = _total(refunds.loc[refunds["day"] == day, "amount"])
        rows.append(
            {
                "day": day,
                "gross_sales": cents(gross_sales),
                "discounts": cents(discounts),
                "returns": cents(returns),
                "net_sales": cents(gross_sales - discounts - returns),
                "orders": int(on_day["order_id"].nunique()),
                "units": int(on_day["units"].sum()),
            }
        )
    columns = ["day", "gross_sales", "discounts", "returns", "net_sales", "orders", "units"]
    result = pd.DataFrame(rows, columns=columns).set_index("day")
    for money in ("gross_sales", "discounts", "returns", "net_sales"):
        result[money] = result[money].astype(object)
    return result


def on_hand(events: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Stock of every SKU: adjustments, less units ordered, plus units restocked by refunds.

    Every SKU the events mention (a product, an adjustment, an order line, a restock) has an
    entry, 0 when nothing moved it.

    Examples
    --------
    >>> on_hand([{"event_id": "a", "type": "inventory.adjusted",
    ...           "occurred_at": "2025-01-01T00:00:00Z",
    ...           "data": {"sku": "S", "delta": 5, "reason": "restock"}}])
    {'S': 5}
    """
    frame = _delivered(events)
    _, lines = _orders_and_lines(frame, "UTC")
    refunds = _refunds(frame, "UTC")
    adjusted = _of_type(frame, "inventory.adjusted")["data"]
    restocked = [item for items in refunds["restock"] for item in items]
    products = _of_type(frame, "product.upserted")["data"]

    movements = pd.DataFrame(
        [(d["sku"], int(d["delta"])) for d in adjusted]
        + [(sku, -int(q)) for sku, q in zip(lines["sku"], lines["quantity"], strict=True)]
        + [(item["sku"], int(item["quantity"])) for item in restocked]
        + [(d["sku"], 0) for d in products],
        columns=["sku", "units"],
    )
    totals = movements.groupby("sku")["units"].sum()
    return {str(sku): int(units) for sku, units in totals.items()}


def reorder_points(events: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """The reorder point of each SKU from its latest ``product.upserted`` by ``occurred_at``.

    Two upserts at the same instant: the greater ``event_id`` is taken as the later one, so
    that the answer does not depend on the order of arrival.
    """
    frame = _of_type(_delivered(events), "product.upserted")
    latest = frame.sort_values(["at", "event_id"], kind="stable")
    return {data["sku"]: int(data["reorder_point"]) for data in latest["data"]}


def stock_status(on_hand: int, reorder_point: int) -> str:
    """``out`` when ``on_hand <= 0``, ``low`` when ``on_hand <= reorder_point``, else ``ok``.

    >>> stock_status(0, 5), stock_status(5, 5), stock_status(6, 5)
    ('out', 'low', 'ok')
    """
    if on_hand <= 0:
        return "out"
    if on_hand <= reorder_point:
        return "low"
    return "ok"


def inventory(events: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per SKU: ``on_hand``, ``reorder_point`` (0 without a product) and ``status``."""
    events = list(events)
    stock = on_hand(events)
    points = reorder_points(events)
    rows = [
        {
            "sku": sku,
            "on_hand": units,
            "reorder_point": points.get(sku, 0),
            "status": stock_status(units, points.get(sku, 0)),
        }
        for sku, units in sorted(stock.items())
    ]
    return pd.DataFrame(rows, columns=["sku", "on_hand", "reorder_point", "status"]).set_index("sku")
