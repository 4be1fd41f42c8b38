"""The simulated store: the AppFlow-style connector of CONTRACT section 1b.

A plausible shop (a catalogue of 120 products in 8 categories, customers who come back, weekly
seasonality, stock that runs low and gets replenished late, refunds a few days after an order)
is generated deterministically from a seed and sent through the public ingest API, exactly as an
outside integration would.

The store is a small discrete-event simulation: every future happening (an order, a restock
arriving, a refund) sits in a priority queue keyed by its instant and is executed in time order,
so stock levels and the pool of returning customers are always those of that moment. A day's
plan is drawn when the clock reaches the day, which makes a run cut off at ``now`` a prefix of a
longer run: the events and their ids do not depend on when the generation stopped. That is what
lets :func:`devstack.simulator.cli.live` pick up where
:func:`devstack.simulator.cli.backfill` left off.

Identifiers carry the seed (``O7-20250301-0012``, ``APP-7001``) so that stores with different
seeds can share one stack without colliding; the live trickle adds a per-session tag so that a
restarted trickle never reuses an id.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
import random
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from backend.domain.money import CENT, ZERO, round_money

__all__ = ["Event", "Store", "generate", "planted_bundles"]

Event = dict[str, Any]


# --------------------------------------------------------------------------------------------
# The shape of the store
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Category:
    code: str
    name: str
    price_range: tuple[int, int]
    adjectives: tuple[str, ...]
    nouns: tuple[str, ...]


# fmt: off
_CATEGORIES: tuple[_Category, ...] = (
    _Category(
        "APP", "Apparel", (12, 120),
        ("Classic", "Organic Cotton", "Relaxed", "Slim-Fit", "Everyday", "Heritage", "Merino"),
        ("T-Shirt", "Hoodie", "Jeans", "Chino Shorts", "Rain Jacket", "Sweater", "Linen Shirt",
         "Leggings", "Beanie"),
    ),
    _Category(
        "FTW", "Footwear", (35, 180),
        ("Cloudstep", "Urban", "All-Terrain", "Featherlight", "Waterproof", "Retro", "Comfort"),
        ("Running Shoe", "Trail Sneaker", "Leather Boot", "Canvas Slip-On", "Sandal", "Loafer",
         "Hiking Boot", "Slipper"),
    ),
    _Category(
        "HOM", "Home & Kitchen", (8, 140),
        ("Nordic", "Artisan", "Stoneware", "Walnut", "Minimalist", "Rustic", "Copper"),
        ("Chef's Knife", "Skillet", "French Press", "Mug Set", "Napkin Set", "Cutting Board",
         "Throw Blanket", "Scented Candle", "Storage Jar"),
    ),
    _Category(
        "BEA", "Beauty", (6, 65),
        ("Hydrating", "Botanical", "Vitamin C", "Unscented", "Repair", "Gentle", "Citrus"),
        ("Face Serum", "Hand Cream", "Lip Balm", "Shampoo", "Body Wash", "Sunscreen", "Clay Mask",
         "Eye Cream"),
    ),
    _Category(
        "ELE", "Electronics", (12, 350),
        ("Pro", "Mini", "Ultra", "Compact", "Max", "Studio", "Lite"),
        ("Wireless Earbuds", "Bluetooth Speaker", "USB-C Charger", "Power Bank", "Smart Plug",
         "Phone Case", "Webcam", "Keyboard"),
    ),
    _Category(
        "SPO", "Sports & Outdoors", (9, 160),
        ("Summit", "Trail", "Core", "Flex", "Alpine", "Endurance", "Basecamp"),
        ("Yoga Mat", "Water Bottle", "Resistance Bands", "Daypack", "Camping Lantern",
         "Foam Roller", "Cycling Gloves", "Trekking Poles"),
    ),
    _Category(
        "TOY", "Toys & Games", (7, 70),
        ("Galaxy", "Jungle", "Ocean", "Rainbow", "Dino", "Castle", "Robot"),
        ("Jigsaw Puzzle", "Building Blocks", "Board Game", "Plush Toy", "Card Game",
         "Wooden Train", "Kite", "Science Kit"),
    ),
    _Category(
        "STA", "Books & Stationery", (4, 45),
        ("Dotted", "Hardcover", "Pocket", "Recycled", "Linen", "Weekly", "Classic"),
        ("Notebook", "Fountain Pen", "Planner", "Sketchbook", "Gel Pen Set", "Desk Organizer",
         "Travel Journal", "Sticky Notes"),
    ),
)
# fmt: on
_SKUS_PER_CATEGORY = 15

# Shares of orders by local weekday (Monday first): weekends are busier.
_WEEKDAY_FACTOR = (0.92, 0.90, 0.93, 0.97, 1.05, 1.18, 1.10)
# Orders by local hour: a quiet night, a lunch peak and the evening peak.
# fmt: off
_HOUR_WEIGHTS = (
    0.3, 0.2, 0.15, 0.1, 0.1, 0.2, 0.5, 1.0, 1.6, 2.0, 2.3, 2.6,
    3.0, 2.8, 2.5, 2.3, 2.3, 2.5, 3.0, 3.4, 3.6, 3.0, 2.0, 1.0,
)
# fmt: on
_CUM_HOURS = list(itertools.accumulate(_HOUR_WEIGHTS))
_CHANNELS = ("web", "mobile", "marketplace", "pos")
_CUM_CHANNELS = list(itertools.accumulate((48, 32, 12, 8)))
_POS_HOURS = (9, 19)  # the shop's till is only open in the daytime
# (country, weight, sales-tax rate): a US shop with a foreign following.
# fmt: off
_COUNTRIES = (
    ("US", 55, Decimal("0.07")), ("CA", 10, Decimal("0.13")), ("GB", 9, Decimal("0.20")),
    ("DE", 6, Decimal("0.19")), ("FR", 5, Decimal("0.20")), ("AU", 5, Decimal("0.10")),
    ("NL", 3, Decimal("0.21")), ("SE", 2, Decimal("0.25")), ("JP", 2, Decimal("0.10")),
    ("BR", 2, ZERO), ("MX", 1, ZERO),
)
# fmt: on
_CUM_COUNTRIES = list(itertools.accumulate(weight for _, weight, _ in _COUNTRIES))
_CUM_LINES_NEW = list(itertools.accumulate((52, 28, 14, 6)))
_CUM_LINES_RETURNING = list(itertools.accumulate((38, 32, 20, 10)))  # regulars buy more
_QUANTITIES = (1, 2, 3, 4, 6)
_CUM_QUANTITIES = list(itertools.accumulate((80, 14, 4, 1.5, 0.5)))
_MEAN_LINES, _MEAN_QUANTITY = 1.85, 1.28
_DISCOUNT_RATES = (Decimal("0.05"), Decimal("0.10"), Decimal("0.15"), Decimal("0.20"))
_COUPONS = (Decimal("5.00"), Decimal("10.00"))
_SHIPPING_FEES = (Decimal("4.99"), Decimal("7.99"))
_FREE_SHIPPING_FROM = Decimal("50")

_RETURNING_SHARE = 0.34  # of orders, once the store has a customer base
_DISCOUNT_SHARE, _PROMO_DAY_DISCOUNT_SHARE = 0.18, 0.6
_PROMO_DAY_CHANCE, _PROMO_DAY_LIFT = 0.04, 1.5
_REFUND_SHARE = 0.04
_SIGNUP_ONLY_SHARE = 0.12  # accounts opened without buying, some of whom buy later
_LEAD_DAYS = (2, 6)
_LATE_SUPPLIER_CHANCE, _LATE_LEAD_DAYS = 0.15, (7, 14)
_COVER_DAYS_ON_RESTOCK = 35
_CASE_PACK = 6
# What the forecast and anomaly checks should find (issue 14), planted in a history at least
# this long, at these days before its last day: a bad day (demand times the factor), a refund
# wave (a share of one day's orders refunded together), a best seller out of stock for a week;
# and all along, one product trending up and one fading.
_PLANT_MIN_DAYS = 42
_BAD_DAY, _BAD_DAY_FACTOR = 9, 0.1
_WAVE_ORDERS_DAY, _WAVE_DAY, _WAVE_SHARE = 6, 4, 0.9
_STOCKOUT_FROM, _STOCKOUT_UNTIL = 12, 3
_TREND_GAIN, _FADE_LOSS = 2.0, 0.75


@dataclass
class _Product:
    sku: str
    name: str
    category: str
    price: Decimal
    reorder_point: int
    daily_units: float
    stock: int = 0
    replenishing: bool = False
    restocks: int = 0

    def upsert_data(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "name": self.name,
            "category": self.category,
            "price": _money(self.price),
            "reorder_point": self.reorder_point,
        }


@dataclass
class _Customer:
    customer_id: str
    country: str
    tax_rate: Decimal
    weight: float  # how often this customer comes back, relative to others


@dataclass(frozen=True)
class _Line:
    sku: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class _PlacedOrder:
    order_id: str
    at: datetime
    lines: tuple[_Line, ...]
    gross: Decimal
    discount: Decimal


def _money(value: Decimal) -> str:
    return format(round_money(value), "f")


def _pick(rng: random.Random, cumulative: Sequence[float]) -> int:
    """Index drawn with the weights whose running sums are ``cumulative``."""
    return bisect_right(cumulative, rng.random() * cumulative[-1])


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:  # the normal approximation is good here and O(1)
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _charm_price(value: float) -> Decimal:
    """Shop prices: mostly .99, some .49 and some round."""
    whole = max(1, round(value))
    tail = (whole * 7919) % 20  # stable per price, no extra random draw
    if tail < 3:
        return Decimal(whole)
    if tail < 6:
        return Decimal(whole) - Decimal("0.51")
    return Decimal(whole) - Decimal("0.01")


def _catalogue(seed: int, orders_per_day: float) -> list[_Product]:
    rng = random.Random(f"storepulse-catalogue-{seed}")
    products: list[_Product] = []
    for category in _CATEGORIES:
        names = rng.sample(
            [f"{a} {n}" for a in category.adjectives for n in category.nouns], _SKUS_PER_CATEGORY
        )
        low, high = category.price_range
        for number, name in enumerate(names, start=1):
            price = _charm_price(math.exp(rng.uniform(math.log(low), math.log(high))))
            products.append(
                _Product(f"{category.code}-{seed}{number:03d}", name, category.name, price, 0, 0.0)
            )
    # Popularity follows Zipf's law over a random ranking: a few best sellers, a long tail.
    ranking = list(range(len(products)))
    rng.shuffle(ranking)
    harmonic = sum(1 / rank for rank in range(1, len(products) + 1))
    units_per_day = max(orders_per_day, 1) * _MEAN_LINES * _MEAN_QUANTITY
    for rank, index in enumerate(ranking, start=1):
        product = products[index]
        product.daily_units = units_per_day / (rank * harmonic)
        # Enough to cover a typical supplier lead time, plus a little safety stock.
        product.reorder_point = math.ceil(product.daily_units * _LEAD_DAYS[1] * 1.1) + 3
        product.stock = _restock_target(product) + rng.randint(0, _CASE_PACK)
    return products


def _restock_target(product: _Product) -> int:
    return product.reorder_point + math.ceil(product.daily_units * _COVER_DAYS_ON_RESTOCK)


# Planted bundles (products bought together, issue 14): six pairs and two trios of products from
# the 30 best sellers, across categories; an order holding one of a bundle's products gets the
# others too this often.
_BUNDLE_SIZES = (2, 2, 2, 2, 2, 2, 3, 3)
_BUNDLE_FROM_TOP = 30
_BUNDLE_CHANCE = 0.45


def planted_bundles(seed: int) -> list[tuple[str, ...]]:
    """The bundles the store of ``seed`` plants: SKUs bought together far more than by chance.

    >>> [len(b) for b in planted_bundles(7)]
    [2, 2, 2, 2, 2, 2, 3, 3]
    """
    products = _catalogue(seed, 1)
    best = sorted(products, key=lambda p: -p.daily_units)[:_BUNDLE_FROM_TOP]
    rng = random.Random(f"storepulse-bundles-{seed}")
    rng.shuffle(best)
    bundles, start = [], 0
    for size in _BUNDLE_SIZES:
        bundles.append(tuple(sorted(p.sku for p in best[start : start + size])))
        start += size
    return bundles


def _bundled(rng: random.Random, bundles: tuple[tuple[str, ...], ...], chosen: set[str]) -> list[str]:
    """The SKUs a basket of ``chosen`` gains from the bundles it touches, in bundle order
    (``bundles`` in :func:`planted_bundles`'s order; the bundles of a SKU found by its index)."""
    touched = sorted({index for sku in chosen for index in _bundle_index(bundles).get(sku, ())})
    added: list[str] = []
    for index in touched:
        if rng.random() < _BUNDLE_CHANCE:
            added += [sku for sku in bundles[index] if sku not in chosen and sku not in added]
    return added


@functools.cache
def _bundle_index(bundles: tuple[tuple[str, ...], ...]) -> dict[str, tuple[int, ...]]:
    """For each SKU in a bundle, the positions of its bundles."""
    found: dict[str, list[int]] = {}
    for index, bundle in enumerate(bundles):
        for sku in bundle:
            found.setdefault(sku, []).append(index)
    return {sku: tuple(indexes) for sku, indexes in found.items()}


# --------------------------------------------------------------------------------------------
# The simulation
# --------------------------------------------------------------------------------------------


@dataclass(order=True)
class _Action:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    payload: Any = field(compare=False, default=None)


class Store:
    """The state of the shop and the queue of what happens next."""

    def __init__(
        self,
        *,
        seed: int,
        orders_per_day: float,
        zone: ZoneInfo,
        currency: str,
        first_day: date,
        last_day: date | None,
    ) -> None:
        self.seed = seed
        self.orders_per_day = orders_per_day
        self.zone = zone
        self.currency = currency
        self.first_day = first_day
        self.last_day = last_day
        self.rng = random.Random(f"storepulse-store-{seed}")
        self.products = _catalogue(seed, orders_per_day)
        self._cum_popularity = list(itertools.accumulate(p.daily_units for p in self.products))
        self.by_sku = {p.sku: p for p in self.products}
        self.bundles = tuple(planted_bundles(seed))
        self.opened_at = self._day_start(first_day)
        self.live = False
        self.tag = ""  # "" while replaying the deterministic history; "L<session>-" when live
        self._queue: list[_Action] = []
        self._seq = itertools.count()
        self._next_day = first_day
        self._serials: dict[tuple[str, date], int] = {}
        self._buyers: list[_Customer] = []
        self._cum_buyer_weights: list[float] = []
        self._browsers: list[_Customer] = []
        self._customer_serial = 0
        self._emitted: list[tuple[datetime, int, Event]] = []
        self._planted: tuple[str, str, _Product] | None = None
        self._wave_orders_day: date | None = None
        self._open_store()

    # -- time ---------------------------------------------------------------------------------

    def _day_start(self, day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=self.zone).astimezone(UTC)

    def _at(self, day: date, second_of_day: int) -> datetime:
        # Through UTC and back so that a wall time skipped by a DST change becomes the real one.
        hour, rest = divmod(second_of_day, 3600)
        local = datetime(day.year, day.month, day.day, hour, rest // 60, rest % 60, tzinfo=self.zone)
        return max(local.astimezone(UTC), self.opened_at + timedelta(minutes=10))

    def _local_day(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def _random_second(self, hours: tuple[int, int] | None = None) -> int:
        hour = self.rng.randint(*hours) if hours else _pick(self.rng, _CUM_HOURS)
        return hour * 3600 + self.rng.randrange(3600)

    # -- the queue ----------------------------------------------------------------------------

    def _schedule(self, at: datetime, kind: str, payload: Any = None) -> None:
        heapq.heappush(self._queue, _Action(at, next(self._seq), kind, payload))

    def run_until(self, until: datetime) -> list[Event]:
        """Execute everything that happens up to ``until`` (inclusive); return its events."""
        while True:
            planning = self.last_day is None or self._next_day <= self.last_day
            day_start = self._day_start(self._next_day)
            if planning and day_start <= until and (not self._queue or day_start <= self._queue[0].at):
                self._plan_day(self._next_day)
                self._next_day += timedelta(days=1)
            elif self._queue and self._queue[0].at <= until:
                self._execute(heapq.heappop(self._queue))
            else:
                break
        self._emitted.sort(key=lambda item: (item[0], item[1]))
        events = [event for _, _, event in self._emitted]
        self._emitted = []
        return events

    def go_live(self, tag: str, rng: random.Random) -> None:
        """From now on orders come from :meth:`add_order`, not from the daily plan."""
        self.live, self.tag, self.rng, self.last_day = True, tag, rng, None

    def add_order(self, at: datetime) -> None:
        self._schedule(at, "order", None)

    def _plan_day(self, day: date) -> None:
        # Everything random about the day is drawn here, in a fixed order, before any of it
        # runs: a run stopped half-way through the day has executed a prefix of the same plan.
        index = (day - self.first_day).days
        span = max(1, ((self.last_day or day) - self.first_day).days)
        trend = 0.9 + 0.2 * min(1.0, index / span)  # a gentle growth over the window
        promo = self.rng.random() < _PROMO_DAY_CHANCE
        mean = (
            self._plant(day)
            * self.orders_per_day
            * _WEEKDAY_FACTOR[day.weekday()]
            / 1.0071
            * trend
            * math.exp(self.rng.gauss(0, 0.08))
            * (_PROMO_DAY_LIFT if promo else 1.0)
        )
        if not self.live:
            order_times = sorted(
                self._at(day, self._random_second()) for _ in range(_poisson(self.rng, mean))
            )
            for number, at in enumerate(order_times, start=1):
                self._schedule(at, "order", (f"O{self.seed}-{day:%Y%m%d}-{number:04d}", promo))
        for _ in range(_poisson(self.rng, mean * _SIGNUP_ONLY_SHARE)):
            self._schedule(self._at(day, self._random_second()), "signup")
        for _ in range(_poisson(self.rng, 0.4)):
            self._schedule(self._at(day, self._random_second((8, 18))), "adjust")
        if self.rng.random() < 0.1:
            self._schedule(self._at(day, self._random_second((6, 9))), "reprice")

    # -- what the insights should find (issue 14) ------------------------------------------------

    def _plant(self, day: date) -> float:
        """Plant the day's share of the insights and return its demand factor: a trending and a
        fading product (their popularity moves with the day), a best seller's stock lost a few
        days before the end and replenished late, and the bad day."""
        if self.live or self.last_day is None or (self.last_day - self.first_day).days + 1 < _PLANT_MIN_DAYS:
            self._wave_orders_day = None
            return 1.0
        if self._planted is None:
            ranked = sorted(self.products, key=lambda p: (-p.daily_units, p.sku))
            self._planted = (ranked[4].sku, ranked[2].sku, ranked[0])
            self._wave_orders_day = self.last_day - timedelta(days=_WAVE_ORDERS_DAY)
        trending, fading, best = self._planted
        progress = (day - self.first_day).days / max(1, (self.last_day - self.first_day).days)
        weights = {trending: 1 + _TREND_GAIN * progress, fading: 1 - _FADE_LOSS * progress}
        self._cum_popularity = list(
            itertools.accumulate(p.daily_units * weights.get(p.sku, 1.0) for p in self.products)
        )
        if day == self.last_day - timedelta(days=_STOCKOUT_FROM) and best.stock > 0:
            # A damaged shipment takes the whole stock, and the supplier is late.
            at = self._at(day, 6 * 3600)
            self._emit(
                at,
                f"planted-stockout-{best.sku}",
                "inventory.adjusted",
                {"sku": best.sku, "delta": -best.stock, "reason": "damage"},
            )
            best.stock, best.replenishing = 0, True
            arrival = self._at(self.last_day - timedelta(days=_STOCKOUT_UNTIL), 9 * 3600)
            self._schedule(arrival, "restock", (best.sku, _restock_target(best)))
        return _BAD_DAY_FACTOR if day == self.last_day - timedelta(days=_BAD_DAY) else 1.0

    def _planted_refund_at(self, at: datetime) -> datetime | None:
        """When an order of the refund wave's day is refunded (a faulty batch: a share of that
        day's orders all come back on the same later day); ``None`` for the other orders."""
        if self._wave_orders_day is None or self._local_day(at) != self._wave_orders_day:
            return None
        if self.rng.random() >= _WAVE_SHARE:
            return None
        return self._at(
            self._wave_orders_day + timedelta(days=_WAVE_ORDERS_DAY - _WAVE_DAY), self._random_second((9, 17))
        )

    def _execute(self, action: _Action) -> None:
        if action.kind == "order":
            if action.payload is None:
                self._order(action.at, self._live_id("O", action.at), promo=False)
            elif not self.live:  # a live trickle replaces the rest of the planned day
                order_id, promo = action.payload
                self._order(action.at, order_id, promo)
        elif action.kind == "signup":
            self._browsers.append(self._register(action.at))
        elif action.kind == "adjust":
            self._adjust(action.at)
        elif action.kind == "reprice":
            self._reprice(action.at)
        elif action.kind == "restock":
            self._restock(action.at, *action.payload)
        elif action.kind == "refund":
            self._refund(action.at, action.payload)
        else:  # pragma: no cover - the kinds above are the only ones scheduled
            raise AssertionError(action.kind)

    # -- ids ----------------------------------------------------------------------------------

    def _serial(self, kind: str, day: date) -> int:
        self._serials[kind, day] = self._serials.get((kind, day), 0) + 1
        return self._serials[kind, day]

    def _live_id(self, prefix: str, at: datetime) -> str:
        day = self._local_day(at)
        return f"{prefix}{self.seed}-{day:%Y%m%d}-{self.tag}{self._serial(prefix, day):04d}"

    def _emit(self, at: datetime, event_id: str, type_: str, data: dict[str, Any]) -> None:
        event = {
            "event_id": f"sim{self.seed}-{event_id}",
            "type": type_,
            "occurred_at": at.astimezone(self.zone).isoformat(),
            "data": data,
        }
        self._emitted.append((at, next(self._seq), event))

    # -- what happens -------------------------------------------------------------------------

    def _open_store(self) -> None:
        for product in self.products:
            self._emit(self.opened_at, f"product-{product.sku}-0", "product.upserted", product.upsert_data())
        for product in self.products:
            self._emit(
                self.opened_at + timedelta(minutes=1),
                f"open-{product.sku}",
                "inventory.adjusted",
                {"sku": product.sku, "delta": product.stock, "reason": "restock"},
            )

    def _register(self, at: datetime) -> _Customer:
        day = self._local_day(at)
        customer_id = f"C{self.seed}-{day:%Y%m%d}-{self.tag}{self._serial('C', day):03d}"
        country, _, tax_rate = _COUNTRIES[_pick(self.rng, _CUM_COUNTRIES)]
        self._customer_serial += 1
        data: dict[str, Any] = {"customer_id": customer_id, "country": country}
        if self.rng.random() < 0.9:  # the e-mail is optional; some stores do not pass it on
            data["email"] = f"user{self.seed}{self.tag.strip('-')}{self._customer_serial}@example.com"
        self._emit(at, f"customer-{customer_id}", "customer.registered", data)
        return _Customer(customer_id, country, tax_rate, self.rng.paretovariate(2.0))

    def _customer_for_order(self, at: datetime) -> tuple[_Customer, bool]:
        # The chance of a returning buyer grows with the customer base, to about a third.
        base = len(self._buyers) / (2.5 * max(self.orders_per_day, 1))
        if self._buyers and self.rng.random() < _RETURNING_SHARE * (1 - math.exp(-base)):
            # Heavier buyers (a Pareto weight) come back more often.
            index = bisect_right(self._cum_buyer_weights, self.rng.random() * self._cum_buyer_weights[-1])
            return self._buyers[min(index, len(self._buyers) - 1)], True
        if self._browsers and self.rng.random() < 0.25:
            customer = self._browsers.pop(self.rng.randrange(len(self._browsers)))
        else:
            registered = max(
                at - timedelta(seconds=self.rng.randint(60, 1200)), self.opened_at + timedelta(minutes=2)
            )
            customer = self._register(registered)
        self._buyers.append(customer)
        total = self._cum_buyer_weights[-1] if self._cum_buyer_weights else 0.0
        self._cum_buyer_weights.append(total + customer.weight)
        return customer, False

    def _pick_product(self, chosen: set[str]) -> _Product | None:
        for _ in range(6):
            product = self.products[_pick(self.rng, self._cum_popularity)]
            if product.sku in chosen:
                continue
            # Most shoppers turn away from an out-of-stock page; some back-order anyway.
            if product.stock <= 0 and self.rng.random() < 0.7:
                continue
            return product
        return None

    def _order(self, at: datetime, order_id: str, promo: bool) -> None:
        customer, returning = self._customer_for_order(at)
        wanted = 1 + _pick(self.rng, _CUM_LINES_RETURNING if returning else _CUM_LINES_NEW)
        lines: list[_Line] = []
        chosen: set[str] = set()
        for _ in range(wanted):
            product = self._pick_product(chosen)
            if product is None:
                continue
            chosen.add(product.sku)
            lines.append(_Line(product.sku, _QUANTITIES[_pick(self.rng, _CUM_QUANTITIES)], product.price))
        if not lines:  # every pick was a duplicate or sold out: the best seller it is
            top = self.products[_pick(self.rng, self._cum_popularity)]
            lines.append(_Line(top.sku, 1, top.price))
        for sku in _bundled(self.rng, self.bundles, {line.sku for line in lines}):
            lines.append(_Line(sku, 1, self.by_sku[sku].price))
        gross = sum((line.unit_price * line.quantity for line in lines), ZERO)
        discount = ZERO
        if self.rng.random() < (_PROMO_DAY_DISCOUNT_SHARE if promo else _DISCOUNT_SHARE):
            if self.rng.random() < 0.7:
                discount = round_money(gross * self.rng.choice(_DISCOUNT_RATES))
            else:
                discount = min(self.rng.choice(_COUPONS), gross)
        channel = _CHANNELS[_pick(self.rng, _CUM_CHANNELS)]
        if channel == "pos":
            local = at.astimezone(self.zone)
            if not _POS_HOURS[0] <= local.hour <= _POS_HOURS[1]:
                channel = "web"  # the till is closed at night
        shipping = ZERO
        if channel != "pos" and gross - discount < _FREE_SHIPPING_FROM:
            shipping = self.rng.choice(_SHIPPING_FEES)
        tax = round_money((gross - discount) * customer.tax_rate)
        self._emit(
            at,
            f"order-{order_id}",
            "order.placed",
            {
                "order_id": order_id,
                "customer_id": customer.customer_id,
                "lines": [
                    {"sku": line.sku, "quantity": line.quantity, "unit_price": _money(line.unit_price)}
                    for line in lines
                ],
                "discount": _money(discount),
                "shipping": _money(shipping),
                "tax": _money(tax),
                "currency": self.currency,
                "channel": channel,
            },
        )
        for line in lines:
            self._take_stock(at, self.by_sku[line.sku], line.quantity)
        refund_at = self._planted_refund_at(at)
        if refund_at is None and self.rng.random() < _REFUND_SHARE:
            delay = timedelta(days=1 + min(self.rng.expovariate(1 / 3), 20), seconds=self.rng.randrange(3600))
            refund_at = (at + delay).replace(microsecond=0)
        if refund_at is not None and gross - discount >= CENT:
            self._schedule(refund_at, "refund", _PlacedOrder(order_id, at, tuple(lines), gross, discount))

    def _take_stock(self, at: datetime, product: _Product, quantity: int) -> None:
        product.stock -= quantity
        if product.stock <= product.reorder_point and not product.replenishing:
            # The buyer reorders at once, but suppliers take days, sometimes weeks.
            product.replenishing = True
            late = self.rng.random() < _LATE_SUPPLIER_CHANCE
            lead = self.rng.randint(*(_LATE_LEAD_DAYS if late else _LEAD_DAYS))
            quantity_ordered = max(_restock_target(product) - product.stock, product.reorder_point)
            quantity_ordered = _CASE_PACK * math.ceil(quantity_ordered / _CASE_PACK)
            arrival_day = self._local_day(at) + timedelta(days=lead)
            arrival = self._at(arrival_day, self._random_second((7, 11)))
            self._schedule(arrival, "restock", (product.sku, quantity_ordered))

    def _restock(self, at: datetime, sku: str, quantity: int) -> None:
        product = self.by_sku[sku]
        product.restocks += 1
        product.stock += quantity
        product.replenishing = False
        self._emit(
            at,
            f"restock-{sku}-{self.tag}{product.restocks}",
            "inventory.adjusted",
            {"sku": sku, "delta": quantity, "reason": "restock"},
        )
        self._take_stock(at, product, 0)  # back-orders may have eaten it all already

    def _adjust(self, at: datetime) -> None:
        product = self.rng.choice(self.products)
        if product.stock > 0 and self.rng.random() < 0.7:
            delta, reason = -self.rng.randint(1, min(3, product.stock)), "damage"
        else:
            delta, reason = self.rng.choice((-2, -1, 1, 2, 3)), "correction"
        day = self._local_day(at)
        self._emit(
            at,
            f"adjust-{day:%Y%m%d}-{self.tag}{self._serial('adjust', day):03d}",
            "inventory.adjusted",
            {"sku": product.sku, "delta": delta, "reason": reason},
        )
        self._take_stock(at, product, -delta)

    def _reprice(self, at: datetime) -> None:
        product = self.rng.choice(self.products)
        product.price = _charm_price(float(product.price) * self.rng.uniform(0.85, 1.15))
        day = self._local_day(at)
        serial = self._serial("reprice", day)
        self._emit(at, f"reprice-{day:%Y%m%d}-{self.tag}{serial}", "product.upserted", product.upsert_data())

    def _refund(self, at: datetime, order: _PlacedOrder) -> None:
        net = order.gross - order.discount
        restock: list[dict[str, Any]] = []
        if len(order.lines) > 1 and self.rng.random() < 0.4:
            # One item sent back: its share of the order after the discount, never more.
            line = self.rng.choice(order.lines)
            share = line.unit_price * line.quantity * net / order.gross
            amount = max(share.quantize(CENT, rounding=ROUND_DOWN), CENT)
            if self.rng.random() < 0.5:
                restock.append({"sku": line.sku, "quantity": line.quantity})
        else:
            amount = net
            if self.rng.random() < 0.6:
                restock = [{"sku": line.sku, "quantity": line.quantity} for line in order.lines]
        refund_id = "R" + order.order_id[1:]
        data: dict[str, Any] = {
            "order_id": order.order_id,
            "refund_id": refund_id,
            "amount": _money(amount),
            "currency": self.currency,
        }
        if restock:
            data["restock"] = restock
        self._emit(at, f"refund-{refund_id}", "order.refunded", data)
        for item in restock:
            self._take_stock(at, self.by_sku[item["sku"]], -item["quantity"])


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _window(days: int, end: date | None, zone: ZoneInfo, now: datetime) -> tuple[date, date]:
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    last = end or now.astimezone(zone).date()
    return last - timedelta(days=days - 1), last


def generate(
    days: int,
    orders_per_day: int = 60,
    seed: int = 7,
    end: date | None = None,
    tz: str = "UTC",
    *,
    currency: str = "USD",
    now: datetime | None = None,
) -> list[Event]:
    """The events of a simulated store, ready to be sent as JSON.

    Deterministic for a given seed, window and time zone: the same arguments give the same
    events with the same ids. Nothing later than ``now`` is generated (a shop cannot have sold
    in the future), so a window ending today stops at the current time; refunds and restocks
    that would fall after the window are left out.

    Parameters
    ----------
    days
        Length of the window in calendar days of the store's time zone (at least 1).
    orders_per_day
        Average orders a day, before weekly seasonality, the trend and the odd promotion day.
    seed
        Chooses the store: its catalogue, customers and history; it is part of every id.
    end
        Last day of the window; today in ``tz`` by default.
    tz
        The store's time zone (``STORE_TIMEZONE``); every ``occurred_at`` carries its offset.
    currency
        The store currency (``STORE_CURRENCY``) written on orders and refunds.
    now
        The clock, for tests; the current time by default.

    Returns
    -------
    list of dict
        The events in ``occurred_at`` order: the catalogue and opening stock first, then orders,
        registrations, refunds, restocks, stock corrections and price changes.

    Examples
    --------
    >>> events = generate(2, orders_per_day=5, end=date(2025, 3, 9), tz="America/New_York")
    >>> events[0]["type"], events[0]["occurred_at"]
    ('product.upserted', '2025-03-08T00:00:00-05:00')
    """
    zone = ZoneInfo(tz)
    clock = now or datetime.now(UTC)
    first, last = _window(days, end, zone, clock)
    store = Store(
        seed=seed, orders_per_day=orders_per_day, zone=zone, currency=currency, first_day=first, last_day=last
    )
    window_end = store._day_start(last + timedelta(days=1)) - timedelta(seconds=1)
    return store.run_until(min(window_end, clock))
