"""The Glue tables of infra/lake.tf are the lake's Parquet tables of backend/lake/schema.py:
the same tables, partition key and location, and the same columns in the same order with the
same types (the compaction job writes its Parquet schema from schema.py, so a column Glue does
not declare is invisible to Athena, and one it types differently fails the query)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from backend.lake.schema import PARTITION_KEY, TABLES, Table
from tests.infra import terraform

TF = terraform.load()
LOCALS = TF.locals
GLUE = LOCALS["lake_tables"]


def template(expression: str) -> str:
    """A string template of lake.tf without its quotes (python-hcl2 keeps them on templates)."""
    return expression[1:-1] if len(expression) > 1 and expression[0] == expression[-1] == '"' else expression


def glue_type(expression: str) -> str:
    """A column type of lake.tf with ``local.money`` resolved (``type = local.money`` or
    ``"...unit_price:${local.money}..."``)."""
    return template(expression).replace("${local.money}", LOCALS["money"])


def expected_columns(table: Table) -> list[tuple[str, str]]:
    return [(column.name, column.glue_type) for column in table.columns]


def test_glue_has_exactly_the_lake_tables() -> None:
    assert sorted(GLUE) == sorted(TABLES)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_glue_columns_are_the_parquet_columns_in_order(name: str) -> None:
    # Given the columns schema.py writes to Parquet and those lake.tf declares in Glue
    declared = [(column["name"], glue_type(column["type"])) for column in GLUE[name]["columns"]]
    # Then they are the same, in the same order, with the same Glue/Hive types
    assert declared == expected_columns(TABLES[name])


def test_glue_types_are_hive_types_of_the_parquet_types() -> None:
    # Parquet INT64 -> bigint, DECIMAL(12,2) -> decimal(12,2), TIMESTAMP(us, UTC) -> timestamp
    used = {c.type for table in TABLES.values() for c in table.columns for c in (c, *c.fields)}
    assert used <= {"string", "bigint", "timestamp", "decimal(12,2)", "array<struct>"}
    assert LOCALS["money"] == "decimal(12,2)"
    orders = dict((c["name"], glue_type(c["type"])) for c in GLUE["orders"]["columns"])
    assert (
        orders["lines"]
        == "array<struct<sku:string,quantity:bigint,unit_price:decimal(12,2),amount:decimal(12,2)>>"
    )


def test_tables_are_partitioned_by_store_day_under_the_agreed_layout() -> None:
    body: dict[str, Any] = TF.block("resource", "aws_glue_catalog_table", "lake").body
    assert body["for_each"] == "${local.lake_tables}"
    assert body["name"] == "${each.key}"
    (partition,) = terraform.as_list(body["partition_keys"])
    assert (partition["name"], partition["type"]) == (PARTITION_KEY, "string")
    (storage,) = terraform.as_list(body["storage_descriptor"])
    assert template(storage["location"]).endswith("/parquet/${each.key}/")
    assert "ParquetHiveSerDe" in json.dumps(storage["ser_de_info"])
    location = template(body["parameters"]["storage.location.template"])
    assert location.endswith(f"/parquet/${{each.key}}/{PARTITION_KEY}=$${{{PARTITION_KEY}}}/")
    database = TF.block("resource", "aws_glue_catalog_database", "lake").body
    assert template(database["name"]).endswith("storepulse_lake")
