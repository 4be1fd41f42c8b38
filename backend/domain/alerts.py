"""The alert as it travels on the bus and sits in the feed.

Stock alerts (``low_stock``, ``out_of_stock``) carry the SKU's ``on_hand`` and
``reorder_point``; a ``stockout_risk`` alert carries them too, with the forecast that raised it;
anomalies (``sales_drop``, ``sales_spike``, ``refund_spike``) carry the ``metric``, its ``day``,
its ``value``, what was ``expected`` (decimal strings) and the ``score``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

AlertType = Literal["low_stock", "out_of_stock", "stockout_risk", "sales_drop", "sales_spike", "refund_spike"]
STOCK_TYPES = frozenset({"low_stock", "out_of_stock", "stockout_risk"})
ANOMALY_TYPES = frozenset({"sales_drop", "sales_spike", "refund_spike"})


class Alert(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    alert_id: str = Field(min_length=1, max_length=64)
    type: AlertType
    raised_at: datetime
    sku: str | None = Field(default=None, min_length=1, max_length=128)
    on_hand: int | None = None
    reorder_point: int | None = None
    forecast_daily_units: str | None = None
    stockout_date: date | None = None
    reorder_by: date | None = None
    lead_time_days: int | None = None
    metric: Literal["net_sales", "orders", "returns"] | None = None
    day: date | None = None
    value: str | None = None
    expected: str | None = None
    score: Decimal | None = None

    @model_validator(mode="after")
    def _fields_of_its_type(self) -> Alert:
        needed: tuple[str, ...]
        if self.type in STOCK_TYPES:
            needed = ("sku", "on_hand", "reorder_point")
        else:
            needed = ("metric", "day", "value", "expected", "score")
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.type} alert needs {', '.join(missing)}")
        return self
