variable "name" {
  description = "Name prefix of every resource, e.g. \"dynamodb-dr-prod\"."
  type        = string
}

variable "environment" {
  description = "Deployment name written into every manifest (ENVIRONMENT), e.g. \"prod\"."
  type        = string
}

variable "table_names" {
  description = "DynamoDB tables to export every day; passed to the Lambdas as the JSON array DYNAMODB_TABLES."
  type        = list(string)

  validation {
    condition     = length(var.table_names) > 0 && length(var.table_names) == length(distinct(var.table_names))
    error_message = "table_names must list at least one table, each once."
  }

  validation {
    condition     = alltrue([for t in var.table_names : can(regex("^[a-zA-Z0-9_.-]{3,255}$", t))])
    error_message = "Every entry of table_names must be a DynamoDB table name: 3-255 characters of a-z, A-Z, 0-9, '_', '-', '.'."
  }
}

variable "backup_bucket_name" {
  description = "Bucket the exports and manifests are written to (BACKUP_BUCKET)."
  type        = string
}

variable "backup_bucket_arn" {
  description = "ARN of the backup bucket."
  type        = string
}

variable "exports_prefix" {
  description = "Key prefix of the exports and manifests (S3_EXPORTS_PREFIX), without slashes at either end."
  type        = string
}

variable "export_format" {
  description = "ExportFormat of the daily exports (EXPORT_FORMAT): DYNAMODB_JSON or ION. The restore reads both."
  type        = string
  default     = "DYNAMODB_JSON"

  validation {
    condition     = contains(["DYNAMODB_JSON", "ION"], var.export_format)
    error_message = "export_format must be DYNAMODB_JSON or ION."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key of the deployment (bucket, environment variables, logs, topic)."
  type        = string
}

variable "export_package_path" {
  description = "Path of the export Lambda's zip built by `make package` (dist/lambda/export_backup.zip)."
  type        = string
}

variable "monitor_package_path" {
  description = "Path of the export monitor's zip built by `make package` (dist/lambda/export_monitor.zip)."
  type        = string
}

variable "chain_package_path" {
  description = "Path of the export chain Lambda's zip built by `make package` (dist/lambda/export_chain.zip)."
  type        = string
}

variable "incremental_export_minutes" {
  description = "Window of each incremental export of the export chain, in minutes (INCREMENTAL_EXPORT_MINUTES, 15-1440): the RPO of a restore from the chain. The chain Lambda runs this often."
  type        = number
  default     = 60

  validation {
    condition     = var.incremental_export_minutes >= 15 && var.incremental_export_minutes <= 1440 && floor(var.incremental_export_minutes) == var.incremental_export_minutes
    error_message = "incremental_export_minutes must be a whole number of minutes from 15 to 1440 (DynamoDB's incremental export window: 15 minutes to 24 hours)."
  }
}

variable "incremental_export_view" {
  description = "ExportViewType of the incremental exports (INCREMENTAL_EXPORT_VIEW): NEW_AND_OLD_IMAGES (what a rewind needs) or NEW_IMAGE."
  type        = string
  default     = "NEW_AND_OLD_IMAGES"

  validation {
    condition     = contains(["NEW_AND_OLD_IMAGES", "NEW_IMAGE"], var.incremental_export_view)
    error_message = "incremental_export_view must be NEW_AND_OLD_IMAGES or NEW_IMAGE."
  }
}

variable "powertools_layer_arn" {
  description = "ARN of the AWS-published Powertools for AWS Lambda (Python) v3 layer for python3.11 x86_64."
  type        = string
}

variable "export_schedule" {
  description = "EventBridge schedule expression of the daily export (UTC)."
  type        = string
  default     = "cron(0 3 * * ? *)"
}

variable "monitor_schedule" {
  description = "EventBridge schedule expression of the export monitor."
  type        = string
  default     = "rate(10 minutes)"
}

variable "backup_deadline_hours" {
  description = "Hours without a COMPLETE backup after which the not-complete alarm fires (at most 24)."
  type        = number
  default     = 24

  validation {
    condition     = var.backup_deadline_hours >= 1 && var.backup_deadline_hours <= 24 && floor(var.backup_deadline_hours) == var.backup_deadline_hours
    error_message = "backup_deadline_hours must be a whole number of hours from 1 to 24."
  }
}

variable "log_retention_days" {
  description = "Retention of the Lambdas' CloudWatch log groups, in days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 365
}

variable "alarm_emails" {
  description = "Email addresses subscribed to the alarm topic (each must confirm the subscription)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
