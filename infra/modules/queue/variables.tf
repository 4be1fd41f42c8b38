variable "name" {
  description = "Full name of the queue; its dead-letter queue is <name>-dlq."
  type        = string
}

variable "visibility_timeout_seconds" {
  description = "Seconds a received message stays hidden: at least 6x its function's timeout plus the batching window."
  type        = number
}

variable "max_receive_count" {
  description = "Receives after which a message moves to the dead-letter queue."
  type        = number
}

variable "message_retention_seconds" {
  description = "Seconds a message is kept in the queue (the DLQ keeps its messages 14 days)."
  type        = number
  default     = 345600
}

variable "alarm_topic_arn" {
  description = "SNS topic notified when a message reaches the dead-letter queue."
  type        = string
}
