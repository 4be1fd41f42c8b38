# EventBridge Scheduler runs the jobs function with {"job": NAME}; cron expressions are read in
# the store's time zone (so "07:00" is the store's morning, daylight saving included).

resource "aws_scheduler_schedule_group" "this" {
  name = "${local.prefix}storepulse"
}

# A schedule whose invocation fails after retries leaves its input here.
resource "aws_sqs_queue" "schedules_dlq" {
  name                      = "${local.prefix}storepulse-schedules-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

resource "aws_cloudwatch_metric_alarm" "schedules_dlq_depth" {
  alarm_name          = "${local.prefix}storepulse-schedules-dlq-depth"
  alarm_description   = "A scheduled job could not be started; its input is in the schedules DLQ."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.schedules_dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.ops.arn]
}

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name                 = "${local.prefix}storepulse-scheduler"
  description          = "EventBridge Scheduler: invokes the jobs function, dead-letters what it cannot."
  assume_role_policy   = data.aws_iam_policy_document.scheduler_assume.json
  permissions_boundary = var.permissions_boundary_arn
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "RunJobs"
    actions   = ["lambda:InvokeFunction"]
    resources = [module.function["jobs"].arn]
  }
  statement {
    sid       = "DeadLetter"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.schedules_dlq.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "run-jobs"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "job" {
  for_each = local.schedules
  #checkov:skip=CKV_AWS_297:The schedule's input is {"job": NAME}, no data; Scheduler encrypts it with an AWS-owned key.

  name                         = "${local.prefix}${each.value.name}"
  group_name                   = aws_scheduler_schedule_group.this.name
  description                  = "Runs the ${each.value.job} job."
  schedule_expression          = each.value.expression
  schedule_expression_timezone = var.store_timezone

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = module.function["jobs"].arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ job = each.value.job })

    retry_policy {
      maximum_retry_attempts       = 2
      maximum_event_age_in_seconds = 3600
    }

    dead_letter_config {
      arn = aws_sqs_queue.schedules_dlq.arn
    }
  }
}
