terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # The state lives in a bucket made once per account (docs/deploy.md, "Bootstrap"):
  #   terraform init -backend-config="bucket=<state bucket>" -backend-config="key=storepulse/<env>.tfstate" \
  #     -backend-config="region=<region>" -backend-config="use_lockfile=true"
  backend "s3" {}
}
