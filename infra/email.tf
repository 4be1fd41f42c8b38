# SES sends the digests from DIGEST_SENDER. SES starts every account in its sandbox: until
# production access is granted, recipients must be verified too (docs/deploy.md).

resource "aws_sesv2_email_identity" "digest_sender" {
  email_identity         = var.digest_sender
  configuration_set_name = aws_sesv2_configuration_set.digests.configuration_set_name
}

resource "aws_sesv2_configuration_set" "digests" {
  configuration_set_name = "${local.prefix}storepulse-digests"

  delivery_options {
    tls_policy = "REQUIRE"
  }

  reputation_options {
    reputation_metrics_enabled = true
  }

  suppression_options {
    suppressed_reasons = ["BOUNCE", "COMPLAINT"]
  }
}
