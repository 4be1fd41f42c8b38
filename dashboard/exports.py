"""Tables as files: CSV and Excel, from the rows a grid shows (pure: rows in, bytes out).

A spreadsheet runs a cell that begins with ``=``, ``+``, ``-`` or ``@`` as a formula, so a
product named ``=HYPERLINK("http://evil", "Click")`` would become a live link in the owner's
Excel (CSV injection, OWASP). Text cells that begin so are neutralised; numbers stay numbers
(a negative amount is a number, not text, and must stay one for sums):

- CSV: the text gets a leading apostrophe, which spreadsheets show as "this is text";
- Excel: the cell is written as a string with Excel's quote prefix (the apostrophe is not part
  of the value, only a mark that it is text), so nothing is evaluated, even after an edit.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import xlsxwriter

# Tab and carriage return start a formula too in some spreadsheets (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_MARKDOWN_LINK = re.compile(r"^\[(?P<text>[^\]]*)\]\((?P<url>[^)]*)\)$")


def is_formula_like(value: Any) -> bool:
    """Whether ``value`` is text a spreadsheet would read as a formula.

    >>> is_formula_like("=1+1"), is_formula_like("-3"), is_formula_like(-3), is_formula_like("A-1")
    (True, True, False, False)
    """
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def neutralise(value: Any) -> Any:
    """A text cell made inert for a CSV (a leading apostrophe); anything else unchanged.

    >>> neutralise('=HYPERLINK("http://x")'), neutralise(-12.5), neutralise("Mug")
    ('\\'=HYPERLINK("http://x")', -12.5, 'Mug')
    """
    return "'" + value if is_formula_like(value) else value


def cell_text(value: Any) -> Any:
    """What a grid cell holds for a file: a Markdown link (``[SKU-1](/products/SKU-1)``) is its
    text, ``None`` is empty, the rest as it is."""
    if value is None:
        return ""
    if isinstance(value, str):
        match = _MARKDOWN_LINK.match(value)
        if match:
            return match.group("text")
    return value


def table(rows: Iterable[Mapping[str, Any]], columns: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """The header (each column's ``headerName``) and the rows' values in the columns' order."""
    fields = [c["field"] for c in columns if c.get("field")]
    header = [str(c.get("headerName") or c["field"]) for c in columns if c.get("field")]
    return [header, *([cell_text(row.get(field)) for field in fields] for row in rows)]


def to_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[Mapping[str, Any]]) -> bytes:
    """UTF-8 CSV with a byte-order mark (so Excel reads accents right), formula-like text
    neutralised.

    >>> to_csv([{"name": "=cmd", "n": -2}], [{"field": "name", "headerName": "Product"},
    ...                                       {"field": "n", "headerName": "Units"}])
    b"\\xef\\xbb\\xbfProduct,Units\\r\\n'=cmd,-2\\r\\n"
    """
    out = io.StringIO()
    writer = csv.writer(out)
    for line in table(rows, columns):
        writer.writerow([neutralise(value) for value in line])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[Mapping[str, Any]], sheet: str = "storepulse"
) -> bytes:
    """An Excel workbook of one sheet: numbers as numbers, text always as text (never a
    formula), formula-like text marked with Excel's quote prefix; the header row frozen."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    worksheet = workbook.add_worksheet(sheet[:31])
    bold = workbook.add_format({"bold": True})
    quoted = workbook.add_format({"quote_prefix": True})
    lines = table(rows, columns)
    widths = [len(str(name)) for name in lines[0]]
    for r, line in enumerate(lines):
        for c, value in enumerate(line):
            if r == 0:
                worksheet.write_string(r, c, str(value), bold)
            elif isinstance(value, bool):
                worksheet.write_boolean(r, c, value)
            elif isinstance(value, int | float):
                worksheet.write_number(r, c, value)
            else:
                text = str(value)
                worksheet.write_string(r, c, text, quoted if is_formula_like(text) else None)
            widths[c] = min(60, max(widths[c], len(str(value))))
    for c, width in enumerate(widths):
        worksheet.set_column(c, c, width + 2)
    worksheet.freeze_panes(1, 0)
    workbook.close()
    return buffer.getvalue()
