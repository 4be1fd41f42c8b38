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

locals {
  # Reads of every service the stack uses: what terraform plan needs to refresh the stack.
  read_actions = [
    "apigateway:GET", "cloudfront:Get*", "cloudfront:List*", "cloudwatch:Describe*", "cloudwatch:Get*",
    "cloudwatch:List*", "dynamodb:Describe*", "dynamodb:List*", "events:Describe*", "events:List*",
    "glue:Get*", "athena:Get*", "athena:List*", "iam:Get*", "iam:List*", "lambda:Get*", "lambda:List*",
    "logs:Describe*", "logs:List*", "s3:GetBucket*", "s3:GetLifecycleConfiguration", "s3:GetEncryptionConfiguration",
    "s3:ListAllMyBuckets", "scheduler:Get*", "scheduler:List*", "ses:Get*", "ses:List*", "sns:Get*", "sns:List*",
  "sqs:Get*", "sqs:List*", "ssm:Describe*", "ssm:GetParameter*", "ssm:ListTagsForResource", "sts:GetCallerIdentity"]
  # The stack's services on resources named after the stack.
  stack_actions = ["dynamodb:*", "sqs:*", "sns:*", "lambda:*", "s3:*", "events:*", "scheduler:*", "logs:*", "ssm:*", "glue:*", "athena:*", "cloudwatch:*"]
  stack_resources = [
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
  # Writes to services whose ARNs carry generated ids, not names.
  unnamed_actions = [
    "apigateway:DELETE", "apigateway:PATCH", "apigateway:POST", "apigateway:PUT", "cloudfront:*",
    "ses:CreateEmailIdentity", "ses:DeleteEmailIdentity", "ses:CreateConfigurationSet", "ses:DeleteConfigurationSet",
    "ses:PutConfigurationSet*", "ses:PutEmailIdentity*", "ses:TagResource", "ses:UntagResource",
  "lambda:CreateEventSourceMapping", "xray:PutTraceSegments"]
  # Creating and changing the stack's roles and their inline and attached policies.
  role_actions = [
    "iam:CreateRole", "iam:DeleteRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy",
    "iam:DetachRolePolicy", "iam:PutRolePermissionsBoundary",
  ]
}

# Two roles for GitHub Actions (OIDC). The apply role trusts only jobs of this repository's
# protected `production` environment (its reviewers gate the apply, .github/workflows/deploy.yml);
# pull requests get only the read-only plan role, so a branch cannot reach the apply role.

data "aws_iam_policy_document" "trust" {
  for_each = {
    deploy = "repo:${var.github_repository}:environment:production"
    plan   = "repo:${var.github_repository}:pull_request"
  }

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
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = [each.value]
    }
  }
}

resource "aws_iam_role" "plan" {
  name                 = "${local.name}-plan"
  description          = "GitHub Actions (OIDC) pull requests: terraform plan of the storepulse stack, read-only."
  assume_role_policy   = data.aws_iam_policy_document.trust["plan"].json
  max_session_duration = 3600
  permissions_boundary = aws_iam_policy.boundary.arn
}

# terraform plan -lock=false refreshes every resource and reads the state: reads only.
data "aws_iam_policy_document" "plan" {
  #checkov:skip=CKV_AWS_356:Terraform refreshes every resource of the stack (Get/List/Describe); the read-only describes have no name-scoped ARNs.
  #checkov:skip=CKV_AWS_108:Terraform refreshes every resource of the stack, the SSM parameters included (their values are in the state it reads anyway).
  statement {
    sid       = "ReadState"
    actions   = ["s3:ListBucket", "s3:GetObject"]
    resources = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]
  }
  statement {
    sid       = "ReadEverythingForPlans"
    actions   = local.read_actions
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "plan" {
  name   = "plan-storepulse"
  role   = aws_iam_role.plan.id
  policy = data.aws_iam_policy_document.plan.json
}

# The most any role of the stack may do, whatever policy is attached to it: the stack's services
# on the stack's resources. The apply role can create or change a role only with this boundary
# on it, so it cannot make a role more powerful than the stack (no path to account admin).
data "aws_iam_policy_document" "boundary" {
  #checkov:skip=CKV_AWS_356:X-Ray, CloudFront, API Gateway and the read-only describes have no name-scoped ARNs.
  #checkov:skip=CKV_AWS_111:A boundary grants nothing by itself; it caps the stack's roles to the stack's resources.
  #checkov:skip=CKV_AWS_108:A boundary grants nothing by itself; the reads it allows are the plan's.
  #checkov:skip=CKV_AWS_109:A boundary grants nothing by itself; the iam actions it allows are the apply role's, conditioned on this boundary.
  statement {
    sid       = "StackServicesOnStackResources"
    actions   = local.stack_actions
    resources = local.stack_resources
  }
  statement {
    # What the functions, the scheduler and API Gateway's logging role do where ARNs carry no
    # stack name: traces, SES sends from the digest identity, API Gateway's own log groups.
    sid = "ServicesWithoutNamedArns"
    actions = concat(local.unnamed_actions, local.read_actions, [
      "xray:PutTelemetryRecords", "ses:SendEmail", "ses:SendRawEmail", "logs:CreateLogGroup",
      "logs:CreateLogStream", "logs:PutLogEvents", "logs:GetLogEvents", "logs:FilterLogEvents",
    ])
    resources = ["*"]
  }
  statement {
    sid       = "StateBucket"
    actions   = ["s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]
  }
  statement {
    sid       = "StackRolesWithThisBoundary"
    actions   = local.role_actions
    resources = ["${local.arn}:iam::${local.account}:role/${local.name}-*"]
    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = ["${local.arn}:iam::${local.account}:policy/${local.name}-boundary"]
    }
  }
  statement {
    sid       = "UpdateAndPassStackRoles"
    actions   = ["iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:PassRole"]
    resources = ["${local.arn}:iam::${local.account}:role/${local.name}-*"]
  }
}

resource "aws_iam_policy" "boundary" {
  name        = "${local.name}-boundary"
  description = "Permissions boundary of every storepulse role: the stack's services on the stack's resources."
  policy      = data.aws_iam_policy_document.boundary.json
}

resource "aws_iam_role" "deploy" {
  name                 = "${local.name}-deploy"
  description          = "GitHub Actions (OIDC) plans and applies the storepulse stack and updates the dashboard with Zappa."
  assume_role_policy   = data.aws_iam_policy_document.trust["deploy"].json
  max_session_duration = 3600
  permissions_boundary = aws_iam_policy.boundary.arn
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
    sid       = "ReadEverythingForPlans"
    actions   = local.read_actions
    resources = ["*"]
  }
  statement {
    sid       = "StackResourcesByName"
    actions   = local.stack_actions
    resources = local.stack_resources
  }
  statement {
    sid       = "ServicesWithoutNamedArns"
    actions   = local.unnamed_actions
    resources = ["*"]
  }
  statement {
    # Only roles that carry the boundary: a role made or changed without it is refused.
    sid       = "StackRolesWithTheBoundary"
    actions   = local.role_actions
    resources = ["${local.arn}:iam::${local.account}:role/${local.name}-*"]
    condition {
      test     = "StringEquals"
      variable = "iam:PermissionsBoundary"
      values   = [aws_iam_policy.boundary.arn]
    }
  }
  statement {
    sid       = "StackRolesUpdateAndPass"
    actions   = ["iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:PassRole"]
    resources = ["${local.arn}:iam::${local.account}:role/${local.name}-*"]
  }
  statement {
    sid       = "KeepTheBoundary"
    effect    = "Deny"
    actions   = ["iam:DeleteRolePermissionsBoundary", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy"]
    resources = ["${local.arn}:iam::${local.account}:role/${local.name}-*", aws_iam_policy.boundary.arn]
  }
}

resource "aws_iam_role_policy" "deploy" {
  name   = "deploy-storepulse"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}
