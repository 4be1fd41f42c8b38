# One CloudWatch dashboard: the API, the functions, the queues. The alarms live with what they
# watch (modules/function, modules/queue, schedules.tf); these watch the API.

resource "aws_cloudwatch_metric_alarm" "api_5xx" {
  alarm_name          = "${local.prefix}storepulse-api-5xx"
  alarm_description   = "The API answered 5xx: a function failed or timed out."
  namespace           = "AWS/ApiGateway"
  metric_name         = "5XXError"
  dimensions          = { ApiName = aws_api_gateway_rest_api.this.name, Stage = aws_api_gateway_stage.this.stage_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.ops.arn]
}

resource "aws_cloudwatch_metric_alarm" "lake_queue_age" {
  alarm_name          = "${local.prefix}storepulse-lake-backlog"
  alarm_description   = "The lake queue's oldest message is over 30 minutes old: the lake function is not keeping up."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = module.queue["lake"].name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  threshold           = 1800
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.ops.arn]
}

locals {
  function_names = [for key in sort(keys(local.functions)) : module.function[key].name]
  queue_names    = [for key in sort(keys(local.queues)) : module.queue[key].name]
}

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = "${local.prefix}storepulse"
  dashboard_body = jsonencode({
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title  = "API requests and errors"
          region = local.region
          stat   = "Sum"
          period = 300
          metrics = [
            ["AWS/ApiGateway", "Count", "ApiName", aws_api_gateway_rest_api.this.name, "Stage", var.api_stage_name],
            [".", "4XXError", ".", ".", ".", "."],
            [".", "5XXError", ".", ".", ".", "."],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title   = "API latency (p95, ms)"
          region  = local.region
          stat    = "p95"
          period  = 300
          metrics = [["AWS/ApiGateway", "Latency", "ApiName", aws_api_gateway_rest_api.this.name, "Stage", var.api_stage_name]]
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title   = "Function errors"
          region  = local.region
          stat    = "Sum"
          period  = 300
          metrics = [for name in local.function_names : ["AWS/Lambda", "Errors", "FunctionName", name]]
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title   = "Function duration (p95, ms)"
          region  = local.region
          stat    = "p95"
          period  = 300
          metrics = [for name in local.function_names : ["AWS/Lambda", "Duration", "FunctionName", name]]
        }
      },
      {
        type = "metric", x = 0, y = 12, width = 12, height = 6
        properties = {
          title   = "Queue age of oldest message (s)"
          region  = local.region
          stat    = "Maximum"
          period  = 300
          metrics = [for name in local.queue_names : ["AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", name]]
        }
      },
      {
        type = "metric", x = 12, y = 12, width = 12, height = 6
        properties = {
          title   = "Dead-lettered messages"
          region  = local.region
          stat    = "Maximum"
          period  = 300
          metrics = [for name in local.queue_names : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "${name}-dlq"]]
        }
      },
    ]
  })
}
