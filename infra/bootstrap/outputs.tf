output "state_bucket" {
  description = "TF_STATE_BUCKET of the deploy workflow (terraform init -backend-config=bucket=...)."
  value       = aws_s3_bucket.state.id
}

output "deploy_role_arn" {
  description = "AWS_DEPLOY_ROLE_ARN of the deploy workflow (role-to-assume)."
  value       = aws_iam_role.deploy.arn
}
