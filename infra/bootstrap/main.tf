data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account = data.aws_caller_identity.current.account_id
  arn     = "arn:${data.aws_partition.current.partition}"
  name    = "${var.name_prefix}storepulse"
}

resource "aws_s3_bucket" "state" {
  #checkov:skip=CKV_AWS_18:The state bucket's access is the deploy role's and the administrator's; CloudTrail records it.
  #checkov:skip=CKV_AWS_144:State is small and versioned; replication to another region is an option for stricter recovery needs.
  #checkov:skip=CKV_AWS_145:SSE-S3 (free); a customer-managed key adds $1/month.
  #checkov:skip=CKV2_AWS_62:Nothing consumes state-object events.
  bucket = "${local.name}-tfstate-${local.account}-${data.aws_region.current.name}"
}

resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id
  rule {
    id     = "old-state-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 90
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

data "aws_iam_policy_document" "state_tls" {
  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = data.aws_iam_policy_document.state_tls.json
}

resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 0 : 1
  url   = "https://token.actions.githubusercontent.com"
}

locals {
  oidc_provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn
}

# Only this repository's main branch (apply) and its pull requests (plan) get the role;
# the `production` environment's reviewers gate the apply (.github/workflows/deploy.yml).
data "aws_iam_policy_document" "trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "token.actions.githubusercontent.com:sub"
      values = [
        "repo:${var.github_repository}:environment:production",
        "repo:${var.github_repository}:pull_request",
      ]
    }
  }
}

resource "aws_iam_role" "deploy" {
  name                 = "${local.name}-deploy"
  description          = "GitHub Actions (OIDC) plans and applies the storepulse stack and updates the dashboard with Zappa."
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = 3600
}

# What applying infra/ takes: the stack's services, on resources named after the stack where
# the service names its resources; reads everywhere (terraform plan refreshes everything).
data "aws_iam_policy_document" "deploy" {
  #checkov:skip=CKV_AWS_356:API Gateway, CloudFront, X-Ray and the read-only describes have no name-scoped ARNs to restrict them to.
  #checkov:skip=CKV_AWS_111:Creating the stack writes to API Gateway and CloudFront, whose ARNs carry generated ids, not names.
  #checkov:skip=CKV_AWS_109:The role manages the stack's own roles and policies (iam:*Role* on <prefix>storepulse-* only) and nothing else's.
  #checkov:skip=CKV_AWS_108:Terraform refreshes every resource of the stack (Get/List/Describe) before planning.
  statement {
    sid       = "StateBucket"
    actions   = ["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]
  }
  statement {
    sid = "ReadEverythingForPlans"
    actions = [
      "apigateway:GET", "cloudfront:Get*", "cloudfront:List*", "cloudwatch:Describe*", "cloudwatch:Get*",
      "cloudwatch:List*", "dynamodb:Describe*", "dynamodb:List*", "events:Describe*", "events:List*",
      "glue:Get*", "athena:Get*", "athena:List*", "iam:Get*", "iam:List*", "lambda:Get*", "lambda:List*",
      "logs:Describe*", "logs:List*", "s3:GetBucket*", "s3:GetLifecycleConfiguration", "s3:GetEncryptionConfiguration",
      "s3:ListAllMyBuckets", "scheduler:Get*", "scheduler:List*", "ses:Get*", "ses:List*", "sns:Get*", "sns:List*",
      "sqs:Get*", "sqs:List*", "ssm:Describe*", "ssm:GetParameter*", "ssm:ListTagsForResource", "sts:GetCallerIdentity",
    ]
    resources = ["*"]
  }
  statement {
    sid     = "StackResourcesByName"
    actions = ["dynamodb:*", "sqs:*", "sns:*", "lambda:*", "s3:*", "events:*", "scheduler:*", "logs:*", "ssm:*", "glue:*", "athena:*", "cloudwatch:*"]
    resources = [
      "${local.arn}:dynamodb:*:${local.account}:table/${local.name}-*",
      "${local.arn}:sqs:*:${local.account}:${local.name}-*",
      "${local.arn}:sns:*:${local.account}:${local.name}-*",
      "${local.arn}:lambda:*:${local.account}:function:${local.name}-*",
      "${local.arn}:lambda:*:${local.account}:event-source-mapping:*",
      "${local.arn}:s3:::${local.name}-*",
      "${local.arn}:s3:::${local.name}-*/*",
      "${local.arn}:events:*:${local.account}:event-bus/${local.name}",
      "${local.arn}:events:*:${local.account}:rule/${local.name}/*",
      "${local.arn}:scheduler:*:${local.account}:schedule/${local.name}/*",
      "${local.arn}:scheduler:*:${local.account}:schedule-group/${local.name}",
      "${local.arn}:logs:*:${local.account}:log-group:/aws/lambda/${local.name}-*",
      "${local.arn}:logs:*:${local.account}:log-group:/aws/apigateway/${local.name}-*",
      "${local.arn}:ssm:*:${local.account}:parameter/${local.name}/*",
      "${local.arn}:glue:*:${local.account}:catalog",
      "${local.arn}:glue:*:${local.account}:database/${replace(local.name, "-", "_")}_lake",
      "${local.arn}:glue:*:${local.account}:table/${replace(local.name, "-", "_")}_lake/*",
      "${local.arn}:athena:*:${local.account}:workgroup/${local.name}",
      "${local.arn}:cloudwatch:*:${local.account}:alarm:${local.name}-*",
      "${local.arn}:cloudwatch::${local.account}:dashboard/${local.name}",
    ]
  }
  statement {
    sid = "ServicesWithoutNamedArns"
    actions = [
      "apigateway:DELETE", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT", "cloudfront:*",
      "ses:CreateEmailIdentity", "ses:DeleteEmailIdentity", "ses:CreateConfigurationSet", "ses:DeleteConfigurationSet",
      "ses:PutConfigurationSet*", "ses:PutEmailIdentity*", "ses:TagResource", "ses:UntagResource",
      "lambda:CreateEventSourceMapping", "xray:PutTraceSegments",
    ]
    resources = ["*"]
  }
  statement {
    sid = "StackRoles"
    actions = [
      "iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:TagRole",
      "iam:UntagRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
      "iam:PassRole",
    ]
    resources = ["${local.arn}:iam::${local.account}:role/${local.name}-*"]
  }
}

resource "aws_iam_role_policy" "deploy" {
  name   = "deploy-storepulse"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}
