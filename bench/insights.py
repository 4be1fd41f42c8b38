"""Issue 14's evaluation in one run: bought together, then the forecast and the anomalies.

``python bench/insights.py`` runs :mod:`bench.insights_together` (planted bundles found, figures
exact against pandas, reads at 100,000 orders a month) and :mod:`bench.insights_forecast` (WAPE
against both naive baselines, anomaly precision and recall over planted histories) with their
defaults, one after the other, and exits non-zero if either does. Each prints its own figures;
they are recorded in ``docs/insights.md``. For their options, run each on its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import insights_forecast, insights_together


def main() -> int:
    print("== Bought together (bench/insights_together.py)", flush=True)
    together = insights_together.main([])
    print("\n== Forecast and anomalies (bench/insights_forecast.py)", flush=True)
    forecast = insights_forecast.main([])
    return together or forecast


if __name__ == "__main__":
    raise SystemExit(main())
