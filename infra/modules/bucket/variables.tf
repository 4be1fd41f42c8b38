variable "name" {
  description = "Globally unique bucket name."
  type        = string
}

variable "versioning" {
  description = "Keep previous versions of overwritten or deleted objects (noncurrent versions expire after noncurrent_days)."
  type        = bool
  default     = true
}

variable "noncurrent_days" {
  description = "Days a noncurrent object version is kept."
  type        = number
  default     = 30
}

variable "lifecycle_rules" {
  description = "Lifecycle rules: prefix, days to expiry (null: never) and storage-class transitions."
  type = list(object({
    id              = string
    prefix          = string
    expiration_days = optional(number)
    transitions = optional(list(object({
      days          = number
      storage_class = string
    })), [])
  }))
  default = []
}

variable "extra_policy_json" {
  description = "More bucket policy statements (e.g. CloudFront's read access), merged with the TLS-only statement."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete a bucket that still holds objects."
  type        = bool
  default     = false
}
