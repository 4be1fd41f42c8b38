"""Sales per channel from the day rollups' per-channel counters (pure)."""

from __future__ import annotations

from decimal import Decimal

from backend.domain.channels import CHANNELS, by_channel

D = Decimal


def test_every_channel_is_listed_with_its_own_counters_only() -> None:
    # Given two days with web and pos orders (and store-wide counters that are not per channel)
    days = [
        {
            "gross_sales": D("130"),
            "returns": D("7"),
            "gross_sales@web": D("100"),
            "discounts@web": D("10.005"),
            "orders@web": D(2),
            "units@web": D(3),
            "returns@web": D("2.5"),
        },
        {"gross_sales@pos": D("30"), "orders@pos": D(1), "units@pos": D(1), "gross_sales@web": D("0.5")},
    ]
    # When split by channel
    rows, unattributed = by_channel(days)
    figures = {row["channel"]: row for row in rows}
    # Then all four channels, zeros where nothing was sold
    assert tuple(figures) == CHANNELS == ("web", "mobile", "marketplace", "pos")
    assert figures["web"] == {
        "channel": "web",
        "gross_sales": D("100.50"),
        "discounts": D("10.01"),  # half-up, once
        "returns": D("2.50"),
        "net_sales": D("88.00"),  # 100.5 - 10.005 - 2.5 = 87.995
        "average_order_value": D("45.25"),  # (100.5 - 10.005) / 2 = 45.2475
        "orders": 2,
        "units": 3,
    }
    assert figures["pos"]["average_order_value"] == D("30.00")
    assert figures["mobile"] == {
        "channel": "mobile",
        "gross_sales": D("0.00"),
        "discounts": D("0.00"),
        "returns": D("0.00"),
        "net_sales": D("0.00"),
        "average_order_value": D("0.00"),
        "orders": 0,
        "units": 0,
    }
    # And the returns no channel holds: the store's less the channels'
    assert unattributed == D("4.50")
