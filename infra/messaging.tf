# SNS topics, SQS queues with their dead-letter queues, subscriptions, the EventBridge bus and
# the stock-alert rule.

resource "aws_sns_topic" "this" {
  for_each = local.topics
  #checkov:skip=CKV_AWS_26:storepulse-alerts is an EventBridge target, which cannot publish to a topic under the AWS-managed SNS key; events carry no clear PII (e-mails are hashed at ingest) and travel over TLS. A customer-managed key is the option (docs/deploy.md).

  name = "${local.prefix}${each.value.name}"
}

# Operations alarms (DLQ depth, function errors and throttles), apart from the store's stock
# alerts.
resource "aws_sns_topic" "ops" {
  #checkov:skip=CKV_AWS_26:CloudWatch alarms cannot publish to a topic under the AWS-managed SNS key; alarm messages hold resource names only.
  name = "${local.prefix}storepulse-ops"
}

data "aws_iam_policy_document" "ops_topic" {
  statement {
    sid       = "CloudWatchAlarms"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.ops.arn]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "ops" {
  arn    = aws_sns_topic.ops.arn
  policy = data.aws_iam_policy_document.ops_topic.json
}

resource "aws_sns_topic_subscription" "email" {
  for_each = var.alert_email == "" ? {} : {
    alerts = aws_sns_topic.this["alerts"].arn
    ops    = aws_sns_topic.ops.arn
  }

  topic_arn = each.value
  protocol  = "email"
  endpoint  = var.alert_email
}

module "queue" {
  source   = "./modules/queue"
  for_each = local.queues

  name              = "${local.prefix}${each.value.name}"
  max_receive_count = each.value.max_receive_count
  # AWS: at least six times the function's timeout, plus its batching window.
  visibility_timeout_seconds = (
    local.functions[each.value.function].timeout * local.visibility_timeout_factor
    + local.functions[each.value.function].source.batching_window_seconds
  )
  alarm_topic_arn = aws_sns_topic.ops.arn
}

resource "aws_sns_topic_subscription" "queue" {
  for_each = { for key, queue in local.queues : key => queue if queue.topic != null }

  topic_arn            = aws_sns_topic.this[each.value.topic].arn
  protocol             = "sqs"
  endpoint             = module.queue[each.key].arn
  raw_message_delivery = true
  filter_policy        = each.value.filter_policy == null ? null : jsonencode(each.value.filter_policy)
  filter_policy_scope  = each.value.filter_policy == null ? null : "MessageAttributes"
}

# Who may send to each queue: its topic, the stock-alert rule, or (reports) the functions that
# request a report, through their own roles.
data "aws_iam_policy_document" "queue" {
  for_each = { for key, queue in local.queues : key => queue if queue.topic != null || queue.rule_target != null }

  statement {
    sid       = "DeliverFromSource"
    actions   = ["sqs:SendMessage"]
    resources = [module.queue[each.key].arn]
    principals {
      type        = "Service"
      identifiers = each.value.topic != null ? ["sns.amazonaws.com"] : ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [each.value.topic != null ? aws_sns_topic.this[each.value.topic].arn : aws_cloudwatch_event_rule.stock_alerts.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "this" {
  for_each = data.aws_iam_policy_document.queue

  queue_url = module.queue[each.key].url
  policy    = each.value.json
}

resource "aws_cloudwatch_event_bus" "this" {
  name = "${local.prefix}${local.event_bus.name}"
}

resource "aws_cloudwatch_event_rule" "stock_alerts" {
  name           = "${local.prefix}${local.stock_alerts_rule.name}"
  description    = "A SKU crossed into low or out of stock: e-mail the store (SNS) and feed GET /v1/alerts (SQS)."
  event_bus_name = aws_cloudwatch_event_bus.this.name
  event_pattern  = jsonencode(local.stock_alerts_rule.pattern)
}

resource "aws_cloudwatch_event_target" "stock_alerts_sns" {
  rule           = aws_cloudwatch_event_rule.stock_alerts.name
  event_bus_name = aws_cloudwatch_event_bus.this.name
  target_id      = "storepulse-alerts"
  arn            = aws_sns_topic.this["alerts"].arn
}

resource "aws_cloudwatch_event_target" "stock_alerts_sqs" {
  rule           = aws_cloudwatch_event_rule.stock_alerts.name
  event_bus_name = aws_cloudwatch_event_bus.this.name
  target_id      = "storepulse-alert-feed"
  arn            = module.queue["alert_feed"].arn
}

data "aws_iam_policy_document" "alerts_topic" {
  statement {
    sid       = "StockAlertRule"
    actions   = ["sns:Publish"]
    resources = [aws_sns_topic.this["alerts"].arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.stock_alerts.arn]
    }
  }
}

resource "aws_sns_topic_policy" "alerts" {
  arn    = aws_sns_topic.this["alerts"].arn
  policy = data.aws_iam_policy_document.alerts_topic.json
}
