# The HTTP API: a REST API whose routes proxy to two functions. POST /v1/events goes to the
# ingest function, every other /v1 route to the read API function (which answers 404 with the
# contract's error shape for routes it does not know).
#
# Keys: API Gateway checks x-api-key against its two keys (one usage plan each, for throttling),
# then the function checks the same header against the SHA-256 digest of its role's key
# (INGEST_KEY_SHA256 / READ_KEY_SHA256). The gateway cannot tell routes apart by key (a usage
# plan covers the whole stage), so which key may call which route is the application's rule:
# the read key cannot ingest, the ingest key cannot read. Which routes need a key at all is the
# route table below, the same as infra/stack.json's "routes" that the local HTTP front follows
# (devstack/gateway.py; tests/infra checks they agree): /v1/health, /v1/unsubscribe (GET and
# the RFC 8058 one-click POST), /v1/confirm (double opt-in: GET shows a page, POST confirms)
# and a digest's report link /v1/reports/{report_id}/download (?token=) need none, their signed
# token being the credential.

resource "aws_api_gateway_rest_api" "this" {
  name           = "${local.prefix}storepulse"
  description    = "storepulse ingest and read API"
  api_key_source = "HEADER"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_resource" "v1" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "v1"
}

locals {
  # path under /v1 -> (methods, function, key required); the most specific path wins.
  routes = {
    events      = { path = "events", methods = ["POST"], function = "ingest", key = true }
    shopify     = { path = "connectors/shopify", methods = ["POST"], function = "connectors", key = false }
    woocommerce = { path = "connectors/woocommerce", methods = ["POST"], function = "connectors", key = false }
    health      = { path = "health", methods = ["GET"], function = "api", key = false }
    unsubscribe = { path = "unsubscribe", methods = ["GET", "POST"], function = "api", key = false }
    confirm     = { path = "confirm", methods = ["GET", "POST"], function = "api", key = false }
    reports     = { path = "reports", methods = ["ANY"], function = "api", key = true }
    report      = { path = "reports/{report_id}", methods = ["ANY"], function = "api", key = true }
    download    = { path = "reports/{report_id}/download", methods = ["GET"], function = "api", key = false }
    docs        = { path = "docs", methods = ["GET"], function = "api", key = false }
    docs_assets = { path = "docs/{proxy+}", methods = ["GET"], function = "api", key = false }
    read        = { path = "{proxy+}", methods = ["ANY"], function = "api", key = true }
  }

  # One method per route and HTTP method, and every resource of the tree (a path's prefixes too).
  route_methods = merge([
    for name, route in local.routes : {
      for method in route.methods : "${name}-${method}" => merge(route, { method = method })
    }
  ]...)
  route_paths = toset(flatten([
    for route in local.routes : [
      for depth in range(length(split("/", route.path))) : join("/", slice(split("/", route.path), 0, depth + 1))
    ]
  ]))
  route_resource_ids = merge(
    { for path, resource in aws_api_gateway_resource.depth1 : path => resource.id },
    { for path, resource in aws_api_gateway_resource.depth2 : path => resource.id },
    { for path, resource in aws_api_gateway_resource.depth3 : path => resource.id },
  )
}

resource "aws_api_gateway_resource" "depth1" {
  for_each = { for path in local.route_paths : path => path if length(split("/", path)) == 1 }

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.v1.id
  path_part   = each.value
}

resource "aws_api_gateway_resource" "depth2" {
  for_each = { for path in local.route_paths : path => split("/", path) if length(split("/", path)) == 2 }

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.depth1[each.value[0]].id
  path_part   = each.value[1]
}

resource "aws_api_gateway_resource" "depth3" {
  for_each = { for path in local.route_paths : path => split("/", path) if length(split("/", path)) == 3 }

  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.depth2[join("/", slice(each.value, 0, 2))].id
  path_part   = each.value[2]
}

resource "aws_api_gateway_method" "route" {
  for_each = local.route_methods
  #checkov:skip=CKV_AWS_59:Keys are API Gateway API keys (usage plans) checked again by the function against their digests; /v1/health, /v1/unsubscribe, the report link (a signed token) and the store webhooks (an HMAC of the body) are public by contract.
  #checkov:skip=CKV2_AWS_53:The functions validate every request with pydantic models (extra fields forbidden) and answer the contract's error shape; a gateway validator would answer in another shape.

  rest_api_id      = aws_api_gateway_rest_api.this.id
  resource_id      = local.route_resource_ids[each.value.path]
  http_method      = each.value.method
  authorization    = "NONE"
  api_key_required = each.value.key
}

resource "aws_api_gateway_integration" "route" {
  for_each = local.route_methods

  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = local.route_resource_ids[each.value.path]
  http_method             = aws_api_gateway_method.route[each.key].http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = module.function[each.value.function].invoke_arn
}

resource "aws_lambda_permission" "api" {
  for_each = toset(["ingest", "connectors", "api"])

  statement_id  = "ApiGatewayInvoke"
  action        = "lambda:InvokeFunction"
  function_name = module.function[each.key].name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/*/*"
}

# Gateway refusals in the contract's error shape and status codes.
locals {
  gateway_responses = {
    INVALID_API_KEY              = { status = "401", code = "unauthorized", message = "x-api-key is missing or not a valid key" }
    MISSING_AUTHENTICATION_TOKEN = { status = "404", code = "not_found", message = "no such route" }
    THROTTLED                    = { status = "429", code = "throttled", message = "too many requests for this key; retry later" }
    QUOTA_EXCEEDED               = { status = "429", code = "quota_exceeded", message = "this key's quota is used up" }
    REQUEST_TOO_LARGE            = { status = "413", code = "too_large", message = "the body is larger than the API accepts" }
    DEFAULT_5XX                  = { status = "503", code = "unavailable", message = "the service is unavailable; retry later" }
  }
}

resource "aws_api_gateway_gateway_response" "this" {
  for_each = local.gateway_responses

  rest_api_id   = aws_api_gateway_rest_api.this.id
  response_type = each.key
  status_code   = each.value.status
  response_templates = {
    "application/json" = jsonencode({ error = { code = each.value.code, message = each.value.message, details = [] } })
  }
}

resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id

  triggers = {
    redeployment = sha1(jsonencode([
      aws_api_gateway_resource.depth1,
      aws_api_gateway_resource.depth2,
      aws_api_gateway_resource.depth3,
      aws_api_gateway_method.route,
      aws_api_gateway_integration.route,
      aws_api_gateway_gateway_response.this,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_cloudwatch_log_group" "api_access" {
  #checkov:skip=CKV_AWS_158:Encrypted by CloudWatch Logs' own key; a customer-managed KMS key is optional (docs/deploy.md).
  name              = "/aws/apigateway/${local.prefix}storepulse-access"
  retention_in_days = var.log_retention_days
}

resource "aws_api_gateway_stage" "this" {
  #checkov:skip=CKV_AWS_120:Responses depend on the caller's key and on fresh data; caching would serve one key's answer to another.
  #checkov:skip=CKV2_AWS_29:A WAF web ACL costs $5/month plus rules and requests; usage-plan throttling and keys bound the traffic. Add one with aws_wafv2_web_acl_association when needed.
  #checkov:skip=CKV2_AWS_51:Clients are store connectors and the dashboard, authenticated by API keys; mutual TLS needs a custom domain and a client PKI.
  deployment_id        = aws_api_gateway_deployment.this.id
  rest_api_id          = aws_api_gateway_rest_api.this.id
  stage_name           = var.api_stage_name
  xray_tracing_enabled = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    # No API key and no body in the access log: the caller is identified by the key's id.
    format = jsonencode({
      requestId      = "$context.requestId"
      ip             = "$context.identity.sourceIp"
      requestTime    = "$context.requestTime"
      httpMethod     = "$context.httpMethod"
      resourcePath   = "$context.resourcePath"
      status         = "$context.status"
      responseLength = "$context.responseLength"
      apiKeyId       = "$context.identity.apiKeyId"
      latencyMs      = "$context.responseLatency"
    })
  }

  depends_on = [aws_api_gateway_account.this]
}

resource "aws_api_gateway_method_settings" "all" {
  #checkov:skip=CKV_AWS_225:Caching is off on purpose: responses depend on the caller's key and on fresh data.
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    logging_level          = "ERROR"
    data_trace_enabled     = false
    throttling_rate_limit  = max(var.ingest_throttle.rate_limit, var.read_throttle.rate_limit) * 2
    throttling_burst_limit = max(var.ingest_throttle.burst_limit, var.read_throttle.burst_limit) * 2
    caching_enabled        = false
  }
}

# API Gateway writes its logs with a role set account-wide (one per account and region: a
# second stack in the same account shares it).
data "aws_iam_policy_document" "apigateway_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "apigateway_logs" {
  name                 = "${local.prefix}storepulse-apigateway-logs"
  description          = "API Gateway's account-wide role for writing execution and access logs."
  assume_role_policy   = data.aws_iam_policy_document.apigateway_assume.json
  permissions_boundary = var.permissions_boundary_arn
}

resource "aws_iam_role_policy_attachment" "apigateway_logs" {
  role       = aws_iam_role.apigateway_logs.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  cloudwatch_role_arn = aws_iam_role.apigateway_logs.arn
}

resource "aws_api_gateway_api_key" "this" {
  for_each = random_password.api_key

  name        = "${local.prefix}storepulse-${each.key}"
  description = "The ${each.key} key; its SHA-256 is ${upper(each.key)}_KEY_SHA256 of the function serving the role."
  value       = each.value.result
  enabled     = true
}

resource "aws_api_gateway_usage_plan" "this" {
  for_each = {
    ingest = var.ingest_throttle
    read   = var.read_throttle
  }

  name        = "${local.prefix}storepulse-${each.key}"
  description = "Throttling of the ${each.key} key."

  api_stages {
    api_id = aws_api_gateway_rest_api.this.id
    stage  = aws_api_gateway_stage.this.stage_name
  }

  throttle_settings {
    rate_limit  = each.value.rate_limit
    burst_limit = each.value.burst_limit
  }
}

resource "aws_api_gateway_usage_plan_key" "this" {
  for_each = aws_api_gateway_usage_plan.this

  key_id        = aws_api_gateway_api_key.this[each.key].id
  key_type      = "API_KEY"
  usage_plan_id = each.value.id
}
