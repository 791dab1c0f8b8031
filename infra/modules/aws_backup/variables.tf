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

variable "copy_vault_arns" {
  description = "Backup vault ARNs every recovery point is copied to (copy_action): a vault in the DR region (modules/dr_replica backup_vault_arn) and/or another account's vault. Empty: no copies."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.copy_vault_arns : can(regex("^arn:aws[a-z-]*:backup:[a-z0-9-]+:[0-9]{12}:backup-vault:.+$", arn))])
    error_message = "copy_vault_arns must hold backup vault ARNs, e.g. arn:aws:backup:eu-central-1:123456789012:backup-vault:dr-vault."
  }
}

variable "copy_delete_after_days" {
  description = "Days a copied recovery point is kept in the destination vault."
  type        = number
  default     = 35

  validation {
    condition     = var.copy_delete_after_days >= 1
    error_message = "copy_delete_after_days must be at least 1."
  }
}
