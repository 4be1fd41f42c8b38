"""The monthly AWS bill of a storepulse deployment: measured request counts times list prices.

Pure: :mod:`backend.cost.model` takes the measurement, the prices and the deployment's shape
as data and returns the bill; ``storepulse cost`` (``devstack/cli.py``) reads the files.
"""

from backend.cost.model import (
    Bill,
    Deployment,
    Line,
    Measurement,
    PriceTable,
    load_measurement,
    load_prices,
    monthly_bill,
)

__all__ = [
    "Bill",
    "Deployment",
    "Line",
    "Measurement",
    "PriceTable",
    "load_measurement",
    "load_prices",
    "monthly_bill",
]
