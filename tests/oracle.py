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
from datetime import date, timedelta
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
        ``returns``, ``net_sales`` (Decimals, to the cent) and ``orders``, ``units``, ``refunds``
        (ints: each ``refund_id`` once, on its day).

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
        refunded = refunds.loc[refunds["day"] == day]
        returns = _total(refunded["amount"])
        rows.append(
            {
                "day": day,
                "gross_sales": cents(gross_sales),
                "discounts": cents(discounts),
                "returns": cents(returns),
                "net_sales": cents(gross_sales - discounts - returns),
                "orders": int(on_day["order_id"].nunique()),
                "units": int(on_day["units"].sum()),
                "refunds": int(refunded["refund_id"].nunique()),
            }
        )
    columns = ["day", "gross_sales", "discounts", "returns", "net_sales", "orders", "units", "refunds"]
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


# --------------------------------------------------------------------------------------------
# The read routes of CONTRACT section 4: series, channels, top products, inventory
# --------------------------------------------------------------------------------------------

CHANNELS = ("web", "mobile", "marketplace", "pos")
# pandas names a week by its last day; weeks that end on Sunday are the weeks that start on Monday.
_PERIOD_FREQ = {"day": "D", "week": "W-SUN", "month": "M"}


def _period_starts(days: Iterable[date], granularity: str) -> list[date]:
    """The first day of the day's, week's (Monday) or month's period of each day."""
    stamps = pd.Series(pd.to_datetime(list(days)), dtype="datetime64[ns]")
    return list(stamps.dt.to_period(_PERIOD_FREQ[granularity]).dt.start_time.dt.date)


def sales_series(
    events: Iterable[Mapping[str, Any]], start: date, end: date, granularity: str, tz: str = "UTC"
) -> list[dict[str, Any]]:
    """The sales figures of each day, week (from Monday) or month meeting ``start``..``end``.

    Only the days of the range count, so the periods at its edges may be partial; every period
    is listed, with zeros when it holds nothing. Each point has ``period`` (its first day, a
    date), money (``gross_sales``, ``discounts``, ``returns``, ``net_sales``, Decimals to the
    cent, rounded once per period) and counts (``orders``, ``units``).

    Examples
    --------
    >>> [p["period"].isoformat() for p in sales_series([], date(2025, 3, 5), date(2025, 3, 11), "week")]
    ['2025-03-03', '2025-03-10']
    """
    frame = _delivered(events)
    orders, _ = _orders_and_lines(frame, tz)
    orders = _between(orders, start, end)
    refunds = _between(_refunds(frame, tz), start, end)
    orders = orders.assign(period=_period_starts(orders["day"], granularity))
    refunds = refunds.assign(period=_period_starts(refunds["day"], granularity))
    every_day = pd.date_range(start, end, freq="D").date
    points = []
    for period in sorted(set(_period_starts(every_day, granularity))):
        placed = orders[orders["period"] == period]
        gross_sales = _total(placed["gross"])
        discounts = _total(placed["discount"])
        returns = _total(refunds.loc[refunds["period"] == period, "amount"])
        points.append(
            {
                "period": period,
                "gross_sales": cents(gross_sales),
                "discounts": cents(discounts),
                "returns": cents(returns),
                "net_sales": cents(gross_sales - discounts - returns),
                "orders": int(placed["order_id"].nunique()),
                "units": int(placed["units"].sum()),
            }
        )
    return points


def channels(
    events: Iterable[Mapping[str, Any]], start: date, end: date, tz: str = "UTC"
) -> dict[str, dict[str, Any]]:
    """Per channel (all four), the orders placed in the range: ``gross_sales``, ``discounts``,
    ``average_order_value`` (Decimals to the cent) and ``orders``, ``units`` (ints); and the
    refunds that occurred in the range under the channel of their order (whenever that order
    was placed): ``returns``, ``net_sales``. Refunds of an order never seen are in no channel;
    :func:`unattributed_returns` sums them."""
    frame = _delivered(events)
    orders, _ = _orders_and_lines(frame, tz)
    placed = _between(orders, start, end)
    refunds = _between(_refunds(frame, tz), start, end).merge(
        orders[["order_id", "channel"]], on="order_id", how="left"
    )
    out = {}
    for channel in CHANNELS:
        mine = placed[placed["channel"] == channel]
        gross_sales = _total(mine["gross"])
        discounts = _total(mine["discount"])
        returns = _total(refunds.loc[refunds["channel"] == channel, "amount"])
        count = int(mine["order_id"].nunique())
        out[channel] = {
            "gross_sales": cents(gross_sales),
            "discounts": cents(discounts),
            "returns": cents(returns),
            "net_sales": cents(gross_sales - discounts - returns),
            "average_order_value": cents((gross_sales - discounts) / count) if count else cents(ZERO),
            "orders": count,
            "units": int(mine["units"].sum()),
        }
    return out


def unattributed_returns(
    events: Iterable[Mapping[str, Any]], start: date, end: date, tz: str = "UTC"
) -> Decimal:
    """The refunds that occurred in the range whose order was never placed, to the cent."""
    frame = _delivered(events)
    orders, _ = _orders_and_lines(frame, tz)
    refunds = _between(_refunds(frame, tz), start, end)
    return cents(_total(refunds.loc[~refunds["order_id"].isin(orders["order_id"]), "amount"]))


def catalogue(events: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each SKU's latest ``product.upserted`` data, by ``occurred_at`` then ``event_id``."""
    frame = _of_type(_delivered(events), "product.upserted")
    latest = frame.sort_values(["at", "event_id"], kind="stable")
    return {data["sku"]: data for data in latest["data"]}


def _sku_sales(lines: pd.DataFrame) -> pd.DataFrame:
    """Units and line revenue (``quantity * unit_price``) per SKU, indexed by sku."""
    rows = [
        (sku, int(group["quantity"].sum()), _total(group["amount"]))
        for sku, group in lines.groupby("sku", sort=True)
    ]
    return pd.DataFrame(rows, columns=["sku", "units", "net_sales"]).set_index("sku")


def top_products(
    events: Iterable[Mapping[str, Any]],
    start: date,
    end: date,
    by: str = "net_sales",
    limit: int = 10,
    tz: str = "UTC",
) -> list[dict[str, Any]]:
    """The ``limit`` SKUs with the most ``by`` over the orders placed in the range.

    ``net_sales`` of a SKU is its line revenue (``quantity * unit_price`` summed, to the cent):
    discounts and refunds belong to whole orders. Higher first, equal values by sku; only SKUs
    that sold. ``name`` and ``category`` from the catalogue (None when never described).
    """
    events = list(events)
    frame = _delivered(events)
    _, lines = _orders_and_lines(frame, tz)
    sold = _sku_sales(_between(lines, start, end)).reset_index()
    ranked = sorted(sold.itertuples(index=False), key=lambda row: (-Decimal(getattr(row, by)), row.sku))[
        :limit
    ]
    described = catalogue(events)
    return [
        {
            "sku": row.sku,
            "name": described.get(row.sku, {}).get("name"),
            "category": described.get(row.sku, {}).get("category"),
            "units": int(row.units),
            "net_sales": cents(row.net_sales),
        }
        for row in ranked
    ]


def abc_classes(revenue: Mapping[str, Decimal]) -> dict[str, str]:
    """ABC classes as docs/metrics.md words them.

    Rank the SKUs with revenue, highest first, equal revenue by sku. A SKU is A while the
    SKUs ranked before it hold less than 80% of the total, B while they hold less than 95%, C
    after that; a SKU without revenue is C.

    >>> abc_classes({"a": Decimal(80), "b": Decimal(15), "c": Decimal(5), "d": Decimal(0)})
    {'a': 'A', 'b': 'B', 'c': 'C', 'd': 'C'}
    """
    earning = sorted(((v, s) for s, v in revenue.items() if v > 0), key=lambda pair: (-pair[0], pair[1]))
    total = _total(v for v, _ in earning)
    classes = dict.fromkeys(revenue, "C")
    held_before = ZERO
    for value, sku in earning:
        share_before = held_before / total
        classes[sku] = (
            "A" if share_before < Decimal("0.8") else "B" if share_before < Decimal("0.95") else "C"
        )
        held_before += value
    return classes


def inventory_items(
    events: Iterable[Mapping[str, Any]], today: date, tz: str = "UTC"
) -> dict[str, dict[str, Any]]:
    """The ``/inventory`` row of every SKU the events mention, as of the store day ``today``.

    "The last 28 (90) days" are the 28 (90) store days ending ``today``, inclusive.
    ``days_of_cover = on_hand / (units_sold_28d / 28)`` half-up to one decimal (None when none
    sold); ``sell_through_28d = units_sold_28d / (units_sold_28d + max(on_hand, 0))`` to four
    decimals (None when nothing sold and nothing on hand, 0 when nothing sold); ABC over the
    line revenue of the 90 days.
    """
    events = list(events)
    frame = _delivered(events)
    _, lines = _orders_and_lines(frame, tz)
    last_28 = _sku_sales(_between(lines, today - timedelta(days=27), today))
    last_90 = _sku_sales(_between(lines, today - timedelta(days=89), today))
    stock = on_hand(events)
    points = reorder_points(events)
    described = catalogue(events)
    classes = abc_classes({sku: last_90["net_sales"].get(sku, ZERO) for sku in stock})
    items = {}
    for sku, units_on_hand in sorted(stock.items()):
        sold = int(last_28["units"].get(sku, 0))
        cover = (
            None
            if sold == 0
            else (Decimal(units_on_hand) / (Decimal(sold) / 28)).quantize(Decimal("0.1"), ROUND_HALF_UP)
        )
        if sold == 0:
            through = None if units_on_hand == 0 else Decimal("0.0000")
        else:
            through = (Decimal(sold) / (sold + max(units_on_hand, 0))).quantize(
                Decimal("0.0001"), ROUND_HALF_UP
            )
        point = points.get(sku, 0)
        items[sku] = {
            "sku": sku,
            "name": described.get(sku, {}).get("name"),
            "category": described.get(sku, {}).get("category"),
            "on_hand": units_on_hand,
            "reorder_point": point,
            "units_sold_28d": sold,
            "days_of_cover": cover,
            "sell_through_28d": through,
            "status": stock_status(units_on_hand, point),
            "abc_class": classes[sku],
            # Before the nightly forecast job has run (tests/integration/test_insights_jobs.py
            # checks the forecast fields after it), with the default lead time.
            "forecast_daily_units": None,
            "stockout_date": None,
            "reorder_by": None,
            "lead_time_days": 7,
        }
    return items


# --------------------------------------------------------------------------------------------
# Customers: cohorts and retention
# --------------------------------------------------------------------------------------------

_SHARE = Decimal("0.0001")


def cohorts(
    events: Iterable[Mapping[str, Any]], start_month: str, end_month: str, current_month: str, tz: str = "UTC"
) -> list[dict[str, Any]]:
    """The retention matrix of the cohort months ``start_month``..``end_month`` (``YYYY-MM``).

    A customer's cohort is the month (store time) of their first order ever; ``active[k]`` is
    how many of a cohort ordered in month ``cohort + k``, for ``k`` up to ``current_month``;
    ``retention[k] = active[k] / size`` half-up to 4 decimals (zeros for an empty cohort).

    Examples
    --------
    >>> [row["cohort"] for row in cohorts([], "2024-11", "2025-01", "2025-01")]
    ['2024-11', '2024-12', '2025-01']
    """
    frame = _delivered(events)
    orders, _ = _orders_and_lines(frame, tz)
    orders["month"] = [f"{d.year:04d}-{d.month:02d}" for d in orders["day"]]
    first = _first_orders(orders).set_index("customer_id")["month"]
    orders["cohort"] = orders["customer_id"].map(first)
    current = pd.Period(current_month, freq="M")
    rows = []
    for period in pd.period_range(start_month, end_month, freq="M"):
        cohort = str(period)
        size = int((first == cohort).sum())
        mine = orders[orders["cohort"] == cohort]
        span = (current - period).n + 1 if period <= current else 0
        active = [
            int(mine.loc[mine["month"] == str(period + k), "customer_id"].nunique()) for k in range(span)
        ]
        retention = [
            (Decimal(n) / Decimal(size)).quantize(_SHARE, ROUND_HALF_UP) if size else ZERO for n in active
        ]
        rows.append({"cohort": cohort, "size": size, "active": active, "retention": retention})
    return rows


# --------------------------------------------------------------------------------------------
# Customers: RFM segments (the rules of docs/metrics.md, written again)
# --------------------------------------------------------------------------------------------

SEGMENT_NAMES = (
    "champions",
    "loyal",
    "cant_lose_them",
    "at_risk",
    "new",
    "potential_loyalist",
    "need_attention",
    "hibernating",
    "lost",
)


def _segment(r: int, f: int, m: int, orders: int) -> str:
    if r >= 4 and f >= 4 and m >= 4:
        return "champions"
    if r >= 3 and f >= 4:
        return "loyal"
    if r <= 2 and f >= 4 and m >= 4:
        return "cant_lose_them"
    if r <= 2 and f >= 3:
        return "at_risk"
    if r >= 4 and orders == 1:
        return "new"
    if r >= 4 or (r == 3 and f >= 3):
        return "potential_loyalist"
    return {3: "need_attention", 2: "hibernating"}.get(r, "lost")


def rfm(events: Iterable[Mapping[str, Any]], as_of: date, tz: str = "UTC") -> pd.DataFrame:
    """Per customer with an order: ``last_order``, ``orders``, ``monetary`` (orders' gross less
    discount, less the refunds of those orders), the 1-5 scores ``r``, ``f``, ``m`` and the
    ``segment``. A score is ``1 + 5 * (customers with a strictly worse value) // customers``."""
    frame = _delivered(events)
    orders, _ = _orders_and_lines(frame, tz)
    refunds = _refunds(frame, tz).merge(orders[["order_id", "customer_id"]], on="order_id", how="inner")
    orders = orders.assign(net=[g - d for g, d in zip(orders["gross"], orders["discount"], strict=True)])
    rows = []
    for customer, mine in orders.groupby("customer_id"):
        refunded = _total(refunds.loc[refunds["customer_id"] == customer, "amount"])
        rows.append((customer, max(mine["day"]), len(mine), _total(mine["net"]) - refunded))
    table = pd.DataFrame(rows, columns=["customer_id", "last_order", "orders", "monetary"]).set_index(
        "customer_id"
    )
    n = len(table)
    if not n:
        return table.assign(r=[], f=[], m=[], segment=[])
    recency = pd.Series([-(as_of - d).days for d in table["last_order"]], index=table.index)

    def scores(values: pd.Series) -> list[int]:
        return [1 + 5 * int((values < v).sum()) // n for v in values]

    table["r"] = scores(recency)
    table["f"] = scores(table["orders"])
    table["m"] = scores(table["monetary"])  # Decimals, compared exactly
    table["segment"] = [
        _segment(r, f, m, o)
        for r, f, m, o in zip(table["r"], table["f"], table["m"], table["orders"], strict=True)
    ]
    return table


def segments(events: Iterable[Mapping[str, Any]], as_of: date, tz: str = "UTC") -> list[dict[str, Any]]:
    """``[{segment, customers, share_of_revenue}]`` for every segment (fixed order); the share
    is the segment's monetary over all customers', half-up to 4 decimals (0 if not positive)."""
    table = rfm(events, as_of, tz)
    total = _total(table["monetary"])
    out = []
    for name in SEGMENT_NAMES:
        mine = table[table["segment"] == name]
        money = _total(mine["monetary"])
        out.append(
            {
                "segment": name,
                "customers": len(mine),
                "share_of_revenue": (money / total).quantize(_SHARE, ROUND_HALF_UP) if total > 0 else ZERO,
            }
        )
    return out


# --------------------------------------------------------------------------------------------
# Products: one product's days, and products bought together
# --------------------------------------------------------------------------------------------


def product_series(
    events: Iterable[Mapping[str, Any]], sku: str, start: date, end: date, tz: str = "UTC"
) -> list[dict[str, Any]]:
    """One SKU's units and line revenue on every store day of the range, zeros included."""
    _, lines = _orders_and_lines(_delivered(events), tz)
    mine = _between(lines[lines["sku"] == sku], start, end)
    series = []
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        that_day = mine[mine["day"] == day]
        series.append(
            {
                "period": day,
                "units": int(that_day["quantity"].sum()),
                "net_sales": cents(_total(that_day["amount"])),
            }
        )
    return series


def pairs(
    events: Iterable[Mapping[str, Any]], start: date, end: date, min_orders: int = 1, tz: str = "UTC"
) -> pd.DataFrame:
    """Every pair of SKUs ``a < b`` bought together in at least ``min_orders`` orders placed in
    the range, with ``orders``, ``support``, ``confidence_ab``, ``confidence_ba`` and ``lift``
    (rounded to six decimals), ranked by lift then orders descending, then ``a``, ``b``.

    An order counts each of its distinct SKUs once; ``N`` is the range's orders.
    """
    orders, lines = _orders_and_lines(_delivered(events), tz)
    total = len(_between(orders, start, end))
    baskets = _between(lines, start, end)[["order_id", "sku"]].drop_duplicates()
    per_sku = baskets.groupby("sku")["order_id"].nunique()
    both = baskets.merge(baskets, on="order_id", suffixes=("_a", "_b"))
    both = both[both["sku_a"] < both["sku_b"]]
    counted = both.groupby(["sku_a", "sku_b"]).size().rename("orders").reset_index()
    counted = counted[counted["orders"] >= min_orders].rename(columns={"sku_a": "a", "sku_b": "b"})
    n_a = counted["a"].map(per_sku)
    n_b = counted["b"].map(per_sku)
    counted["support"] = (counted["orders"] / total).round(6)
    counted["confidence_ab"] = (counted["orders"] / n_a).round(6)
    counted["confidence_ba"] = (counted["orders"] / n_b).round(6)
    counted["lift"] = (counted["orders"] * total / (n_a * n_b)).round(6)
    ranked = counted.sort_values(["lift", "orders", "a", "b"], ascending=[False, False, True, True])
    return ranked.reset_index(drop=True)
