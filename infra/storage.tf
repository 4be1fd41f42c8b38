# DynamoDB tables and S3 buckets.

resource "aws_dynamodb_table" "this" {
  for_each = local.tables
  #checkov:skip=CKV2_AWS_16:On demand by default (nothing to scale); with var.dynamodb_capacity.mode = "provisioned" the ingest and analytics tables get aws_appautoscaling_target.table and its target-tracking policies below.
  #checkov:skip=CKV_AWS_119:Encrypted with the AWS-owned key (free); a customer-managed KMS key adds $1/month and per-request charges, see docs/deploy.md.

  name                        = "${local.prefix}${each.value.name}"
  billing_mode                = contains(local.provisioned_tables, each.key) ? "PROVISIONED" : "PAY_PER_REQUEST"
  read_capacity               = contains(local.provisioned_tables, each.key) ? var.dynamodb_capacity.min_read : null
  write_capacity              = contains(local.provisioned_tables, each.key) ? var.dynamodb_capacity.min_write : null
  hash_key                    = each.value.hash_key
  range_key                   = each.value.range_key
  deletion_protection_enabled = var.environment == "prod"

  attribute {
    name = each.value.hash_key
    type = "S"
  }

  dynamic "attribute" {
    for_each = each.value.range_key == null ? [] : [each.value.range_key]
    content {
      name = attribute.value
      type = "S"
    }
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }

  dynamic "ttl" {
    for_each = each.value.ttl == null ? [] : [each.value.ttl]
    content {
      attribute_name = ttl.value
      enabled        = true
    }
  }

  lifecycle {
    # Auto scaling moves the provisioned units; Terraform must not move them back.
    ignore_changes = [read_capacity, write_capacity]
  }
}

# Provisioned capacity (var.dynamodb_capacity.mode = "provisioned"): the pipeline's two tables,
# each dimension scaled by target tracking between its min and max units.
locals {
  provisioned_tables = var.dynamodb_capacity.mode == "provisioned" ? ["ingest", "analytics"] : []
  capacity_dimensions = {
    for pair in setproduct(local.provisioned_tables, ["read", "write"]) : "${pair[0]}-${pair[1]}" => {
      table     = pair[0]
      dimension = pair[1]
      min       = pair[1] == "read" ? var.dynamodb_capacity.min_read : var.dynamodb_capacity.min_write
      max       = pair[1] == "read" ? var.dynamodb_capacity.max_read : var.dynamodb_capacity.max_write
      metric    = pair[1] == "read" ? "DynamoDBReadCapacityUtilization" : "DynamoDBWriteCapacityUtilization"
    }
  }
}

resource "aws_appautoscaling_target" "table" {
  for_each = local.capacity_dimensions

  service_namespace  = "dynamodb"
  resource_id        = "table/${aws_dynamodb_table.this[each.value.table].name}"
  scalable_dimension = "dynamodb:table:${title(each.value.dimension)}CapacityUnits"
  min_capacity       = each.value.min
  max_capacity       = each.value.max
}

resource "aws_appautoscaling_policy" "table" {
  for_each = local.capacity_dimensions

  name               = "${local.prefix}${each.key}-target-tracking"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.table[each.key].service_namespace
  resource_id        = aws_appautoscaling_target.table[each.key].resource_id
  scalable_dimension = aws_appautoscaling_target.table[each.key].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = var.dynamodb_capacity.target_utilization
    predefined_metric_specification {
      predefined_metric_type = each.value.metric
    }
  }
}

module "bucket" {
  source   = "./modules/bucket"
  for_each = local.buckets

  name = "${local.prefix}${each.value.name}${local.bucket_suffix}"
  # Reports are disposable (30 days); the lake is the raw history and keeps versions.
  versioning      = each.key == "lake"
  lifecycle_rules = local.bucket_lifecycle[each.key]
}

locals {
  bucket_lifecycle = {
    reports = [
      { id = "reports-expire", prefix = "reports/", expiration_days = 30, transitions = [] },
    ]
    lake = [
      {
        id              = "ndjson-ages"
        prefix          = "events/"
        expiration_days = null
        transitions = [
          { days = var.lake_transition_days, storage_class = "STANDARD_IA" },
          { days = var.lake_transition_days * 3, storage_class = "GLACIER_IR" },
        ]
      },
    ]
  }
}

# Athena's query results: private, expire after a week.
module "athena_results" {
  source = "./modules/bucket"

  name            = "${local.prefix}storepulse-athena${local.bucket_suffix}"
  versioning      = false
  force_destroy   = true
  lifecycle_rules = [{ id = "results-expire", prefix = "", expiration_days = 7, transitions = [] }]
}
