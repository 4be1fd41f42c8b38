# What each function's code calls, on which resources: nothing else. Logging, tracing and the
# function's own queue are added by modules/function. tests/infra/test_iam.py reads the code's
# boto3 calls and checks these grants against them, both ways.

locals {
  table_arn = { for key, table in aws_dynamodb_table.this : key => table.arn }

  function_policies = {
    ingest     = data.aws_iam_policy_document.function_ingest.json
    connectors = data.aws_iam_policy_document.function_connectors.json
    api        = data.aws_iam_policy_document.function_api.json
    orders     = data.aws_iam_policy_document.function_orders.json
    customers  = data.aws_iam_policy_document.function_customers.json
    inventory  = data.aws_iam_policy_document.function_inventory.json
    lake       = data.aws_iam_policy_document.function_lake.json
    alert_feed = data.aws_iam_policy_document.function_alert_feed.json
    jobs       = data.aws_iam_policy_document.function_jobs.json
    reports    = data.aws_iam_policy_document.function_reports.json
  }
}

data "aws_iam_policy_document" "function_ingest" {
  statement {
    # BatchGetItem: the duplicate look-up; PutItem: the conditional claims (one plain
    # conditional put per event); BatchWriteItem: the published markers.
    sid       = "DuplicateCheckClaimAndRecord"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:BatchWriteItem"]
    resources = [local.table_arn["ingest"]]
  }
  statement {
    sid       = "PublishEvents"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this["events"].arn]
  }
  statement {
    # A SecureString under the AWS-managed key aws/ssm, whose key policy lets SSM decrypt for any
    # principal of the account allowed to read the parameter: no kms:Decrypt grant is needed.
    sid       = "ReadSecretPiiHashKey"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.secret["pii_hash_key"].arn]
  }
}

data "aws_iam_policy_document" "function_connectors" {
  statement {
    # The ingest path's calls (BatchGetItem: duplicates; PutItem: claims; BatchWriteItem: the
    # published markers), plus the connector's own items in the same table: BatchWriteItem the
    # inventory items' SKUs, BatchGetItem and a conditional PutItem a SKU's stock levels.
    sid       = "IngestPathAndConnectorState"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:BatchWriteItem"]
    resources = [local.table_arn["ingest"]]
  }
  statement {
    # BatchGetItem: a SKU's on-hand and whether its adjustments are counted (stock levels);
    # Query: the stock-in items not folded yet (part of on hand); PutItem: a webhook kept
    # because it could not be mapped (storepulse dlq list).
    sid       = "StockAndUnmapped"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem"]
    resources = [local.table_arn["analytics"]]
  }
  statement {
    sid       = "PublishEvents"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this["events"].arn]
  }
  statement {
    # SecureStrings under the AWS-managed key aws/ssm (no kms:Decrypt grant needed, see ingest).
    sid       = "ReadSecretsPiiHashKeyAndWebhooks"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.secret["pii_hash_key"].arn, aws_ssm_parameter.webhook_secret["shopify"].arn, aws_ssm_parameter.webhook_secret["woocommerce"].arn]
  }
}

data "aws_iam_policy_document" "function_api" {
  statement {
    sid       = "ReadAnalytics"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:Query"]
    resources = [local.table_arn["analytics"]]
  }
  statement {
    sid       = "ReportsAndSubscriptions"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"]
    resources = [local.table_arn["reports"]]
  }
  statement {
    sid       = "RequestReports"
    actions   = ["sqs:SendMessage"]
    resources = [module.queue["reports"].arn]
  }
  statement {
    # Presigned download URLs are signed with the function's role.
    sid       = "PresignReports"
    actions   = ["s3:GetObject"]
    resources = ["${module.bucket["reports"].arn}/reports/*"]
  }
  statement {
    # A SecureString under the AWS-managed key aws/ssm, whose key policy lets SSM decrypt for any
    # principal of the account allowed to read the parameter: no kms:Decrypt grant is needed.
    sid       = "ReadSecretUnsubscribeSigningKey"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.secret["unsubscribe_signing_key"].arn]
  }
  statement {
    # The confirmation e-mail of a new digest subscription (double opt-in).
    sid       = "SendConfirmations"
    actions   = ["ses:SendRawEmail"]
    resources = [aws_sesv2_email_identity.digest_sender.arn, aws_sesv2_configuration_set.digests.arn]
  }
}

data "aws_iam_policy_document" "function_orders" {
  statement {
    # UpdateItem: the counting transaction's Update actions; PutItem: the failure log, a
    # crossing's pending alert and the stock-in items (alone, or several in one transaction);
    # DeleteItem: that alert once sent; BatchWriteItem: order links and directory items
    # (immutable, put before counting); Query: a day's customer items (one partition per day,
    # read to place a late order's customer) and the open days' stock-in items.
    sid       = "CountOrders"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"]
    resources = [local.table_arn["analytics"]]
  }
  statement {
    sid       = "RaiseStockAlerts"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.this.arn]
  }
}

data "aws_iam_policy_document" "function_customers" {
  statement {
    # BatchWriteItem: the registry items of a batch's registrations; PutItem: the failure log.
    sid       = "Registrations"
    actions   = ["dynamodb:BatchWriteItem", "dynamodb:PutItem"]
    resources = [local.table_arn["analytics"]]
  }
}

data "aws_iam_policy_document" "function_inventory" {
  statement {
    # DeleteItem: a pending stock alert once sent; Query: the stock-in items not folded yet
    # (part of every exact read of on hand).
    sid       = "Stock"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"]
    resources = [local.table_arn["analytics"]]
  }
  statement {
    sid       = "RaiseStockAlerts"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.this.arn]
  }
}

data "aws_iam_policy_document" "function_lake" {
  statement {
    sid       = "WriteRawEvents"
    actions   = ["s3:PutObject"]
    resources = ["${module.bucket["lake"].arn}/events/*"]
  }
  statement {
    sid       = "FailureLog"
    actions   = ["dynamodb:PutItem"]
    resources = [local.table_arn["analytics"]]
  }
}

data "aws_iam_policy_document" "function_alert_feed" {
  statement {
    sid       = "AlertFeed"
    actions   = ["dynamodb:BatchWriteItem", "dynamodb:PutItem"]
    resources = [local.table_arn["analytics"]]
  }
}

data "aws_iam_policy_document" "function_jobs" {
  statement {
    # alert-sweep queries the pending stock alerts and deletes each once sent, settles the
    # on-hand inbox (UpdateItem) and moves an older release's pending alerts (PutItem);
    # segments and digests query day rollups; segments writes its snapshot (BatchWriteItem);
    # lake-compaction takes, renews and deletes its lease item (PutItem, UpdateItem, DeleteItem);
    # stock-fold queries a day's stock-in items, puts the facts (BatchWriteItem) and, in one
    # transaction per chunk, its fold marker (PutItem), the inbox ADD and the watermark's new
    # revision (UpdateItem), then moves its watermark (UpdateItem).
    sid       = "Analytics"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:PutItem"]
    resources = [local.table_arn["analytics"]]
  }
  statement {
    sid       = "ResendStockAlerts"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.this.arn]
  }
  statement {
    sid       = "LakeCompactionList"
    actions   = ["s3:ListBucket"]
    resources = [module.bucket["lake"].arn]
  }
  statement {
    # Reads the raw objects by arrival hour; reads and rewrites the Parquet files and its
    # watermark (compaction/state.json).
    sid     = "LakeCompactionObjects"
    actions = ["s3:GetObject", "s3:PutObject"]
    resources = [
      "${module.bucket["lake"].arn}/events/*",
      "${module.bucket["lake"].arn}/parquet/*",
      "${module.bucket["lake"].arn}/compaction/*",
    ]
  }
  statement {
    sid       = "DigestSubscriptions"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]
    resources = [local.table_arn["reports"]]
  }
  statement {
    # The digests' PDFs are put, never read back: the e-mails link to the API, which presigns.
    sid       = "DigestReports"
    actions   = ["s3:PutObject"]
    resources = ["${module.bucket["reports"].arn}/reports/*"]
  }
  statement {
    # SES authorises a send on the identity and on the configuration set it uses (the
    # identity's default one here).
    sid       = "SendDigests"
    actions   = ["ses:SendRawEmail"]
    resources = [aws_sesv2_email_identity.digest_sender.arn, aws_sesv2_configuration_set.digests.arn]
  }
  statement {
    # A SecureString under the AWS-managed key aws/ssm, whose key policy lets SSM decrypt for any
    # principal of the account allowed to read the parameter: no kms:Decrypt grant is needed.
    sid       = "ReadSecretUnsubscribeSigningKey"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.secret["unsubscribe_signing_key"].arn]
  }
}

data "aws_iam_policy_document" "function_reports" {
  statement {
    # PutItem: the failure log of its queue's messages (backend/handlers/_sqs.py).
    sid       = "ReadFiguresAndFailureLog"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem"]
    resources = [local.table_arn["analytics"]]
  }
  statement {
    sid       = "ReportStatus"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [local.table_arn["reports"]]
  }
  statement {
    sid       = "StorePdf"
    actions   = ["s3:PutObject"]
    resources = ["${module.bucket["reports"].arn}/reports/*"]
  }
}
