# Every Lambda function, each from its own package built by `make package-backend`
# (build/lambda/<function>.zip: its handler's modules and only the requirements they import).

module "function" {
  source   = "./modules/function"
  for_each = local.functions

  name         = "${local.prefix}storepulse-${replace(each.key, "_", "-")}"
  handler      = each.value.handler
  package_path = "${local.package_dir}/${each.key}.zip"
  timeout      = each.value.timeout
  memory       = each.value.memory
  policy_json  = local.function_policies[each.key]

  permissions_boundary_arn = var.permissions_boundary_arn

  environment = merge(
    { for name in each.value.env : name => local.env_values[name] },
    { for name in local.common_env : name => lookup(local.env_values, name, "storepulse-${replace(each.key, "_", "-")}") },
  )

  queue_arn               = each.value.source == null ? null : module.queue[each.value.source.queue].arn
  batch_size              = each.value.source == null ? 10 : each.value.source.batch_size
  batching_window_seconds = each.value.source == null ? 0 : each.value.source.batching_window_seconds
  maximum_concurrency     = each.value.source == null ? 2 : each.value.source.maximum_concurrency

  log_retention_days = var.log_retention_days
  log_level          = var.lambda_log_level
  alarm_topic_arn    = aws_sns_topic.ops.arn
}
