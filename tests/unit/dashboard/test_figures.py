"""The dashboard's pure builders, fed API-shaped JSON (fixtures next to this file)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dashboard import figures
from dashboard.dates import DateRange, parse_range, preset_of, presets

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def test_overview_kpis_show_the_api_values_and_changes() -> None:
    # Given a summary with a comparison and an inventory with two low SKUs and one out
    summary, inventory = load("summary"), load("inventory")
    # When the cards are built
    cards = {kpi.key: kpi for kpi in figures.overview_kpis(summary, inventory, "USD")}
    # Then each shows the API's figure, formatted, with its change
    assert cards["net_sales"].value == "$1,100.00"
    assert (
        cards["net_sales"].change_text == "▲ 10.0% vs previous period" and cards["net_sales"].tone == "good"
    )
    assert cards["orders"].value == "12"
    assert cards["average_order_value"].value == "$100.00" and cards["average_order_value"].tone == "flat"
    assert cards["new_customers"].value == "4" and cards["new_customers"].tone == "bad"
    assert cards["returning_customer_rate"].value == "60.0%"
    assert cards["returning_customer_rate"].change_text == "no data for the previous period"
    assert cards["low_stock_skus"].value == "3"
    assert cards["low_stock_skus"].change_text == "at or under reorder point, now"
    assert list(cards) == [
        "net_sales",
        "orders",
        "average_order_value",
        "new_customers",
        "returning_customer_rate",
        "low_stock_skus",
    ]


def test_a_change_that_rounds_to_zero_is_flat() -> None:
    kpi = figures.Kpi("returning_customer_rate", "Returning customers", "32.3%", -0.04)
    assert kpi.change_text == "■ 0.0% vs previous period" and kpi.tone == "flat"
    assert figures.Kpi("orders", "Orders", "3", -0.06).tone == "bad"


def test_without_inventory_there_is_no_low_stock_card() -> None:
    assert "low_stock_skus" not in {k.key for k in figures.overview_kpis(load("summary"), None)}


@pytest.mark.parametrize(
    ("value", "currency", "locale", "shown"),
    [
        ("0", "USD", "en_US", "$0.00"),
        ("1234567.891", "USD", "en_US", "$1,234,567.89"),
        ("-5", "GBP", "en_US", "-£5.00"),
        ("7.1", "SEK", "en_US", "SEK7.10"),
        # yen have no minor unit; half a yen rounds up, as the metrics do (Babel alone rounds
        # half-even: 1,234)
        ("1234.5", "JPY", "en_US", "¥1,235"),
        ("1234.5", "EUR", "de_DE", "1.234,50\xa0€"),
        ("1234.5", "CHF", "de_CH", "CHF\xa01'234.50"),
    ],
)
def test_money_is_formatted_from_decimal_strings(value: str, currency: str, locale: str, shown: str) -> None:
    assert figures.money(value, currency, locale) == shown


def test_sales_trend_draws_net_sales_and_the_previous_period() -> None:
    series = load("sales")["series"]
    previous = [dict(point, net_sales="1.00") for point in series]
    figure = figures.sales_trend_figure(series, previous)
    current, before = figure.data
    assert list(current.x) == ["2025-05-01", "2025-05-02", "2025-05-03"]
    assert list(current.y) == [90.0, 0.0, 30.25]
    assert list(before.y) == [1.0, 1.0, 1.0] and before.name == "Previous period"


def test_an_all_zero_series_has_no_sales() -> None:
    assert figures.has_sales(load("sales")["series"])
    assert not figures.has_sales(load("sales_empty")["series"])
    assert not figures.has_sales([])


def test_breakdown_draws_deductions_below_zero() -> None:
    figure = figures.sales_breakdown_figure(load("sales")["series"])
    by_name = {trace.name: list(trace.y) for trace in figure.data}
    assert by_name["Gross sales"] == [100.0, 0.0, 50.25]
    assert by_name["Discounts"] == [-10.0, 0.0, 0.0]
    assert by_name["Returns"] == [0.0, 0.0, -20.0]
    assert by_name["Net sales"] == [90.0, 0.0, 30.25]
    assert figure.layout.barmode == "relative"


def test_channels_show_sales_after_discounts() -> None:
    channels = load("channels")["channels"]
    (bars,) = figures.channels_figure(channels).data
    assert list(bars.y) == ["web", "mobile", "marketplace", "pos"]
    assert list(bars.x) == [110.25, 30.0, 0.0, 0.0]
    assert figures.has_channel_sales(channels)
    assert not figures.has_channel_sales([dict(c, orders=0) for c in channels])


def test_product_rows_name_undescribed_products() -> None:
    rows = figures.product_rows(load("products")["products"])
    assert rows[0] == {
        "rank": 1,
        "sku": "MUG-1",
        "name": "Mug",
        "category": "kitchen",
        "units": 3,
        "net_sales": 21.75,
    }
    assert rows[1]["name"] == "(not described)" and rows[1]["category"] == ""


def test_cohort_heatmap_is_a_triangle_of_percentages() -> None:
    # Given the cohorts route's answer without its empty (future) month, as the page filters it
    rows = [row for row in load("cohorts")["cohorts"] if row["size"]]
    (heatmap,) = figures.cohort_heatmap(rows).data
    assert list(heatmap.y) == ["2025-03 (10)", "2025-04 (4)", "2025-05 (7)"]
    assert list(heatmap.x) == ["M+0", "M+1", "M+2"]
    assert [list(row) for row in heatmap.z] == [[100.0, 40.0, 30.0], [100.0, 50.0, None], [100.0, None, None]]
    # And the hover says how many customers each share is
    assert [list(row) for row in heatmap.customdata] == [["10", "4", "3"], ["4", "2", ""], ["7", "", ""]]


def test_segments_are_sorted_by_size_with_revenue_share() -> None:
    (bars,) = figures.segments_figure(load("segments")["segments"]).data
    assert list(bars.y) == ["Hibernating", "Loyal", "Champions", "Can't lose them"]
    assert list(bars.x) == [20, 12, 5, 0] and bars.orientation == "h"
    assert [round(v, 1) for v in bars.customdata] == [15.0, 30.0, 55.0, 0.0]
    assert list(bars.text) == ["15% of revenue", "30% of revenue", "55% of revenue", "0% of revenue"]


def test_segment_rows_keep_the_api_order_and_name_segments_for_people() -> None:
    rows = figures.segment_rows(load("segments")["segments"])
    assert rows == [
        {"segment": "Champions", "customers": 5, "share_of_revenue": 55.0},
        {"segment": "Loyal", "customers": 12, "share_of_revenue": 30.0},
        {"segment": "Can't lose them", "customers": 0, "share_of_revenue": 0.0},
        {"segment": "Hibernating", "customers": 20, "share_of_revenue": 15.0},
    ]
    # A segment without a label (an older API) is named from its identifier
    assert figures.segment_label({"segment": "need_attention"}) == "Need attention"


def test_breakdown_compares_net_sales_with_the_previous_period_period_for_period() -> None:
    # Given three days and the three days before them
    series, previous = load("sales")["series"], load("sales_previous")["series"]
    # When the breakdown is drawn with the comparison
    figure = figures.sales_breakdown_figure(series, "USD", previous=previous)
    by_name = {trace.name: trace for trace in figure.data}
    # Then the previous period's net sales are a dotted line over the range's own days
    line = by_name["Net sales, previous period"]
    assert list(line.x) == ["2025-05-01", "2025-05-02", "2025-05-03"]
    assert list(line.y) == [40.0, 0.0, 70.5]
    assert list(line.customdata) == ["2025-04-28", "2025-04-29", "2025-04-30"]
    assert line.line.dash == "dot"
    # And the range's own traces are unchanged
    assert list(by_name["Net sales"].y) == [90.0, 0.0, 30.25]
    # And a longer previous series (a week more in a month) is cut to the range's periods
    longer = figures.sales_breakdown_figure(series[:2], "USD", previous=previous)
    assert list(longer.data[-1].y) == [40.0, 0.0]
    # And without the comparison there is no such line
    assert "Net sales, previous period" not in {t.name for t in figures.sales_breakdown_figure(series).data}


def test_report_rows_link_ready_reports_and_say_why_one_failed() -> None:
    reports = load("reports")["reports"]
    pending, ready, failed = figures.report_rows(reports)
    assert pending["status"] == "Being made…" and pending["download"] == ""
    assert pending["type"] == "Customers" and pending["range"] == "2025-05-01 – 2025-05-31"
    assert ready["status"] == "Ready"
    assert ready["download"] == f"[Download PDF]({reports[1]['download_url']})"
    assert ready["expires_at"] == "2025-06-01 09:15" and ready["requested_at"] == "2025-06-01 08:59"
    assert failed["status"] == "Failed: could not be queued; ask again" and failed["download"] == ""


def test_the_reports_list_is_watched_while_pending_and_renewed_before_links_expire() -> None:
    pending, ready, failed = load("reports")["reports"]
    now = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
    # While a report is being made, every 3 s
    assert figures.report_watch_ms([pending, ready, failed], now) == 3_000
    # Once ready, at most every 5 minutes, and before the soonest link expires
    assert figures.report_watch_ms([ready, failed], now) == 300_000
    assert figures.report_watch_ms([ready], datetime(2025, 6, 1, 9, 14, tzinfo=UTC)) == 30_000
    assert figures.report_watch_ms([ready], datetime(2025, 6, 1, 9, 14, 59, tzinfo=UTC)) == 3_000
    # Nothing pending and no link: no polling
    assert figures.report_watch_ms([failed], now) is None
    assert figures.report_watch_ms([], now) is None


def test_subscription_rows_say_the_frequency_report_and_status_in_words() -> None:
    first, second = figures.subscription_rows(load("subscriptions")["subscriptions"])
    assert first == {
        "subscription_id": "s1AAAAAAAAAAAAAAAAAAAAAA",
        "email": "ada@example.com",
        "frequency": "Weekly (Mondays)",
        "report_type": "Sales summary",
        "status": "Confirmed",
        "created_at": "2025-06-01 09:00",
    }
    assert second["frequency"] == "Daily (07:00)" and second["report_type"] == "Inventory"
    assert second["status"] == "Pending: waiting for the address to confirm"


def test_new_vs_returning_compares_both_periods() -> None:
    new, returning = figures.new_vs_returning_figure(load("summary")).data
    assert list(new.x) == ["Previous period", "This period"]
    assert list(new.y) == [8, 4] and list(returning.y) == [0, 6]


def test_inventory_rows_put_the_worst_first() -> None:
    rows = figures.inventory_rows(load("inventory")["items"])
    assert [r["sku"] for r in rows] == ["C", "B", "D", "A"]
    assert rows[0]["name"] == "(not described)" and rows[0]["days_of_cover"] is None
    assert rows[1]["sell_through_28d"] == 91.8 and rows[1]["days_of_cover"] == 2.5


def test_alert_rows_say_the_kind_in_words() -> None:
    rows = figures.alert_rows(load("alerts")["alerts"])
    assert [(r["sku"], r["type"]) for r in rows] == [("C", "Out of stock"), ("B", "Low stock")]
    assert rows[0]["raised_at"] == "2025-05-30 10:00:00"


def test_alert_rows_show_stockout_risks_and_anomalies_without_a_sku() -> None:
    rows = figures.alert_rows(
        [
            {
                "alert_id": "an_1",
                "type": "sales_drop",
                "raised_at": "2025-05-31T00:30:00Z",
                "metric": "net_sales",
                "day": "2025-05-30",
                "value": "100.00",
                "expected": "950.00",
                "score": -6.1,
            },
            {
                "alert_id": "sr_1",
                "type": "stockout_risk",
                "raised_at": "2025-05-30T00:45:00Z",
                "sku": "MUG",
                "on_hand": 32,
                "reorder_point": 2,
                "forecast_daily_units": 3.0,
                "stockout_date": "2025-06-09",
                "reorder_by": "2025-05-30",
                "lead_time_days": 10,
            },
        ]
    )
    assert [(r["sku"], r["type"], r["on_hand"]) for r in rows] == [
        ("", "Sales drop", None),
        ("MUG", "Stock-out risk", 32),
    ]
    assert rows[0]["detail"] == "net sales on 2025-05-30: 100.00, expected 950.00"
    assert rows[1]["detail"] == "reorder by 2025-05-30 (runs out 2025-06-09)"


def test_the_url_range_is_used_when_valid() -> None:
    dates = parse_range("2025-05-01", "2025-05-07", date(2025, 6, 1))
    assert (dates.start, dates.end, dates.problem) == (date(2025, 5, 1), date(2025, 5, 7), "")
    assert dates.query() == "?start=2025-05-01&end=2025-05-07"
    assert dates.previous() == DateRange(date(2025, 4, 24), date(2025, 4, 30))


@pytest.mark.parametrize(
    ("start", "end", "words"),
    [
        ("2025-02-30", "2025-03-01", "'2025-02-30' is not a date for start"),
        ("2025-05-07", "2025-05-01", "the end (2025-05-01) is before the start (2025-05-07)"),
        ("2025-05-01", None, "a start but no end"),
        ("2020-01-01", "2025-01-01", "longer than 731 days"),
    ],
)
def test_a_bad_url_range_falls_back_with_words(start: str, end: str | None, words: str) -> None:
    dates = parse_range(start, end, date(2025, 6, 1))
    assert words in dates.problem and "last 30 days" in dates.problem
    assert (dates.start, dates.end) == (date(2025, 5, 3), date(2025, 6, 1))


def test_presets_are_shopifys_on_any_day() -> None:
    named = {label: found for _, label, found in presets(date(2025, 6, 15))}
    assert named["Last 7 days"] == DateRange(date(2025, 6, 9), date(2025, 6, 15))
    assert named["Month to date"] == DateRange(date(2025, 6, 1), date(2025, 6, 15))
    assert named["Last 90 days"].days == 90
    # On the 1st of January: last month is December, the year to date one day
    first = {key: found for key, _, found in presets(date(2026, 1, 1))}
    assert first["last_month"] == DateRange(date(2025, 12, 1), date(2025, 12, 31))
    assert first["year_to_date"] == first["today"] == first["month_to_date"]
    assert first["yesterday"] == DateRange(date(2025, 12, 31), date(2025, 12, 31))
    # The preset a range is, read back from the URL's dates ("custom" otherwise)
    for key, found in first.items():
        if key not in ("year_to_date", "month_to_date"):
            assert preset_of(found, date(2026, 1, 1)) == key
    assert preset_of(DateRange(date(2025, 1, 2), date(2025, 1, 9)), date(2026, 1, 1)) == "custom"


def test_compared_ranges() -> None:
    march = DateRange(date(2025, 3, 1), date(2025, 3, 31))
    assert march.compared("previous_period") == DateRange(date(2025, 1, 29), date(2025, 2, 28))
    assert march.compared("previous_year") == DateRange(date(2024, 3, 1), date(2024, 3, 31))
    assert march.compared("none") is None
    leap = DateRange(date(2024, 2, 29), date(2024, 2, 29))
    assert leap.compared("previous_year") == DateRange(date(2023, 2, 28), date(2023, 2, 28))


def test_times_are_shown_in_the_stores_zone() -> None:
    # Given the API's UTC instants and a store in New York (EDT in May, EST in January)
    zone = ZoneInfo("America/New_York")
    rows = figures.alert_rows(load("alerts")["alerts"], zone)
    assert rows[0]["raised_at"] == "2025-05-30 06:00:00"
    report = {"report_id": "r", "status": "ready", "created_at": "2025-01-15T03:30:00Z", "expires_at": None}
    assert figures.report_rows([report], zone)[0]["requested_at"] == "2025-01-14 22:30"
    subscription = {"subscription_id": "s", "created_at": "2025-07-01T12:00:00.5+00:00"}
    assert figures.subscription_rows([subscription], zone)[0]["created_at"] == "2025-07-01 08:00"
