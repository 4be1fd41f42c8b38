# The Dash dashboard runs on Lambda through Zappa (`zappa update <stage>`), outside Terraform.
# Terraform makes what Zappa needs and outputs it (zappa_* outputs, docs/deploy.md): the bucket
# Zappa uploads its package to, the role the dashboard function runs as, and its environment.
# The dashboard's static assets are served from their own bucket through CloudFront with origin
# access control.

resource "random_password" "dashboard" {
  length  = 24
  special = false
}

resource "aws_ssm_parameter" "dashboard_password" {
  #checkov:skip=CKV_AWS_337:Encrypted with the AWS-managed SSM key; a customer-managed key adds $1/month (docs/deploy.md).
  name        = "/${local.prefix}storepulse/dashboard-password"
  description = "Sign-in password of the dashboard (user: storepulse), for the operator; the dashboard reads only its hash."
  type        = "SecureString"
  value       = random_password.dashboard.result
}

# What the dashboard function reads at start (its environment names the parameters, "ssm:<name>"):
# the key that signs session cookies, the same in every container so a session survives a cold
# start, and the password as a salted SHA-256 (dashboard/settings.py password_matches).
resource "random_password" "dashboard_session" {
  length  = 64
  special = false
}

resource "random_id" "dashboard_salt" {
  byte_length = 16
}

locals {
  dashboard_secrets = {
    session-secret = random_password.dashboard_session.result
    password-hash  = format("sha256$%s$%s", random_id.dashboard_salt.hex, sha256("${random_id.dashboard_salt.hex}${random_password.dashboard.result}"))
  }
}

resource "aws_ssm_parameter" "dashboard" {
  for_each = toset(keys(local.dashboard_secrets))
  #checkov:skip=CKV_AWS_337:Encrypted with the AWS-managed SSM key; a customer-managed key adds $1/month (docs/deploy.md).

  name        = "/${local.prefix}storepulse/dashboard/${each.key}"
  description = "The dashboard's ${each.key}, read by its Lambda at start (STOREPULSE_DASH_* = ssm:<this name>)."
  type        = "SecureString"
  value       = local.dashboard_secrets[each.key]
}

module "zappa_bucket" {
  source = "./modules/bucket"

  name            = "${local.prefix}storepulse-zappa${local.bucket_suffix}"
  versioning      = false
  force_destroy   = true
  lifecycle_rules = [{ id = "packages-expire", prefix = "", expiration_days = 30, transitions = [] }]
}

data "aws_iam_policy_document" "zappa_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com", "apigateway.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "zappa" {
  name                 = "${local.prefix}storepulse-dashboard"
  description          = "The dashboard's Lambda (Zappa, manage_roles false): logs, traces, its own secrets and its sign-in table; it reads storepulse through the HTTP API."
  assume_role_policy   = data.aws_iam_policy_document.zappa_assume.json
  permissions_boundary = var.permissions_boundary_arn
}

data "aws_iam_policy_document" "zappa" {
  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/storepulse-dashboard-*"]
  }
  statement {
    # Sign-outs and wrong passwords, shared by every container (dashboard/sessions.py).
    sid       = "SignInState"
    actions   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.this["dashboard_sessions"].arn]
  }
  statement {
    # X-Ray's write actions have no resource-level permissions.
    sid       = "Traces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
  statement {
    # SecureStrings under the AWS-managed key aws/ssm: its key policy lets SSM decrypt for any
    # principal of the account allowed to read the parameter, so no kms:Decrypt is granted.
    sid       = "ReadSecrets"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.dashboard["password-hash"].arn, aws_ssm_parameter.dashboard["session-secret"].arn, aws_ssm_parameter.api_key["read"].arn]
  }
}

resource "aws_iam_role_policy" "zappa" {
  name   = "dashboard"
  role   = aws_iam_role.zappa.id
  policy = data.aws_iam_policy_document.zappa.json
}

module "dashboard_assets" {
  source = "./modules/bucket"

  name              = "${local.prefix}storepulse-dashboard-assets${local.bucket_suffix}"
  versioning        = true
  noncurrent_days   = 7
  extra_policy_json = data.aws_iam_policy_document.dashboard_assets.json
}

data "aws_iam_policy_document" "dashboard_assets" {
  statement {
    sid       = "CloudFrontReads"
    actions   = ["s3:GetObject"]
    resources = ["arn:${local.partition}:s3:::${local.prefix}storepulse-dashboard-assets${local.bucket_suffix}/*"]
    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.dashboard_assets.arn]
    }
  }
}

resource "aws_cloudfront_origin_access_control" "dashboard_assets" {
  name                              = "${local.prefix}storepulse-dashboard-assets"
  description                       = "CloudFront signs its requests to the private assets bucket."
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

data "aws_cloudfront_cache_policy" "optimized" {
  name = "Managed-CachingOptimized"
}

resource "aws_cloudfront_response_headers_policy" "dashboard_assets" {
  name    = "${local.prefix}storepulse-dashboard-assets"
  comment = "Security headers on the dashboard's static assets."

  security_headers_config {
    content_type_options {
      override = true
    }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
    referrer_policy {
      referrer_policy = "strict-origin-when-cross-origin"
      override        = true
    }
    strict_transport_security {
      access_control_max_age_sec = 31536000
      include_subdomains         = true
      preload                    = true
      override                   = true
    }
  }
}

resource "aws_cloudfront_distribution" "dashboard_assets" {
  #checkov:skip=CKV_AWS_68:A WAF web ACL costs $5/month plus rules; the distribution serves public, static, versioned CSS/JS only.
  #checkov:skip=CKV2_AWS_47:Same: no WAF in front of static assets (no server code behind them).
  #checkov:skip=CKV_AWS_86:Standard logs need another bucket with ACLs enabled; CloudFront's metrics are kept.
  #checkov:skip=CKV_AWS_310:One origin: the assets bucket; a failover origin would need a replicated bucket.
  #checkov:skip=CKV_AWS_374:The store's staff may sign in from anywhere; no geographic restriction.
  #checkov:skip=CKV_AWS_174:Without a custom domain CloudFront's default certificate is used, whose minimum protocol cannot be set; with dashboard_domain the policy is TLSv1.2_2021.
  #checkov:skip=CKV2_AWS_42:A custom certificate needs a domain; dashboard_domain and dashboard_certificate_arn set one.
  enabled             = true
  comment             = "storepulse dashboard static assets"
  price_class         = "PriceClass_100"
  http_version        = "http2and3"
  is_ipv6_enabled     = true
  aliases             = var.dashboard_domain == "" ? [] : [var.dashboard_domain]
  default_root_object = "index.html"

  origin {
    origin_id                = "assets"
    domain_name              = module.dashboard_assets.regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.dashboard_assets.id
  }

  default_cache_behavior {
    target_origin_id           = "assets"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = data.aws_cloudfront_cache_policy.optimized.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.dashboard_assets.id
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = var.dashboard_domain == ""
    acm_certificate_arn            = var.dashboard_domain == "" ? null : var.dashboard_certificate_arn
    ssl_support_method             = var.dashboard_domain == "" ? null : "sni-only"
    minimum_protocol_version       = var.dashboard_domain == "" ? "TLSv1" : "TLSv1.2_2021"
  }
}
