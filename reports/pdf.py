"""A report as PDF bytes, drawn with reportlab (charts are reportlab.graphics, no browser)."""

from __future__ import annotations

from io import BytesIO
from typing import Any

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from reports.model import ReportData, format_change, format_kpi, format_money

_ACCENT = colors.HexColor("#2f5d8a")
_GRID = colors.HexColor("#c9d3de")
_STATUS_COLOURS = {"out": colors.HexColor("#b3261e"), "low": colors.HexColor("#b26a00")}
MAX_STOCK_ROWS = 60


def _styles() -> dict[str, ParagraphStyle]:
    sheet = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("title", parent=sheet["Title"], alignment=0, textColor=_ACCENT, fontSize=18),
        "meta": ParagraphStyle("meta", parent=sheet["Normal"], fontSize=9, leading=12),
        "h2": ParagraphStyle("h2", parent=sheet["Heading2"], textColor=_ACCENT, spaceBefore=8),
        "body": sheet["Normal"],
        "note": ParagraphStyle("note", parent=sheet["Normal"], fontSize=8, textColor=colors.grey),
    }


def _table(rows: list[list[Any]], widths: list[float], numeric_from: int = 1) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 8.5),
                ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
                ("BACKGROUND", (0, 0), (-1, 0), _ACCENT),
                ("LINEBELOW", (0, 0), (-1, -1), 0.25, _GRID),
                ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f4f7fa")]),
            ]
        )
    )
    return table


def _sales_chart(data: ReportData) -> Drawing:
    width, height = 170 * mm, 60 * mm
    drawing = Drawing(width, height)
    chart = VerticalBarChart()
    chart.x, chart.y = 14 * mm, 10 * mm
    chart.width, chart.height = width - 18 * mm, height - 16 * mm
    values = [float(p.net_sales) for p in data.sales] or [0.0]
    chart.data = [values]
    chart.bars[0].fillColor = _ACCENT
    chart.bars[0].strokeColor = None
    labels = [
        p.period.isoformat()[5:] if data.granularity == "day" else p.period.isoformat() for p in data.sales
    ]
    step = max(1, len(labels) // 8)
    chart.categoryAxis.categoryNames = [label if i % step == 0 else "" for i, label in enumerate(labels)]
    chart.categoryAxis.labels.fontSize = 6
    chart.categoryAxis.labels.angle = 30
    chart.categoryAxis.labels.boxAnchor = "ne"
    chart.valueAxis.valueMin = min(0.0, min(values))
    chart.valueAxis.labels.fontSize = 6
    chart.valueAxis.visibleGrid = True
    chart.valueAxis.gridStrokeColor = _GRID
    drawing.add(chart)
    drawing.add(String(0, height - 4 * mm, f"Net sales per {data.granularity} ({data.currency})", fontSize=8))
    return drawing


def _header(data: ReportData, styles: dict[str, ParagraphStyle]) -> list[Any]:
    zone = data.generated_at.tzname() or ""
    return [
        Paragraph(f"{data.store} &middot; {data.title} report", styles["title"]),
        Paragraph(
            f"Range: {data.start.isoformat()} to {data.end.isoformat()} (store days, inclusive) &middot; "
            f"compared with {data.previous_start.isoformat()} to {data.previous_end.isoformat()}",
            styles["meta"],
        ),
        Paragraph(
            f"Generated: {data.generated_at.strftime('%Y-%m-%d %H:%M')} {zone} &middot; "
            f"amounts in {data.currency}",
            styles["meta"],
        ),
        Spacer(1, 4 * mm),
    ]


def _kpis(data: ReportData, styles: dict[str, ParagraphStyle]) -> list[Any]:
    rows: list[list[Any]] = [["KPI", "This period", "Previous period", "Change"]]
    for kpi in data.kpis:
        rows.append(
            [
                kpi.label,
                format_kpi(kpi.kind, kpi.current),
                format_kpi(kpi.kind, kpi.previous),
                format_change(kpi.change_pct),
            ]
        )
    return [Paragraph("Key figures", styles["h2"]), _table(rows, [60 * mm, 38 * mm, 38 * mm, 30 * mm])]


def _top_products(data: ReportData, styles: dict[str, ParagraphStyle]) -> list[Any]:
    out: list[Any] = [Paragraph("Top products by net sales", styles["h2"])]
    if not data.top_products:
        return [*out, Paragraph("No product sold in this range.", styles["body"])]
    rows: list[list[Any]] = [["#", "SKU", "Product", "Units", "Net sales"]]
    for product in data.top_products:
        rows.append(
            [
                product.rank,
                product.sku,
                product.name or "-",
                f"{product.units:,}",
                format_money(product.net_sales),
            ]
        )
    return [*out, _table(rows, [10 * mm, 36 * mm, 66 * mm, 22 * mm, 32 * mm], numeric_from=3)]


def _stock(data: ReportData, styles: dict[str, ParagraphStyle]) -> list[Any]:
    as_of = data.stock_as_of.isoformat() if data.stock_as_of else "today"
    out: list[Any] = [Paragraph(f"Low and out-of-stock products (as of {as_of})", styles["h2"])]
    if not data.stock_items:
        return [*out, Paragraph("Every product is above its reorder point.", styles["body"])]
    rows: list[list[Any]] = [["SKU", "Product", "Status", "On hand", "Reorder point", "Days of cover"]]
    for item in data.stock_items[:MAX_STOCK_ROWS]:
        cover = "n/a" if item.days_of_cover is None else f"{item.days_of_cover:.1f}"
        rows.append([item.sku, item.name or "-", item.status, item.on_hand, item.reorder_point, cover])
    table = _table(rows, [32 * mm, 54 * mm, 16 * mm, 20 * mm, 24 * mm, 22 * mm], numeric_from=3)
    for index, item in enumerate(data.stock_items[:MAX_STOCK_ROWS], start=1):
        table.setStyle(TableStyle([("TEXTCOLOR", (2, index), (2, index), _STATUS_COLOURS.get(item.status))]))
    out.append(table)
    if len(data.stock_items) > MAX_STOCK_ROWS:
        hidden = len(data.stock_items) - MAX_STOCK_ROWS
        out.append(Paragraph(f"... and {hidden} more (GET /v1/inventory lists them all).", styles["note"]))
    return out


COHORT_COLUMNS = 12


def _customers(data: ReportData, styles: dict[str, ParagraphStyle]) -> list[Any]:
    out: list[Any] = [Paragraph("Cohorts", styles["h2"])]
    if data.cohorts is None:
        out.append(Paragraph("Cohort retention is not available for this report.", styles["body"]))
    elif not data.cohorts:
        out.append(Paragraph("No customer cohort in this range.", styles["body"]))
    else:
        # A page holds a year of retention; the API has the rest (GET /v1/customers/cohorts).
        months = min(max(len(c.retention) for c in data.cohorts), COHORT_COLUMNS)
        rows: list[list[Any]] = [["Cohort", "Size", *[f"M{k}" for k in range(months)]]]
        for cohort in data.cohorts:
            shares = [f"{share * 100:.0f}%" for share in cohort.retention[:months]]
            rows.append([cohort.cohort, cohort.size, *shares, *[""] * (months - len(shares))])
        width = (166 * mm - 40 * mm) / max(months, 1)
        out.append(_table(rows, [22 * mm, 18 * mm, *[width] * months]))
    out.append(Paragraph("Segments", styles["h2"]))
    if data.segments is None:
        out.append(
            Paragraph(
                "No RFM segments yet: the segments job has not run (storepulse run-job segments).",
                styles["body"],
            )
        )
    elif not data.segments:
        out.append(Paragraph("No customer to segment yet.", styles["body"]))
    else:
        rows = [["Segment", "Customers", "Share of revenue"]]
        rows += [[s.segment, f"{s.customers:,}", f"{s.share_of_revenue * 100:.1f}%"] for s in data.segments]
        out.append(_table(rows, [70 * mm, 40 * mm, 40 * mm]))
    return out


def render_pdf(data: ReportData) -> bytes:
    """The PDF of a report.

    Examples
    --------
    With a report's data (so not run as a doctest)::

        render_pdf(data)[:5]
        # b'%PDF-'
    """
    styles = _styles()
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"storepulse {data.report_type} {data.start.isoformat()} {data.end.isoformat()}",
        author="storepulse",
    )
    story: list[Any] = [*_header(data, styles), *_kpis(data, styles)]
    story += [Paragraph("Sales", styles["h2"]), _sales_chart(data)]
    story += _top_products(data, styles)
    if data.report_type == "inventory":
        story += _stock(data, styles)
    if data.report_type == "customers":
        story += _customers(data, styles)
    for note in data.notes:
        story.append(Paragraph(note, styles["note"]))
    document.build(story)
    return buffer.getvalue()
