variable "name" {
  description = "Name prefix of every resource, e.g. \"dynamodb-dr-prod\"."
  type        = string
}

variable "table_names" {
  description = "DynamoDB tables AWS Backup snapshots, and whose PITR is checked at plan time."
  type        = list(string)

  validation {
    condition     = length(var.table_names) > 0
    error_message = "table_names must list at least one table."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key that encrypts the vault's recovery points."
  type        = string
}

variable "schedule" {
  description = "When the plan takes a backup (AWS Backup cron, UTC). Default: every 12 hours."
  type        = string
  default     = "cron(0 */12 * * ? *)"
}

variable "delete_after_days" {
  description = "Days a recovery point is kept."
  type        = number
  default     = 35

  validation {
    condition     = var.delete_after_days >= 1
    error_message = "delete_after_days must be at least 1."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
