variable "name_prefix" {
  description = "Prepended to every resource name (e.g. \"prod-\"); empty gives the local stack's names (storepulse-orders, ...). The CLI reads it as STOREPULSE_NAME_PREFIX."
  type        = string
  default     = ""

  validation {
    condition     = can(regex("^[a-z0-9-]{0,20}$", var.name_prefix))
    error_message = "name_prefix: at most 20 characters of a-z, 0-9 and '-'."
  }
}

variable "environment" {
  description = "Deployment name shown in tags and the dashboard's Zappa stage (dev or prod)."
  type        = string
  default     = "prod"

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod (the Zappa stages of zappa_settings.json)."
  }
}

variable "store_timezone" {
  description = "IANA time zone of the store (STORE_TIMEZONE): calendar days of the metrics and the zone the schedules' cron expressions are read in."
  type        = string
  default     = "UTC"
}

variable "store_currency" {
  description = "ISO 4217 currency of the store (STORE_CURRENCY); events in another currency are rejected."
  type        = string
  default     = "USD"

  validation {
    condition     = can(regex("^[A-Z]{3}$", var.store_currency))
    error_message = "store_currency must be a three-letter ISO 4217 code such as USD."
  }
}

variable "store_name" {
  description = "The store's name in report PDFs and digest e-mails (STORE_NAME)."
  type        = string
  default     = "storepulse"
}

variable "lead_time_days" {
  description = "Days from ordering stock to having it, for SKUs whose product.upserted sets no lead_time_days (LEAD_TIME_DAYS): the forecast's reorder_by."
  type        = number
  default     = 7

  validation {
    condition     = var.lead_time_days >= 0 && var.lead_time_days <= 365 && floor(var.lead_time_days) == var.lead_time_days
    error_message = "lead_time_days must be a whole number of days from 0 to 365."
  }
}

variable "alert_email" {
  description = "Address subscribed to the stock-alert topic and the operations alarms (each subscription must be confirmed from the e-mail AWS sends). Empty: no e-mail subscription."
  type        = string
  default     = ""
}

variable "digest_sender" {
  description = "From address of the digests (DIGEST_SENDER); Terraform creates its SES identity, which must be verified from the e-mail SES sends."
  type        = string
}

variable "report_url_ttl" {
  description = "Seconds a report's presigned download URL stays valid (REPORT_URL_TTL)."
  type        = number
  default     = 900

  validation {
    condition     = var.report_url_ttl >= 60 && var.report_url_ttl <= 43200
    error_message = "report_url_ttl must be between 60 and 43200 seconds."
  }
}

variable "public_api_url" {
  description = "Base URL of the API for links in e-mails (PUBLIC_API_URL), when served under a custom domain; empty uses the API Gateway stage URL."
  type        = string
  default     = ""
}

variable "dashboard_domain" {
  description = "Custom domain of the dashboard's static assets (CloudFront alias); empty serves them on the cloudfront.net name."
  type        = string
  default     = ""
}

variable "dashboard_certificate_arn" {
  description = "ACM certificate (in us-east-1) for dashboard_domain; required when dashboard_domain is set."
  type        = string
  default     = ""
}

variable "log_retention_days" {
  description = "Days the functions' and the API's CloudWatch logs are kept."
  type        = number
  default     = 400

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts (e.g. 30, 90, 365, 400)."
  }
}

variable "lambda_package_dir" {
  description = "The directory of the functions' Lambda zips (<function>.zip each) built by `make package-backend`, relative to infra/ or absolute."
  type        = string
  default     = "../build/lambda"
}

variable "lambda_log_level" {
  description = "POWERTOOLS_LOG_LEVEL of every function."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.lambda_log_level)
    error_message = "lambda_log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "api_stage_name" {
  description = "Name of the API Gateway stage (the first path segment of the API URL)."
  type        = string
  default     = "api"
}

variable "ingest_throttle" {
  description = "Usage-plan throttling of the ingest key: steady requests per second and burst."
  type = object({
    rate_limit  = number
    burst_limit = number
  })
  default = {
    rate_limit  = 50
    burst_limit = 100
  }
}

variable "read_throttle" {
  description = "Usage-plan throttling of the read key (dashboard and integrations): steady requests per second and burst."
  type = object({
    rate_limit  = number
    burst_limit = number
  })
  default = {
    rate_limit  = 20
    burst_limit = 40
  }
}

variable "dynamodb_capacity" {
  description = "How the ingest and analytics tables (the pipeline's writes) are billed: mode \"on_demand\" (default: right for a small or spiky store) or \"provisioned\" with auto scaling between the min and max units of each table, aiming at target_utilization percent (cheaper per write unit for a store with steady traffic; docs/cost.md prices both). The other tables stay on demand."
  type = object({
    mode               = string
    min_write          = number
    max_write          = number
    min_read           = number
    max_read           = number
    target_utilization = number
  })
  default = {
    mode               = "on_demand"
    min_write          = 5
    max_write          = 2000
    min_read           = 5
    max_read           = 2000
    target_utilization = 70
  }

  validation {
    condition     = contains(["on_demand", "provisioned"], var.dynamodb_capacity.mode)
    error_message = "dynamodb_capacity.mode must be \"on_demand\" or \"provisioned\"."
  }

  validation {
    condition = (
      var.dynamodb_capacity.min_write >= 1 && var.dynamodb_capacity.min_read >= 1
      && var.dynamodb_capacity.max_write >= var.dynamodb_capacity.min_write
      && var.dynamodb_capacity.max_read >= var.dynamodb_capacity.min_read
      && var.dynamodb_capacity.target_utilization >= 20 && var.dynamodb_capacity.target_utilization <= 90
    )
    error_message = "dynamodb_capacity: min units >= 1, max >= min, target_utilization between 20 and 90 (percent)."
  }
}

variable "lake_transition_days" {
  description = "Days after which the lake's raw NDJSON (events/) moves to S3 Standard-IA, and (times three) to Glacier Instant Retrieval."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Extra tags put on every resource, on top of Project, Environment and ManagedBy."
  type        = map(string)
  default     = {}
}

variable "permissions_boundary_arn" {
  description = "The permissions boundary every role of the stack carries (infra/bootstrap output permissions_boundary_arn); the CI apply role can create roles only with it. null for an administrator's own apply without bootstrap."
  type        = string
  default     = null
}

variable "shopify_webhook_secret" {
  description = "The Shopify app's secret (its webhooks' HMAC key); empty: set the SSM parameter /<prefix>storepulse/webhooks/shopify later (docs/connectors.md)."
  type        = string
  default     = ""
  sensitive   = true
}
