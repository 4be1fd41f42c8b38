"""Pure builders: API JSON in, Plotly figures, KPI values and table rows out.

No Dash, no HTTP, no settings here: the pages fetch, these shape, and the unit tests feed them
API-shaped JSON. Money arrives as decimal strings and stays :class:`~decimal.Decimal` until it
is drawn (a chart axis is the one place for floats).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import plotly.graph_objects as go
from babel.numbers import format_currency, get_currency_precision

STATUS_COLOURS = {"ok": "#2b8a3e", "low": "#b35c00", "out": "#c92a2a"}
SERIES_COLOURS = {
    "gross_sales": "#4263eb",
    "discounts": "#e8590c",
    "returns": "#c92a2a",
    "net_sales": "#2b8a3e",
}
# The compared period's line (4.6:1 on white, 4.1:1 on the dark theme's cards).
COMPARED_COLOUR = "#6c757d"
LABELS = {
    "gross_sales": "Gross sales",
    "discounts": "Discounts",
    "returns": "Returns",
    "net_sales": "Net sales",
    "orders": "Orders",
    "units": "Units",
}
REPORT_TYPES = {"sales_summary": "Sales summary", "inventory": "Inventory", "customers": "Customers"}
_LAYOUT: dict[str, Any] = {
    "template": "plotly_white",
    "margin": {"l": 48, "r": 16, "t": 32, "b": 40},
    "height": 320,
    "legend": {"orientation": "h", "y": -0.2},
    "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
}


def money(value: str | Decimal | None, currency: str = "USD", locale: str = "en_US") -> str:
    """``"1234.5"`` -> ``"$1,234.50"``; ``None`` -> ``"–"``.

    Babel knows every currency's symbol and digits and every locale's conventions; the amount is
    rounded half-up to the currency's digits first (Babel itself rounds half-even), as the
    metrics are (CONTRACT section 3).

    Examples
    --------
    >>> money("1234.5"), money("-3.10", "EUR"), money("1234.5", "JPY"), money(None)
    ('$1,234.50', '-€3.10', '¥1,235', '–')
    """
    if value is None:
        return "–"
    digits = get_currency_precision(currency)
    amount = Decimal(str(value)).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return format_currency(amount, currency, locale=locale)


def percent(share: float | str | None, digits: int = 1) -> str:
    """A 0..1 share as a percentage: ``0.4267`` -> ``"42.7%"``."""
    if share is None:
        return "–"
    return f"{float(share) * 100:.{digits}f}%"


@dataclass(frozen=True)
class Kpi:
    """One KPI card: what, its value as shown, and its change vs the previous period.

    ``change_pct`` is ``None`` when the previous period had nothing to compare with;
    ``good_when_up`` says which way is good (for the colour).
    """

    key: str
    label: str
    value: str
    change_pct: float | None
    good_when_up: bool = True
    note: str = ""
    versus: str = "previous period"

    @property
    def change_text(self) -> str:
        if self.note:
            return self.note
        if not self.versus:
            return ""
        if self.change_pct is None:
            return f"no data for the {self.versus}"
        shown = self._shown_change
        arrow = "▲" if shown > 0 else "▼" if shown < 0 else "■"
        return f"{arrow} {abs(shown):.1f}% vs {self.versus}"

    @property
    def _shown_change(self) -> float:
        # The change as printed (one decimal): a -0.04 % change is "■ 0.0%", not a red "▼ 0.0%"
        return round(self.change_pct or 0.0, 1) + 0.0

    @property
    def tone(self) -> str:
        """``good``, ``bad`` or ``flat``: the colour of the change."""
        if not self._shown_change:
            return "flat"
        return "good" if (self._shown_change > 0) == self.good_when_up else "bad"


def _change(summary: Mapping[str, Any], key: str) -> float | None:
    value = (summary.get("change_pct") or {}).get(key)
    return None if value is None else float(value)


def change_pct(current: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, float | None]:
    """Each figure's change in percent of the previous value, to two decimals half-up, ``None``
    when that was zero: what ``/metrics/summary?compare=previous_period`` says, for any two
    summaries (the same period last year is not a comparison the API makes).

    Examples
    --------
    >>> change_pct({"net_sales": "15.00", "orders": 3}, {"net_sales": "10.00", "orders": 0})
    {'net_sales': 50.0, 'orders': None}
    """
    out: dict[str, float | None] = {}
    for name, value in current.items():
        if name not in previous:
            continue
        try:
            before, after = Decimal(str(previous[name])), Decimal(str(value))
        except ArithmeticError:
            continue
        out[name] = (
            None
            if before == 0
            else float(((after - before) / before * 100).quantize(Decimal("0.01"), ROUND_HALF_UP))
        )
    return out


def overview_kpis(
    summary: Mapping[str, Any],
    inventory: Mapping[str, Any] | None,
    currency: str = "USD",
    versus: str = "previous period",
) -> list[Kpi]:
    """The Overview's cards from ``/metrics/summary?compare=previous_period`` and ``/inventory``.

    Examples
    --------
    >>> s = {"current": {"net_sales": "10.00", "orders": 2, "average_order_value": "5.00",
    ...      "new_customers": 1, "returning_customer_rate": 0.5}, "change_pct": {"net_sales": 25}}
    >>> [(k.key, k.value) for k in overview_kpis(s, {"items": [{"status": "low"}]})][:2]
    [('net_sales', '$10.00'), ('orders', '2')]
    """
    current = summary["current"]
    cards = [
        Kpi(
            "net_sales",
            "Net sales",
            money(current["net_sales"], currency),
            _change(summary, "net_sales"),
            versus=versus,
        ),
        Kpi("orders", "Orders", f"{int(current['orders']):,}", _change(summary, "orders"), versus=versus),
        Kpi(
            "average_order_value",
            "Average order value",
            money(current["average_order_value"], currency),
            _change(summary, "average_order_value"),
            versus=versus,
        ),
        Kpi(
            "new_customers",
            "New customers",
            f"{int(current['new_customers']):,}",
            _change(summary, "new_customers"),
            versus=versus,
        ),
        Kpi(
            "returning_customer_rate",
            "Returning customers",
            percent(current["returning_customer_rate"]),
            _change(summary, "returning_customer_rate"),
            versus=versus,
        ),
    ]
    if inventory is not None:
        cards.append(low_stock_kpi(inventory))
    return cards


def low_stock_skus(inventory: Mapping[str, Any]) -> int:
    """SKUs at or under their reorder point now (status ``low`` or ``out``) in ``/inventory``."""
    return sum(1 for item in inventory.get("items", []) if item.get("status") in ("low", "out"))


def low_stock_kpi(inventory: Mapping[str, Any] | None) -> Kpi:
    """The low-stock card; ``"…"`` until the inventory is there (it is the slowest figure)."""
    value = "…" if inventory is None else f"{low_stock_skus(inventory):,}"
    return Kpi(
        "low_stock_skus",
        "Low-stock SKUs",
        value,
        None,
        good_when_up=False,
        note="at or under reorder point, now",
    )


def has_sales(series: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a ``/metrics/sales`` series holds anything (an order or a refund)."""
    return any(int(point.get("orders", 0)) or Decimal(str(point.get("returns", "0"))) for point in series)


def sales_trend_figure(
    series: Sequence[Mapping[str, Any]],
    previous: Sequence[Mapping[str, Any]] | None = None,
    currency: str = "USD",
    previous_name: str = "Previous period",
) -> go.Figure:
    """Net sales per period, with the compared period's aligned underneath when given.

    Each point carries its period (``customdata``), so a click opens that day."""
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=[point["period"] for point in series],
            y=[float(point["net_sales"]) for point in series],
            customdata=[
                [point.get("start", point["period"]), point.get("end", point["period"])] for point in series
            ],
            name="Net sales",
            mode="lines+markers",
            line={"color": SERIES_COLOURS["net_sales"], "width": 2},
            fill="tozeroy",
            fillcolor="rgba(47,158,68,0.08)",
        )
    )
    if previous:
        figure.add_trace(
            go.Scatter(
                x=[point["period"] for point in series],
                y=[float(point["net_sales"]) for point in previous][: len(series)],
                customdata=[point["period"] for point in previous],
                hovertemplate="%{customdata}: %{y:,.2f}<extra>" + previous_name + "</extra>",
                name=previous_name,
                mode="lines",
                line={"color": COMPARED_COLOUR, "dash": "dot"},
            )
        )
    figure.update_layout(**_LAYOUT, yaxis_title=f"Net sales ({currency})", hovermode="x unified")
    return figure


def sales_breakdown_figure(
    series: Sequence[Mapping[str, Any]],
    currency: str = "USD",
    previous: Sequence[Mapping[str, Any]] | None = None,
    previous_name: str = "previous period",
) -> go.Figure:
    """Gross sales as bars, discounts and returns below zero, net sales as a line.

    With ``previous`` (the series of the previous period of the same length and granularity),
    its net sales are drawn as a dotted line over the same periods, period for period: the
    n-th period of the range next to the n-th period before it (its own dates in the hover).

    Examples
    --------
    >>> now = [{"period": "2025-05-08", "gross_sales": "10.00", "discounts": "1.00",
    ...         "returns": "0.00", "net_sales": "9.00"}]
    >>> before = [{**now[0], "period": "2025-05-07", "net_sales": "4.00"}]
    >>> [t.name for t in sales_breakdown_figure(now, previous=before).data][-1]
    'Net sales, previous period'
    """
    periods = [point["period"] for point in series]
    # Each period's first and last day, so that a click on it opens those days
    spans = [[p.get("start", p["period"]), p.get("end", p["period"])] for p in series]
    figure = go.Figure()
    figure.add_trace(
        go.Bar(
            x=periods,
            y=[float(p["gross_sales"]) for p in series],
            customdata=spans,
            name=LABELS["gross_sales"],
            marker_color=SERIES_COLOURS["gross_sales"],
        )
    )
    for key in ("discounts", "returns"):
        figure.add_trace(
            go.Bar(
                x=periods,
                y=[-float(p[key]) for p in series],
                name=LABELS[key],
                marker_color=SERIES_COLOURS[key],
            )
        )
    figure.add_trace(
        go.Scatter(
            x=periods,
            y=[float(p["net_sales"]) for p in series],
            name=LABELS["net_sales"],
            mode="lines+markers",
            line={"color": SERIES_COLOURS["net_sales"], "width": 2},
        )
    )
    if previous:
        aligned = list(previous)[: len(series)]
        figure.add_trace(
            go.Scatter(
                x=periods[: len(aligned)],
                y=[float(p["net_sales"]) for p in aligned],
                customdata=[p["period"] for p in aligned],
                hovertemplate="%{customdata}: %{y:,.2f}<extra>Net sales, " + previous_name + "</extra>",
                name=f"Net sales, {previous_name}",
                mode="lines",
                line={"color": COMPARED_COLOUR, "dash": "dot", "width": 2},
            )
        )
    figure.update_layout(**_LAYOUT, barmode="relative", yaxis_title=currency, hovermode="x unified")
    return figure


def channels_figure(channels: Sequence[Mapping[str, Any]], currency: str = "USD") -> go.Figure:
    """Sales after discounts per channel (horizontal bars), orders in the hover."""
    names = [c["channel"] for c in channels]
    values = [float(Decimal(str(c["gross_sales"])) - Decimal(str(c["discounts"]))) for c in channels]
    figure = go.Figure(
        go.Bar(
            x=values,
            y=names,
            orientation="h",
            customdata=[c["orders"] for c in channels],
            hovertemplate="%{y}: %{x:,.2f} (%{customdata} orders)<extra></extra>",
            marker_color="#4263eb",
        )
    )
    figure.update_layout(**{**_LAYOUT, "height": 260}, xaxis_title=f"Sales after discounts ({currency})")
    figure.update_yaxes(autorange="reversed")
    return figure


def has_channel_sales(channels: Sequence[Mapping[str, Any]]) -> bool:
    return any(int(c.get("orders", 0)) for c in channels)


def product_rows(products: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the top-products table (money stays a decimal string, as the CSV shows it)."""
    return [
        {
            "rank": p.get("rank", index + 1),
            "sku": p["sku"],
            "name": p.get("name") or "(not described)",
            "category": p.get("category") or "",
            "units": int(p["units"]),
            "net_sales": float(p["net_sales"]),
        }
        for index, p in enumerate(products)
    ]


def cohort_heatmap(cohorts: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Retention by cohort month (rows) and months since first order (columns), as percentages."""
    width = max((len(c["retention"]) for c in cohorts), default=0)
    z: list[list[float | None]] = []
    text: list[list[str]] = []
    for cohort in cohorts:
        row = [float(share) * 100 for share in cohort["retention"]]
        z.append(row + [None] * (width - len(row)))
        text.append([f"{v:.0f}%" for v in row] + [""] * (width - len(row)))
    labels = [f"{c['cohort']} ({int(c['size']):,})" for c in cohorts]
    active = [
        [f"{int(n):,}" for n in c.get("active", [])] + [""] * (width - len(c.get("active", [])))
        for c in cohorts
    ]
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"M+{k}" for k in range(width)],
            y=labels,
            text=text,
            customdata=active,
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=100,
            hovertemplate="cohort %{y}, %{x}: %{z:.1f}% (%{customdata} customers)<extra></extra>",
            colorbar={"title": "%"},
        )
    )
    figure.update_layout(**{**_LAYOUT, "height": max(260, 40 + 28 * len(cohorts))})
    figure.update_yaxes(autorange="reversed", title="Cohort (size)")
    figure.update_xaxes(title="Months since first order", side="top")
    return figure


def segment_label(segment: Mapping[str, Any]) -> str:
    """A segment's name for people: the API's ``label``, else its identifier in words."""
    return str(segment.get("label") or str(segment["segment"]).replace("_", " ").capitalize())


def segment_rows(segments: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the segments table, in the API's order (share of revenue in percent).

    Examples
    --------
    >>> segment_rows([{"segment": "at_risk", "label": "At risk", "customers": 3,
    ...                "share_of_revenue": 0.1234}])
    [{'segment': 'At risk', 'customers': 3, 'share_of_revenue': 12.34}]
    """
    return [
        {
            "segment": segment_label(s),
            "customers": int(s["customers"]),
            "share_of_revenue": round(float(s.get("share_of_revenue") or 0) * 100, 2),
        }
        for s in segments
    ]


def segments_figure(segments: Sequence[Mapping[str, Any]]) -> go.Figure:
    """Customers per RFM segment (horizontal bars, largest on top), each with its share of
    revenue written beside it."""
    ordered = sorted(segments, key=lambda s: -int(s["customers"]))
    shares = [float(s.get("share_of_revenue") or 0) * 100 for s in ordered]
    figure = go.Figure(
        go.Bar(
            x=[int(s["customers"]) for s in ordered],
            y=[segment_label(s) for s in ordered],
            orientation="h",
            customdata=shares,
            text=[f"{share:.0f}% of revenue" for share in shares],
            textposition="outside",
            cliponaxis=False,
            hovertemplate="%{y}: %{x} customers, %{customdata:.1f}% of revenue<extra></extra>",
            marker_color="#7048e8",
        )
    )
    # Room on the right for the longest bar's "..% of revenue"
    margin = {**_LAYOUT["margin"], "r": 110}
    figure.update_layout(
        **{**_LAYOUT, "height": max(260, 60 + 30 * len(ordered)), "margin": margin}, xaxis_title="Customers"
    )
    figure.update_yaxes(autorange="reversed")
    return figure


def new_vs_returning_figure(summary: Mapping[str, Any]) -> go.Figure:
    """New and returning customers of the range next to the previous period's."""
    periods = [("This period", summary["current"])]
    if summary.get("previous"):
        periods.insert(0, ("Previous period", summary["previous"]))
    figure = go.Figure()
    for key, label, colour in (
        ("new_customers", "New", "#4263eb"),
        ("returning_customers", "Returning", "#2f9e44"),
    ):
        figure.add_trace(
            go.Bar(
                x=[name for name, _ in periods],
                y=[int(values.get(key, 0)) for _, values in periods],
                name=label,
                marker_color=colour,
            )
        )
    figure.update_layout(**{**_LAYOUT, "height": 260}, barmode="stack", yaxis_title="Customers")
    return figure


def inventory_rows(items: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the stock grid, worst first (out, low, ok), then by days of cover."""
    order = {"out": 0, "low": 1, "ok": 2}
    rows = [
        {
            "sku": item["sku"],
            "name": item.get("name") or "(not described)",
            "category": item.get("category") or "",
            "status": item["status"],
            "on_hand": int(item["on_hand"]),
            "reorder_point": int(item["reorder_point"]),
            "units_sold_28d": int(item["units_sold_28d"]),
            "days_of_cover": None if item.get("days_of_cover") is None else float(item["days_of_cover"]),
            "sell_through_28d": None
            if item.get("sell_through_28d") is None
            else round(float(item["sell_through_28d"]) * 100, 1),
            "abc_class": item.get("abc_class") or "",
            **{field: item.get(field) for field, _ in FORECAST_FIELDS if field in item},
        }
        for item in items
    ]
    rows.sort(
        key=lambda r: (
            order.get(r["status"], 3),
            float("inf") if r["days_of_cover"] is None else r["days_of_cover"],
            r["sku"],
        )
    )
    return rows


def store_time(text: str | None, zone: tzinfo = UTC, seconds: bool = False) -> str:
    """An API instant (UTC, ISO 8601) as the store's wall-clock time; ``""`` for none.

    Examples
    --------
    >>> from zoneinfo import ZoneInfo
    >>> store_time("2025-05-30T10:00:00.123456Z", ZoneInfo("America/New_York"))
    '2025-05-30 06:00'
    >>> store_time("2025-01-01T03:04:05Z", seconds=True)
    '2025-01-01 03:04:05'
    """
    if not text:
        return ""
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


ALERT_KINDS = {
    "low_stock": "Low stock",
    "out_of_stock": "Out of stock",
    "stockout_risk": "Stock-out risk",
    "sales_drop": "Sales drop",
    "sales_spike": "Sales spike",
    "refund_spike": "Refund spike",
}


def _alert_detail(alert: Mapping[str, Any]) -> str:
    """What a stock-out risk or an anomaly says, in words."""
    if "metric" in alert:
        metric = str(alert["metric"]).replace("_", " ")
        return f"{metric} on {alert['day']}: {alert['value']}, expected {alert['expected']}"
    if alert.get("reorder_by"):
        return f"reorder by {alert['reorder_by']} (runs out {alert.get('stockout_date')})"
    return ""


def alert_rows(alerts: Iterable[Mapping[str, Any]], zone: tzinfo = UTC) -> list[dict[str, Any]]:
    """Rows of the alerts table, newest first as the API gives them, times in ``zone``
    (anomalies have no SKU)."""
    return [
        {
            "raised_at": store_time(a["raised_at"], zone, seconds=True),
            "sku": a.get("sku", ""),
            "type": ALERT_KINDS.get(a["type"], a["type"]),
            "on_hand": None if a.get("on_hand") is None else int(a["on_hand"]),
            "reorder_point": None if a.get("reorder_point") is None else int(a["reorder_point"]),
            "detail": _alert_detail(a),
        }
        for a in alerts
    ]


REPORT_STATUSES = {"pending": "Being made…", "ready": "Ready", "failed": "Failed"}
WATCH_PENDING_MS = 3_000
RENEW_LINKS_MAX_MS = 300_000


def report_rows(reports: Iterable[Mapping[str, Any]], zone: tzinfo = UTC) -> list[dict[str, Any]]:
    """Rows of the reports table, newest first as ``GET /v1/reports`` gives them.

    A ready report links to its presigned ``download_url`` (a credential until it expires: it
    goes to the browser and nowhere else); a failed one says why.

    Examples
    --------
    >>> report_rows([{"report_id": "r1", "type": "inventory", "start": "2025-05-01",
    ...     "end": "2025-05-07", "status": "failed", "reason": "no data", "download_url": None,
    ...     "expires_at": None, "created_at": "2025-05-08T09:00:00Z"}])[0]["status"]
    'Failed: no data'
    """
    rows = []
    for r in reports:
        status = REPORT_STATUSES.get(r.get("status", ""), r.get("status", "?"))
        if r.get("status") == "failed" and r.get("reason"):
            status = f"{status}: {r['reason']}"
        rows.append(
            {
                "report_id": r["report_id"],
                "type": REPORT_TYPES.get(r.get("type", ""), r.get("type", "")),
                "range": f"{r.get('start', '?')} – {r.get('end', '?')}",
                "status": status,
                "requested_at": store_time(r.get("created_at"), zone),
                "download": f"[Download PDF]({r['download_url']})" if r.get("download_url") else "",
                "expires_at": store_time(r.get("expires_at"), zone),
            }
        )
    return rows


def report_watch_ms(reports: Iterable[Mapping[str, Any]], now: datetime) -> int | None:
    """How long the Reports page waits before reading the list again, or ``None`` to stop.

    Every 3 s while a report is being made; otherwise, while a download link is shown, before
    the soonest one expires (half its remaining life, at most 5 minutes), so a link on a page
    left open still works when clicked. Nothing pending and no link: no polling.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> now = datetime(2025, 5, 8, 9, 0, tzinfo=UTC)
    >>> report_watch_ms([{"status": "pending"}], now)
    3000
    >>> report_watch_ms([{"status": "ready", "expires_at": "2025-05-08T09:15:00Z"}], now)
    300000
    >>> report_watch_ms([{"status": "failed"}], now) is None
    True
    """
    listed = list(reports)
    if any(r.get("status") == "pending" for r in listed):
        return WATCH_PENDING_MS
    expiries = [
        datetime.fromisoformat(str(r["expires_at"]).replace("Z", "+00:00"))
        for r in listed
        if r.get("status") == "ready" and r.get("expires_at")
    ]
    if not expiries:
        return None
    remaining_ms = (min(expiries) - now).total_seconds() * 1000
    return int(max(WATCH_PENDING_MS, min(RENEW_LINKS_MAX_MS, remaining_ms / 2)))


# Double opt-in: nothing is sent to a pending address (docs/security.md).
SUBSCRIPTION_STATUSES = {"pending": "Pending: waiting for the address to confirm", "confirmed": "Confirmed"}


def subscription_rows(subscriptions: Iterable[Mapping[str, Any]], zone: tzinfo = UTC) -> list[dict[str, Any]]:
    """Rows of the digest subscriptions table (``GET /v1/subscriptions``, oldest first)."""
    frequencies = {"daily": "Daily (07:00)", "weekly": "Weekly (Mondays)"}
    return [
        {
            "subscription_id": s["subscription_id"],
            "email": s.get("email") or "",
            "frequency": frequencies.get(s.get("frequency", ""), s.get("frequency", "")),
            "report_type": REPORT_TYPES.get(s.get("report_type", ""), s.get("report_type", "")),
            "status": SUBSCRIPTION_STATUSES.get(s.get("status", ""), s.get("status", "")),
            "created_at": store_time(s.get("created_at"), zone),
        }
        for s in subscriptions
    ]


def clicked_span(click: Mapping[str, Any] | None) -> tuple[str, str] | None:
    """The first and last day of the period clicked on a sales chart (its ``clickData``), or
    ``None`` when the click was not on a period of the range.

    Examples
    --------
    >>> clicked_span({"points": [{"x": "2025-05-05", "customdata": ["2025-05-05", "2025-05-11"]}]})
    ('2025-05-05', '2025-05-11')
    >>> clicked_span(None) is None
    True
    """
    for point in (click or {}).get("points", []):
        span = point.get("customdata")
        if isinstance(span, list | tuple) and len(span) == 2 and all(isinstance(d, str) for d in span):
            return str(span[0])[:10], str(span[1])[:10]
    return None


def clicked_label(click: Mapping[str, Any] | None, axis: str = "y") -> str | None:
    """The category clicked on a bar chart (a channel's name on the channels chart)."""
    for point in (click or {}).get("points", []):
        if point.get(axis) is not None:
            return str(point[axis])
    return None


STOCK_FIELDS = (
    ("status", "Status"),
    ("on_hand", "On hand"),
    ("reorder_point", "Reorder point"),
    ("units_sold_28d", "Sold in 28 days"),
    ("days_of_cover", "Days of cover"),
    ("sell_through_28d", "Sell-through, 28 days"),
    ("abc_class", "ABC class"),
)
# The demand forecast's fields on a product and on /inventory rows (issue 14).
FORECAST_FIELDS = (
    ("forecast_daily_units", "Forecast units per day"),
    ("stockout_date", "Stock-out expected on"),
    ("reorder_by", "Reorder by"),
)


def stock_value(product: Mapping[str, Any], field: str) -> str:
    """A stock or forecast field of a product as shown: ``–`` when absent or null.

    >>> stock_value({"sell_through_28d": 0.4267}, "sell_through_28d"), stock_value({}, "on_hand")
    ('42.7%', '–')
    """
    value = product.get(field)
    if value is None or value == "":
        return "–"
    if field == "sell_through_28d":
        return percent(value)
    if field == "days_of_cover":
        return f"{float(value):,.1f}"
    if field == "forecast_daily_units":
        return f"{float(value):,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def product_kpis(product: Mapping[str, Any], currency: str = "USD") -> list[Kpi]:
    """The product page's cards: units and line revenue of the range, stock now.

    Examples
    --------
    >>> p = {"series": [{"units": 2, "net_sales": "10.00"}, {"units": 1, "net_sales": "5.50"}],
    ...      "on_hand": 4, "days_of_cover": 12.5, "status": "ok"}
    >>> [(k.key, k.value) for k in product_kpis(p)]
    [('units', '3'), ('net_sales', '$15.50'), ('on_hand', '4'), ('days_of_cover', '12.5')]
    """
    series = product.get("series") or []
    units = sum(int(point.get("units", 0)) for point in series)
    revenue = sum((Decimal(str(point.get("net_sales", "0"))) for point in series), Decimal(0))
    return [
        Kpi("units", "Units sold", f"{units:,}", None, note="in the range"),
        Kpi("net_sales", "Line revenue", money(revenue, currency), None, note="in the range"),
        Kpi(
            "on_hand",
            "On hand",
            stock_value(product, "on_hand"),
            None,
            note=f"status {product.get('status', '–')}",
        ),
        Kpi(
            "days_of_cover",
            "Days of cover",
            stock_value(product, "days_of_cover"),
            None,
            note="at the last 28 days' pace",
        ),
    ]


def product_trend_figure(series: Sequence[Mapping[str, Any]], currency: str = "USD") -> go.Figure:
    """A product's units per day (bars) and line revenue (line, right axis)."""
    days = [point["period"] for point in series]
    figure = go.Figure()
    figure.add_trace(
        go.Bar(
            x=days,
            y=[int(p.get("units", 0)) for p in series],
            name="Units",
            marker_color=SERIES_COLOURS["gross_sales"],
        )
    )
    figure.add_trace(
        go.Scatter(
            x=days,
            y=[float(p.get("net_sales", 0)) for p in series],
            name=f"Line revenue ({currency})",
            mode="lines+markers",
            yaxis="y2",
            line={"color": SERIES_COLOURS["net_sales"], "width": 2},
        )
    )
    figure.update_layout(
        **_LAYOUT,
        yaxis_title="Units",
        yaxis2={"title": currency, "overlaying": "y", "side": "right", "showgrid": False},
        hovermode="x unified",
    )
    return figure


def together_text(row: Mapping[str, Any]) -> str:
    """What the bought-together list says of a product besides its SKU.

    >>> together_text({"sku": "B", "name": "Lid", "orders": 4})
    'Lid · in 4 orders together'
    """
    parts = [str(row.get("name") or "(not described)")]
    count = row.get("orders", row.get("count"))
    if count is not None:
        parts.append(f"in {int(count):,} orders together")
    return " · ".join(parts)
