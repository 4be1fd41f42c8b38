output "state_bucket" {
  description = "TF_STATE_BUCKET of the deploy workflow (terraform init -backend-config=bucket=...)."
  value       = aws_s3_bucket.state.id
}

output "deploy_role_arn" {
  description = "AWS_DEPLOY_ROLE_ARN of the deploy workflow (role-to-assume)."
  value       = aws_iam_role.deploy.arn
}

output "plan_role_arn" {
  description = "The read-only role pull requests assume for terraform plan (repository variable AWS_PLAN_ROLE_ARN)."
  value       = aws_iam_role.plan.arn
}

output "permissions_boundary_arn" {
  description = "The boundary every role of the stack must carry (repository variable PERMISSIONS_BOUNDARY_ARN; infra/ variable permissions_boundary_arn)."
  value       = aws_iam_policy.boundary.arn
}
