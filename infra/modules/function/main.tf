# One Lambda function with everything it owns: its role (only what its code calls), its log
# group, its error and throttle alarms and, for a queue consumer, the event-source mapping with
# partial batch responses.

data "aws_iam_policy_document" "assume" {
  statement {
    sid     = "LambdaAssumes"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = "${var.name}-function"
  description          = "Runs the ${var.name} function: its logs, its traces and what its code calls."
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.permissions_boundary_arn
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_158:Encrypted by CloudWatch Logs' own key; a customer-managed KMS key ($1/month + requests) is optional, see docs/deploy.md.
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
}

data "aws_iam_policy_document" "runtime" {
  source_policy_documents = [var.policy_json]

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
  }

  statement {
    # X-Ray's write actions have no resource-level permissions.
    sid       = "Traces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.queue_arn == null ? [] : [var.queue_arn]
    content {
      sid       = "ConsumeQueue"
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name   = "runtime"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.runtime.json
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:Queue consumers dead-letter on their SQS queue's redrive policy; the jobs function is invoked by Scheduler, whose target has its own dead-letter queue.
  #checkov:skip=CKV_AWS_117:No VPC: the functions reach only AWS service endpoints; a VPC would need NAT gateways or endpoints (about $30+/month) for no private resource.
  #checkov:skip=CKV_AWS_173:Environment encrypted at rest with Lambda's AWS-managed key; it holds no secret: secrets are read from SSM SecureString parameters it names (docs/deploy.md).
  #checkov:skip=CKV_AWS_272:Code signing needs AWS Signer profiles in the pipeline; the package is built and deployed by the OIDC-authenticated workflow only.
  #checkov:skip=CKV_AWS_115:Concurrency is bounded by the queue mappings' batching and the API's usage-plan throttling; reserving it would take from a new account's small unreserved pool.
  function_name    = var.name
  description      = "storepulse ${var.handler}"
  role             = aws_iam_role.this.arn
  handler          = var.handler
  runtime          = "python3.11"
  architectures    = ["arm64"]
  filename         = var.package_path
  source_code_hash = filebase64sha256(var.package_path)
  timeout          = var.timeout
  memory_size      = var.memory

  environment {
    variables = var.environment
  }

  tracing_config {
    mode = "Active"
  }

  # JSON: the function's own lines (Powertools' JSON, backend.logs) stay one object each, and
  # Lambda's platform lines are JSON too, so Logs Insights reads event_id and correlation_id as
  # fields (docs/operations.md). The application level is what Powertools reads
  # (AWS_LAMBDA_LOG_LEVEL), the same as POWERTOOLS_LOG_LEVEL; INFO keeps the one line per packet
  # that follows an event. Lambda spells WARNING as WARN.
  logging_config {
    log_format            = "JSON"
    application_log_level = var.log_level == "WARNING" ? "WARN" : var.log_level
    system_log_level      = "WARN"
    log_group             = aws_cloudwatch_log_group.this.name
  }

  depends_on = [aws_iam_role_policy.this]
}

resource "aws_lambda_event_source_mapping" "this" {
  count = var.queue_arn == null ? 0 : 1

  event_source_arn                   = var.queue_arn
  function_name                      = aws_lambda_function.this.arn
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.maximum_concurrency
  }
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${var.name}-errors"
  alarm_description   = "The ${var.name} function failed (a batch item, a request or a job); see its log group."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
  ok_actions          = [var.alarm_topic_arn]
}

resource "aws_cloudwatch_metric_alarm" "throttles" {
  alarm_name          = "${var.name}-throttles"
  alarm_description   = "The ${var.name} function was throttled: the account's concurrency is exhausted."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [var.alarm_topic_arn]
}
