variable "name" {
  description = "Full name of the function (its log group and role are named after it)."
  type        = string
}

variable "handler" {
  description = "Python handler, module.attribute (e.g. backend.handlers.ingest.handler)."
  type        = string
}

variable "package_path" {
  description = "Path of the deployment zip (make package-backend)."
  type        = string
}

variable "timeout" {
  description = "Seconds a single invocation may run."
  type        = number
}

variable "memory" {
  description = "Memory in MB (CPU scales with it)."
  type        = number
}

variable "environment" {
  description = "Environment variables of the function."
  type        = map(string)
  default     = {}
}

variable "policy_json" {
  description = "The least-privilege policy of what the function's code calls (its data resources); logging, tracing and the queue source are added here."
  type        = string
}

variable "log_retention_days" {
  description = "Days the function's logs are kept."
  type        = number
}

variable "log_level" {
  description = "Level of the function's own log lines: DEBUG, INFO, WARNING or ERROR."
  type        = string
  default     = "INFO"
}

variable "queue_arn" {
  description = "ARN of the SQS queue the function consumes, or null for a function invoked otherwise."
  type        = string
  default     = null
}

variable "batch_size" {
  description = "Records per invocation from the queue."
  type        = number
  default     = 10
}

variable "batching_window_seconds" {
  description = "Seconds Lambda gathers records before invoking (0: at once)."
  type        = number
  default     = 0
}

variable "maximum_concurrency" {
  description = "Most concurrent invocations the queue's event source starts (2 to 1000): bounds the contention on the analytics table's hot items."
  type        = number
  default     = 5

  validation {
    condition     = var.maximum_concurrency >= 2 && var.maximum_concurrency <= 1000
    error_message = "maximum_concurrency must be between 2 and 1000 (Lambda's limits for SQS sources)."
  }
}

variable "alarm_topic_arn" {
  description = "SNS topic the function's error and throttle alarms notify."
  type        = string
}

variable "permissions_boundary_arn" {
  description = "The permissions boundary of the function's role (null: none)."
  type        = string
  default     = null
}
