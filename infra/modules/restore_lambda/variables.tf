variable "name" {
  description = "Name prefix of every resource, e.g. \"dynamodb-dr-prod\"; the function is \"<name>-restore\"."
  type        = string
}

variable "environment" {
  description = "Deployment name the restore checks every manifest against (ENVIRONMENT)."
  type        = string
}

variable "backup_bucket_name" {
  description = "Bucket holding the exports and manifests (BACKUP_BUCKET)."
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

variable "kms_key_arn" {
  description = "Customer-managed KMS key of the deployment (bucket objects, environment variables, logs)."
  type        = string
}

variable "restore_table_names" {
  description = "Tables the function may write to: the backed-up tables and any scratch targets (target_tables). The same list as the Glue restore job's."
  type        = list(string)

  validation {
    condition     = length(var.restore_table_names) > 0
    error_message = "restore_table_names must list at least one table."
  }
}

variable "glue_job_name" {
  description = "Name of the Glue restore job (modules/glue_restore output job_name) the function hands large restores to (RESTORE_GLUE_JOB_NAME)."
  type        = string
}

variable "restore_package_path" {
  description = "Path of the function's zip built by `make package` (dist/lambda/restore.zip)."
  type        = string
}

variable "powertools_layer_arn" {
  description = "ARN of the AWS-published Powertools for AWS Lambda (Python) v3 layer for python3.11 x86_64."
  type        = string
}

variable "memory_size" {
  description = "Memory of the function, in MB (1769 = one full vCPU, which the reader's checks use)."
  type        = number
  default     = 1769

  validation {
    condition     = var.memory_size >= 512 && var.memory_size <= 10240
    error_message = "memory_size must be from 512 to 10240 MB."
  }
}

variable "timeout" {
  description = "Seconds an invocation may run (at most 900). The function restores in place only what its estimate says fits in the time left; the rest goes to the Glue job."
  type        = number
  default     = 900

  validation {
    condition     = var.timeout >= 60 && var.timeout <= 900
    error_message = "timeout must be from 60 to 900 seconds."
  }
}

variable "alarm_topic_arn" {
  description = "SNS topic the function's Errors alarm publishes to."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the function's CloudWatch log group, in days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
