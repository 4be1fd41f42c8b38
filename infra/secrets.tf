# Secrets are generated here, never written in the repository: the API keys (whose digests the
# functions check), the PII hashing key and the unsubscribe-link signing key. They live in the
# state (keep the state bucket private and encrypted, docs/deploy.md) and in SSM SecureString
# parameters that operators read with `aws ssm get-parameter --with-decryption`.

resource "random_password" "api_key" {
  for_each = toset(["ingest", "read"])

  length  = 40
  special = false
}

resource "random_password" "secret" {
  for_each = toset(["pii_hash_key", "unsubscribe_signing_key"])

  length  = 64
  special = false
}

resource "aws_ssm_parameter" "secret" {
  for_each = random_password.secret
  #checkov:skip=CKV_AWS_337:Encrypted with the AWS-managed SSM key; a customer-managed key adds $1/month (docs/deploy.md).

  name        = "/${local.prefix}storepulse/${each.key}"
  description = "storepulse ${upper(each.key)}: rotate by tainting random_password.secret[\"${each.key}\"] and applying (docs/deploy.md)."
  type        = "SecureString"
  value       = each.value.result
}

resource "aws_ssm_parameter" "api_key" {
  for_each = random_password.api_key
  #checkov:skip=CKV_AWS_337:Encrypted with the AWS-managed SSM key; a customer-managed key adds $1/month (docs/deploy.md).

  name        = "/${local.prefix}storepulse/api-keys/${each.key}"
  description = "The ${each.key} API key (x-api-key), also registered with API Gateway's usage plan."
  type        = "SecureString"
  value       = each.value.result
}

# The store webhooks' secrets (CONTRACT section 8). WooCommerce takes the secret you give it:
# paste this one into the webhook's Secret field. Shopify signs with the app's own secret: give
# it as var.shopify_webhook_secret, or put it into the parameter later (aws ssm put-parameter
# --overwrite); until then a random value means no request passes the signature check.
resource "random_password" "webhook_secret" {
  for_each = toset(["shopify", "woocommerce"])

  length  = 48
  special = false
}

resource "aws_ssm_parameter" "webhook_secret" {
  for_each = random_password.webhook_secret
  #checkov:skip=CKV_AWS_337:Encrypted with the AWS-managed SSM key; a customer-managed key adds $1/month (docs/deploy.md).

  name        = "/${local.prefix}storepulse/webhooks/${each.key}"
  description = "The ${each.key} webhook secret: the HMAC-SHA256 key of its signatures (docs/connectors.md)."
  type        = "SecureString"
  value       = each.key == "shopify" && var.shopify_webhook_secret != "" ? var.shopify_webhook_secret : each.value.result

  lifecycle {
    # An operator's put-parameter (Shopify's app secret, a rotation) is not undone by an apply.
    ignore_changes = [value]
  }
}
