# The Parquet lake in Glue and Athena: one table per event type over
# s3://<lake>/parquet/<table>/dt=<YYYY-MM-DD>/part-00000.parquet, dt the store day, written by
# lake-compaction from the raw NDJSON (s3://<lake>/events/arrived=<YYYY-MM-DD-HH>/, by arrival
# hour, which no table reads: it is at-least-once; these tables hold each event once).
# Columns and types are backend/lake/schema.py's, in its order (tests/infra/test_lake_tables.py
# checks them); e-mails are hashed at ingest.

locals {
  money = "decimal(12,2)"
  lake_tables = {
    orders = {
      description = "order.placed events"
      columns = [
        { name = "event_id", type = "string" },
        { name = "occurred_at", type = "timestamp" },
        { name = "order_id", type = "string" },
        { name = "customer_id", type = "string" },
        { name = "channel", type = "string" },
        { name = "currency", type = "string" },
        { name = "gross_sales", type = local.money },
        { name = "discount", type = local.money },
        { name = "shipping", type = local.money },
        { name = "tax", type = local.money },
        { name = "units", type = "bigint" },
        { name = "lines", type = "array<struct<sku:string,quantity:bigint,unit_price:${local.money},amount:${local.money}>>" },
      ]
    }
    refunds = {
      description = "order.refunded events"
      columns = [
        { name = "event_id", type = "string" },
        { name = "occurred_at", type = "timestamp" },
        { name = "refund_id", type = "string" },
        { name = "order_id", type = "string" },
        { name = "currency", type = "string" },
        { name = "amount", type = local.money },
        { name = "restock", type = "array<struct<sku:string,quantity:bigint>>" },
      ]
    }
    customers = {
      description = "customer.registered events (email_hash: keyed hash, never the address)"
      columns = [
        { name = "event_id", type = "string" },
        { name = "occurred_at", type = "timestamp" },
        { name = "customer_id", type = "string" },
        { name = "country", type = "string" },
        { name = "email_hash", type = "string" },
      ]
    }
    products = {
      description = "product.upserted events"
      columns = [
        { name = "event_id", type = "string" },
        { name = "occurred_at", type = "timestamp" },
        { name = "sku", type = "string" },
        { name = "name", type = "string" },
        { name = "category", type = "string" },
        { name = "price", type = local.money },
        { name = "reorder_point", type = "bigint" },
      ]
    }
    inventory_adjustments = {
      description = "inventory.adjusted events"
      columns = [
        { name = "event_id", type = "string" },
        { name = "occurred_at", type = "timestamp" },
        { name = "sku", type = "string" },
        { name = "delta", type = "bigint" },
        { name = "reason", type = "string" },
      ]
    }
  }
}

resource "aws_glue_catalog_database" "lake" {
  name        = "${replace(local.prefix, "-", "_")}storepulse_lake"
  description = "storepulse's Parquet lake, one table per event type, partitioned by store day (dt)."
}

resource "aws_glue_catalog_table" "lake" {
  for_each = local.lake_tables

  name          = each.key
  database_name = aws_glue_catalog_database.lake.name
  description   = each.value.description
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    classification              = "parquet"
    EXTERNAL                    = "TRUE"
    "projection.enabled"        = "true"
    "projection.dt.type"        = "date"
    "projection.dt.format"      = "yyyy-MM-dd"
    "projection.dt.range"       = "2020-01-01,NOW"
    "storage.location.template" = "s3://${module.bucket["lake"].name}/parquet/${each.key}/dt=$${dt}/"
  }

  partition_keys {
    name = "dt"
    type = "string"
  }

  storage_descriptor {
    location      = "s3://${module.bucket["lake"].name}/parquet/${each.key}/"
    input_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

    ser_de_info {
      serialization_library = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
      parameters            = { "serialization.format" = "1" }
    }

    dynamic "columns" {
      for_each = each.value.columns
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }
}

resource "aws_athena_workgroup" "lake" {
  name          = "${local.prefix}storepulse"
  description   = "Queries over the storepulse lake; results encrypted, a scan limit per query."
  force_destroy = true

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = 10 * 1024 * 1024 * 1024

    result_configuration {
      output_location = "s3://${module.athena_results.name}/results/"
      encryption_configuration {
        encryption_option = "SSE_S3"
      }
    }
  }
}
