output "api_url" {
  description = "Base URL of the API (append /v1/...); STOREPULSE_API_URL of the dashboard and the simulator."
  value       = local.api_url
}

output "api_key_ids" {
  description = "API Gateway ids of the ingest and read keys (values: `aws apigateway get-api-key --api-key <id> --include-value`, or the SSM parameters in api_key_parameters)."
  value       = { for role, key in aws_api_gateway_api_key.this : role => key.id }
}

output "api_key_parameters" {
  description = "SSM SecureString parameters holding the key values."
  value       = { for role, parameter in aws_ssm_parameter.api_key : role => parameter.name }
}

output "buckets" {
  description = "Bucket names by role (LAKE_BUCKET, REPORTS_BUCKET, dashboard assets, Athena results, Zappa packages)."
  value = {
    lake             = module.bucket["lake"].name
    reports          = module.bucket["reports"].name
    dashboard_assets = module.dashboard_assets.name
    athena_results   = module.athena_results.name
    zappa            = module.zappa_bucket.name
  }
}

output "tables" {
  description = "DynamoDB table names by role."
  value       = { for key, table in aws_dynamodb_table.this : key => table.name }
}

output "functions" {
  description = "Lambda function names."
  value       = { for key, function in module.function : key => function.name }
}

output "cli_environment" {
  description = "What `storepulse` needs to talk to this deployment (STOREPULSE_TARGET=aws and the names whose bucket suffix the CLI cannot guess)."
  value = {
    STOREPULSE_TARGET      = "aws"
    STOREPULSE_NAME_PREFIX = local.prefix
    LAKE_BUCKET            = module.bucket["lake"].name
    REPORTS_BUCKET         = module.bucket["reports"].name
    STOREPULSE_API_URL     = local.api_url
  }
}

output "dashboard_assets_url" {
  description = "Where the dashboard's static assets are served (CloudFront)."
  value       = var.dashboard_domain != "" ? "https://${var.dashboard_domain}" : "https://${aws_cloudfront_distribution.dashboard_assets.domain_name}"
}

output "zappa_s3_bucket" {
  description = "s3_bucket of zappa_settings.json: where Zappa uploads the dashboard package."
  value       = module.zappa_bucket.name
}

output "zappa_role_name" {
  description = "role_name of zappa_settings.json (with manage_roles false)."
  value       = aws_iam_role.zappa.name
}

output "zappa_role_arn" {
  description = "role_arn of zappa_settings.json."
  value       = aws_iam_role.zappa.arn
}

output "zappa_aws_region" {
  description = "aws_region of zappa_settings.json."
  value       = local.region
}

output "zappa_environment" {
  description = "aws_environment_variables of zappa_settings.json: the API the dashboard reads, its read key, its sign-in and session secret (the last two as SSM parameter names, read at start)."
  sensitive   = true
  value = {
    STOREPULSE_API_URL            = local.api_url
    STOREPULSE_READ_KEY           = "ssm:${aws_ssm_parameter.api_key["read"].name}"
    STOREPULSE_DASH_USER          = "storepulse"
    STOREPULSE_DASH_PASSWORD_HASH = "ssm:${aws_ssm_parameter.dashboard["password-hash"].name}"
    STOREPULSE_DASH_SECRET        = "ssm:${aws_ssm_parameter.dashboard["session-secret"].name}"
    DASH_SESSIONS_TABLE           = aws_dynamodb_table.this["dashboard_sessions"].name
    STOREPULSE_ASSETS_URL         = var.dashboard_domain != "" ? "https://${var.dashboard_domain}" : "https://${aws_cloudfront_distribution.dashboard_assets.domain_name}"
    STORE_TIMEZONE                = var.store_timezone
    STORE_CURRENCY                = var.store_currency
  }
}

output "ops_topic_arn" {
  description = "SNS topic of the operations alarms."
  value       = aws_sns_topic.ops.arn
}

output "athena_workgroup" {
  description = "Athena workgroup over the Glue database storepulse_lake."
  value       = aws_athena_workgroup.lake.name
}

output "cloudwatch_dashboard" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "webhook_urls" {
  description = "Register these as the store's webhook URLs (docs/connectors.md); no API key, the HMAC signature is the credential."
  value = {
    shopify     = "${local.api_url}/v1/connectors/shopify"
    woocommerce = "${local.api_url}/v1/connectors/woocommerce"
  }
}

output "webhook_secret_parameters" {
  description = "The SSM parameters holding the webhook secrets (WooCommerce: paste its value into the webhook; Shopify: put the app's secret into it)."
  value       = { for name, parameter in aws_ssm_parameter.webhook_secret : name => parameter.name }
}
