# Made once per AWS account, with an administrator's credentials and local state, before the
# stack (docs/deploy.md, "Bootstrap"): the state bucket and the role GitHub Actions deploys with.
terraform {
  required_version = ">= 1.6.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }
}

provider "aws" {
  default_tags {
    tags = {
      Project   = "storepulse"
      ManagedBy = "terraform"
      Component = "bootstrap"
    }
  }
}
