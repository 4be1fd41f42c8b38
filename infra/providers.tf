provider "aws" {
  default_tags {
    tags = merge(var.tags, {
      Project     = "storepulse"
      Environment = var.environment
      ManagedBy   = "terraform"
    })
  }
}

# CloudFront reads ACM certificates from us-east-1 only, whatever the stack's region.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"

  default_tags {
    tags = merge(var.tags, {
      Project     = "storepulse"
      Environment = var.environment
      ManagedBy   = "terraform"
    })
  }
}
