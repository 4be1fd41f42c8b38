# DynamoDB tables and S3 buckets.

resource "aws_dynamodb_table" "this" {
  for_each = local.tables
  #checkov:skip=CKV_AWS_119:Encrypted with the AWS-owned key (free); a customer-managed KMS key adds $1/month and per-request charges, see docs/deploy.md.

  name                        = "${local.prefix}${each.value.name}"
  billing_mode                = "PAY_PER_REQUEST"
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
