# storepulse on AWS. The names, queues, subscriptions, schedules and function settings below
# mirror infra/stack.json (what the local stack provisions); tests/infra checks that they agree.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition
  prefix     = var.name_prefix

  # S3 names are global: buckets carry the account id and the region after the local name.
  bucket_suffix = "-${local.account_id}-${local.region}"

  # One zip per function (make package-backend): each carries only what its handler imports.
  package_dir = abspath(startswith(var.lambda_package_dir, "/") ? var.lambda_package_dir : "${path.module}/${var.lambda_package_dir}")

  tables = {
    ingest = {
      name      = "storepulse-ingest"
      env       = "INGEST_TABLE"
      hash_key  = "event_id"
      range_key = null
      ttl       = null
    }
    analytics = {
      name      = "storepulse-analytics"
      env       = "ANALYTICS_TABLE"
      hash_key  = "pk"
      range_key = "sk"
      ttl       = "expires_at"
    }
    reports = {
      name      = "storepulse-reports"
      env       = "REPORTS_TABLE"
      hash_key  = "pk"
      range_key = "sk"
      ttl       = "expires_at"
    }
    dashboard_sessions = {
      name      = "storepulse-dashboard-sessions"
      env       = "DASH_SESSIONS_TABLE"
      hash_key  = "key"
      range_key = null
      ttl       = "expires_at"
    }
  }

  buckets = {
    lake = {
      name = "storepulse-lake"
      env  = "LAKE_BUCKET"
    }
    reports = {
      name = "storepulse-reports"
      env  = "REPORTS_BUCKET"
    }
  }

  topics = {
    events = {
      name = "storepulse-events"
      env  = "EVENTS_TOPIC_ARN"
    }
    alerts = {
      name = "storepulse-alerts"
      env  = "ALERTS_TOPIC_ARN"
    }
  }

  event_bus = {
    name = "storepulse"
    env  = "EVENT_BUS_NAME"
  }

  visibility_timeout_factor = 6

  # Each processor's queue. topic/filter_policy: its SNS subscription (raw message delivery,
  # filtered on the event_type message attribute); rule_target: fed by an EventBridge rule.
  queues = {
    orders = {
      name              = "storepulse-orders"
      function          = "orders"
      max_receive_count = 5
      topic             = "events"
      filter_policy     = { event_type = ["order.placed", "order.refunded"] }
      rule_target       = null
    }
    customers = {
      name              = "storepulse-customers"
      function          = "customers"
      max_receive_count = 5
      topic             = "events"
      filter_policy     = { event_type = ["customer.registered"] }
      rule_target       = null
    }
    inventory = {
      name              = "storepulse-inventory"
      function          = "inventory"
      max_receive_count = 5
      topic             = "events"
      filter_policy     = { event_type = ["product.upserted", "inventory.adjusted"] }
      rule_target       = null
    }
    lake = {
      name              = "storepulse-lake"
      function          = "lake"
      max_receive_count = 5
      topic             = "events"
      filter_policy     = null
      rule_target       = null
    }
    alert_feed = {
      name              = "storepulse-alert-feed"
      function          = "alert_feed"
      max_receive_count = 5
      topic             = null
      filter_policy     = null
      rule_target       = "storepulse-stock-alerts"
    }
    reports = {
      name              = "storepulse-reports"
      function          = "reports"
      max_receive_count = 5
      topic             = null
      filter_policy     = null
      rule_target       = null
    }
  }

  stock_alerts_rule = {
    name = "storepulse-stock-alerts"
    pattern = {
      source        = ["storepulse.inventory", "storepulse.insights"]
      "detail-type" = ["LowStock", "OutOfStock", "StockoutRisk", "SalesDrop", "SalesSpike", "RefundSpike"]
    }
  }

  # Every function; env lists the variables of its own on top of common_env. source: its
  # queue's event-source mapping.
  functions = {
    ingest = {
      handler = "backend.handlers.ingest.handler"
      timeout = 10
      memory  = 512
      env     = ["INGEST_TABLE", "EVENTS_TOPIC_ARN", "INGEST_KEY_SHA256", "READ_KEY_SHA256", "PII_HASH_KEY"]
      source  = null
    }
    connectors = {
      handler = "backend.handlers.connectors.handler"
      timeout = 10
      memory  = 512
      env     = ["INGEST_TABLE", "ANALYTICS_TABLE", "EVENTS_TOPIC_ARN", "PII_HASH_KEY", "STOREPULSE_SHOPIFY_SECRET", "STOREPULSE_WOOCOMMERCE_SECRET"]
      source  = null
    }
    api = {
      handler = "backend.handlers.api.handler"
      timeout = 10
      memory  = 512
      env     = ["ANALYTICS_TABLE", "READ_KEY_SHA256", "INGEST_KEY_SHA256", "REPORTS_TABLE", "REPORTS_BUCKET", "REPORTS_QUEUE_URL", "REPORT_URL_TTL", "UNSUBSCRIBE_SIGNING_KEY", "PUBLIC_API_URL", "DIGEST_SENDER", "DIGEST_TRANSPORT", "STORE_NAME", "STOREPULSE_DATA_DIR", "LEAD_TIME_DAYS"]
      source  = null
    }
    orders = {
      handler = "backend.handlers.orders.handler"
      timeout = 60
      memory  = 512
      env     = ["ANALYTICS_TABLE", "EVENT_BUS_NAME"]
      # At most 10 packets of at most 100 events (MAX_PACKET_EVENTS): 1,000 events a batch, and
      # up to 10 one-order webhook requests still counted together.
      source = { queue = "orders", batch_size = 10, batching_window_seconds = 1, maximum_concurrency = 2 }
    }
    customers = {
      handler = "backend.handlers.customers.handler"
      timeout = 30
      memory  = 256
      env     = ["ANALYTICS_TABLE"]
      source  = { queue = "customers", batch_size = 100, batching_window_seconds = 1, maximum_concurrency = 2 }
    }
    inventory = {
      handler = "backend.handlers.inventory.handler"
      timeout = 30
      memory  = 256
      env     = ["ANALYTICS_TABLE", "EVENT_BUS_NAME"]
      source  = { queue = "inventory", batch_size = 100, batching_window_seconds = 1, maximum_concurrency = 2 }
    }
    lake = {
      handler = "backend.handlers.lake.handler"
      timeout = 30
      memory  = 512
      env     = ["LAKE_BUCKET", "ANALYTICS_TABLE"]
      source  = { queue = "lake", batch_size = 2000, batching_window_seconds = 300, maximum_concurrency = 2 }
    }
    alert_feed = {
      handler = "backend.handlers.alert_feed.handler"
      timeout = 30
      memory  = 256
      env     = ["ANALYTICS_TABLE"]
      source  = { queue = "alert_feed", batch_size = 10, batching_window_seconds = 0, maximum_concurrency = 2 }
    }
    jobs = {
      handler = "backend.handlers.jobs.handler"
      timeout = 300
      memory  = 512
      env     = ["ANALYTICS_TABLE", "EVENT_BUS_NAME", "LAKE_BUCKET", "REPORTS_TABLE", "REPORTS_BUCKET", "UNSUBSCRIBE_SIGNING_KEY", "PUBLIC_API_URL", "DIGEST_SENDER", "DIGEST_TRANSPORT", "STORE_NAME", "STOREPULSE_DATA_DIR", "LEAD_TIME_DAYS"]
      source  = null
    }
    reports = {
      handler = "backend.handlers.reports.handler"
      timeout = 60
      memory  = 1024
      env     = ["ANALYTICS_TABLE", "REPORTS_TABLE", "REPORTS_BUCKET", "STORE_NAME", "LEAD_TIME_DAYS"]
      source  = { queue = "reports", batch_size = 1, batching_window_seconds = 0, maximum_concurrency = 2 }
    }
  }

  common_env = ["STORE_TIMEZONE", "STORE_CURRENCY", "POWERTOOLS_SERVICE_NAME", "POWERTOOLS_LOG_LEVEL"]

  # Jobs run by the jobs function with {"job": NAME}; cron expressions in the store's zone.
  schedules = {
    anomalies = {
      name       = "storepulse-anomalies"
      job        = "anomalies"
      expression = "cron(30 0 * * ? *)"
    }
    forecast = {
      name       = "storepulse-forecast"
      job        = "forecast"
      expression = "cron(45 0 * * ? *)"
    }
    alert_sweep = {
      name       = "storepulse-alert-sweep"
      job        = "alert-sweep"
      expression = "rate(15 minutes)"
    }
    segments = {
      name       = "storepulse-segments"
      job        = "segments"
      expression = "cron(30 2 * * ? *)"
    }
    lake_compaction = {
      name       = "storepulse-lake-compaction"
      job        = "lake-compaction"
      expression = "cron(15 1 * * ? *)"
    }
    rollups = {
      name       = "storepulse-rollups"
      job        = "rollups"
      expression = "cron(45 1 * * ? *)"
    }
    stock_fold = {
      name       = "storepulse-stock-fold"
      job        = "stock-fold"
      expression = "rate(1 hour)"
    }
    pairs = {
      name       = "storepulse-pairs"
      job        = "pairs"
      expression = "cron(0 2 * * ? *)"
    }
    digests = {
      name       = "storepulse-digests"
      job        = "digests"
      expression = "cron(0 7 * * ? *)"
    }
  }

  api_url = "https://${aws_api_gateway_rest_api.this.id}.execute-api.${local.region}.amazonaws.com/${var.api_stage_name}"

  # The value of each environment variable a function may be given. Secrets are given as
  # "ssm:<parameter name>", read at start (backend/settings.py), never as their value.
  env_values = {
    STORE_TIMEZONE                = var.store_timezone
    STORE_CURRENCY                = var.store_currency
    POWERTOOLS_LOG_LEVEL          = var.lambda_log_level
    INGEST_TABLE                  = aws_dynamodb_table.this["ingest"].name
    ANALYTICS_TABLE               = aws_dynamodb_table.this["analytics"].name
    REPORTS_TABLE                 = aws_dynamodb_table.this["reports"].name
    LAKE_BUCKET                   = module.bucket["lake"].name
    REPORTS_BUCKET                = module.bucket["reports"].name
    EVENTS_TOPIC_ARN              = aws_sns_topic.this["events"].arn
    ALERTS_TOPIC_ARN              = aws_sns_topic.this["alerts"].arn
    EVENT_BUS_NAME                = aws_cloudwatch_event_bus.this.name
    REPORTS_QUEUE_URL             = module.queue["reports"].url
    REPORT_URL_TTL                = tostring(var.report_url_ttl)
    PUBLIC_API_URL                = var.public_api_url != "" ? var.public_api_url : local.api_url
    DIGEST_SENDER                 = var.digest_sender
    DIGEST_TRANSPORT              = "ses"
    STORE_NAME                    = var.store_name
    LEAD_TIME_DAYS                = tostring(var.lead_time_days)
    INGEST_KEY_SHA256             = sha256(random_password.api_key["ingest"].result)
    READ_KEY_SHA256               = sha256(random_password.api_key["read"].result)
    PII_HASH_KEY                  = "ssm:${aws_ssm_parameter.secret["pii_hash_key"].name}"
    UNSUBSCRIBE_SIGNING_KEY       = "ssm:${aws_ssm_parameter.secret["unsubscribe_signing_key"].name}"
    STOREPULSE_SHOPIFY_SECRET     = "ssm:${aws_ssm_parameter.webhook_secret["shopify"].name}"
    STOREPULSE_WOOCOMMERCE_SECRET = "ssm:${aws_ssm_parameter.webhook_secret["woocommerce"].name}"
    STOREPULSE_DATA_DIR           = "/tmp" # only the local "outbox" digest transport writes there
  }
}
