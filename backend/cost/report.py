"""``storepulse cost`` as words and tables: the bill at several volumes, side by side."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from backend.cost.model import Bill, Measurement, PriceTable, money

REFERENCE_VOLUMES = (10_000, 1_000_000, 100_000_000)


def volumes(requested: int) -> list[int]:
    """The requested volume and the reference ones, in order, once each.

    Examples
    --------
    >>> volumes(1_000_000)
    [10000, 1000000, 100000000]
    >>> volumes(50_000)
    [10000, 50000, 1000000, 100000000]
    """
    return sorted({requested, *REFERENCE_VOLUMES})


def render(bills: Sequence[Bill], measured: Measurement, prices: PriceTable, requested: int) -> str:
    """The bills as a table with one column per volume, and the comparison with the seed's claim."""
    headers = [f"{b.events_per_month:,}" + (" *" if b.events_per_month == requested else "") for b in bills]
    rows: list[tuple[str, list[str]]] = []

    def section(title: str) -> None:
        rows.append((title, [""] * len(bills)))

    def row(name: str, values: Sequence[Decimal]) -> None:
        rows.append((name, [money(v) for v in values]))

    for part, title in (("per event", "per event (measured mix)"), ("fixed", "fixed, whatever the traffic")):
        section(title)
        for index, line in enumerate(bills[0].lines):
            if line.part != part:
                continue
            marker = {"estimate": " (estimate)", "assumption": " (assumed)"}.get(line.basis, "")
            row(f"  {line.name}{marker}", [b.lines[index].cost for b in bills])
    section("")
    row("list price, no free tier", [b.total for b in bills])
    row("  of which per event", [b.per_event for b in bills])
    row("  of which fixed", [b.fixed for b in bills])
    row("permanent free tiers", [-b.free_tier_always for b in bills])
    row("after the permanent free tiers", [b.after_always_free for b in bills])
    row("12-month offers (accounts before 07/2025)", [-b.free_tier_first_year for b in bills])
    row("first year, such an account", [b.first_year for b in bills])

    width = max(len(name) for name, _ in rows)
    columns = [max(len(h), *(len(values[i]) for _, values in rows)) for i, h in enumerate(headers)]
    out = [
        "storepulse cost: the monthly AWS bill, events a month of the measured mix (* = asked for)",
        f"Measured: {measured.path} (make bench, {measured.measured_at}, commit {measured.commit}).",
        f"Prices: AWS list prices, {prices.region}, checked {prices.checked} (backend/cost/prices.json);"
        f" DynamoDB {bills[0].capacity}.",
        "",
        " " * width + "  " + "  ".join(h.rjust(w) for h, w in zip(headers, columns, strict=True)),
    ]
    for name, values in rows:
        out.append(
            name.ljust(width) + "  " + "  ".join(v.rjust(w) for v, w in zip(values, columns, strict=True))
        )
    out += ["", *compare_with_seed(bills, prices), ""]
    out += [f"- {note}" for note in bills[0].notes]
    out.append("- (estimate) and (assumed) lines: see 'assumptions' in backend/cost/prices.json.")
    return "\n".join(out)


def compare_with_seed(bills: Sequence[Bill], prices: PriceTable) -> list[str]:
    """Each volume's bill against the seed's "$20-30 a month" claim, in words."""
    lines = [
        f'The seed project claimed "{prices.seed_text}" (${prices.seed_low}-{prices.seed_high} a month):'
    ]
    for bill in bills:
        total = bill.after_always_free
        if total < prices.seed_low:
            verdict = f"below the claim, {money(prices.seed_low - total)} under its low end"
        elif total <= prices.seed_high:
            verdict = "within the claim"
        else:
            verdict = f"above the claim, {money(total - prices.seed_high)} over its high end"
        lines.append(
            f"  {bill.events_per_month:>11,} events: {money(total)} after the permanent free tiers, {verdict}"
        )
    return lines


def as_json(bills: Sequence[Bill], measured: Measurement, prices: PriceTable) -> dict[str, Any]:
    """The bills for machines: money as decimal strings with two decimals."""

    def cents(value: Decimal) -> str:
        return money(value).removeprefix("$").replace(",", "")

    return {
        "measured": {"path": measured.path, "measured_at": measured.measured_at, "commit": measured.commit},
        "prices": {"region": prices.region, "checked": prices.checked},
        "seed_claim": {"low": cents(prices.seed_low), "high": cents(prices.seed_high)},
        "bills": [
            {
                "events_per_month": b.events_per_month,
                "capacity": b.capacity,
                "lines": [
                    {
                        "name": line.name,
                        "part": line.part,
                        "basis": line.basis,
                        "quantity": str(line.quantity),
                        "cost": cents(line.cost),
                    }
                    for line in b.lines
                ],
                "per_event": cents(b.per_event),
                "fixed": cents(b.fixed),
                "total": cents(b.total),
                "free_tier_always": cents(b.free_tier_always),
                "free_tier_first_year": cents(b.free_tier_first_year),
                "after_always_free": cents(b.after_always_free),
                "first_year": cents(b.first_year),
            }
            for b in bills
        ],
    }
