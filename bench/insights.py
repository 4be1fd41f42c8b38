"""Issue 14's evaluation in one run: bought together, then the forecast and the anomalies.

``python bench/insights.py`` runs :mod:`bench.insights_together` (planted bundles found, figures
exact against pandas, reads at 100,000 orders a month), :mod:`bench.insights_forecast` (WAPE
against both naive baselines) and :mod:`bench.insights_anomalies` (planted bad days, spikes and
refund waves of stated sizes found, false alarms on ordinary days) with their defaults, one
after the other, and exits non-zero if any does. Each prints its own figures; they are recorded
in ``docs/insights.md``. For their options, run each on its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import insights_anomalies, insights_forecast, insights_together


def main() -> int:
    print("== Bought together (bench/insights_together.py)", flush=True)
    together = insights_together.main([])
    print("\n== Forecast (bench/insights_forecast.py)", flush=True)
    forecast = insights_forecast.main([])
    print("\n== Anomalies (bench/insights_anomalies.py)", flush=True)
    found = insights_anomalies.main([])
    return together or forecast or found


if __name__ == "__main__":
    raise SystemExit(main())
