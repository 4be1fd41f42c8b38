"""The alert as it travels on the bus and sits in the feed."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Alert(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    alert_id: str = Field(min_length=1, max_length=64)
    sku: str = Field(min_length=1, max_length=128)
    type: Literal["low_stock", "out_of_stock"]
    on_hand: int
    reorder_point: int
    raised_at: datetime
