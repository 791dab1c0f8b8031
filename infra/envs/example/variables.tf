variable "aws_region" {
  description = "Region of the tables and of everything this deploys."
  type        = string
}

variable "environment" {
  description = "Deployment name, e.g. \"prod\": in every resource name and in every backup manifest."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{2,20}$", var.environment))
    error_message = "environment must be 2-20 characters of a-z, 0-9 and '-'."
  }
}

variable "name_prefix" {
  description = "First part of every resource name."
  type        = string
  default     = "dynamodb-dr"
}

variable "table_names" {
  description = "DynamoDB tables to back up (daily export, AWS Backup plan); the Lambdas get them as the JSON array DYNAMODB_TABLES. Each needs PITR on."
  type        = list(string)
}

variable "export_schedule" {
  description = "EventBridge schedule of the daily export (UTC)."
  type        = string
  default     = "cron(0 3 * * ? *)"
}

variable "monitor_schedule" {
  description = "EventBridge schedule of the export monitor."
  type        = string
  default     = "rate(10 minutes)"
}

variable "incremental_export_minutes" {
  description = "Window of each incremental export of the export chain, in minutes (15-1440): the RPO of a restore from the chain; the chain Lambda runs this often."
  type        = number
  default     = 60
}

variable "incremental_export_view" {
  description = "ExportViewType of the incremental exports: NEW_AND_OLD_IMAGES (what a rewind needs) or NEW_IMAGE."
  type        = string
  default     = "NEW_AND_OLD_IMAGES"
}

variable "retention_days" {
  description = "Days an export is kept in S3 before lifecycle expires it."
  type        = number
  default     = 35
}

variable "backup_deadline_hours" {
  description = "Hours without a COMPLETE backup before the not-complete alarm fires (1-24)."
  type        = number
  default     = 24
}

variable "glue_worker_type" {
  description = "Glue worker type of the restore job (G.1X, G.2X, G.4X, G.8X)."
  type        = string
  default     = "G.1X"
}

variable "glue_number_of_workers" {
  description = "Number of Glue workers of the restore job (at least 2)."
  type        = number
  default     = 2
}

variable "restore_scratch_tables" {
  description = "Extra tables the restore job may write to (targets of --target_tables), besides table_names."
  type        = list(string)
  default     = []
}

variable "protected_tables" {
  description = "Tables under stream recovery and their recovery action (item_repair, pitr_restore, aws_backup_restore, alert_only); see modules/stream_recovery. Empty: no stream recovery."
  type = map(object({
    action                     = string
    protected_attributes       = optional(list(string), [])
    burst_threshold            = optional(number)
    burst_factor               = optional(number)
    user_deletes_are_incidents = optional(bool, true)
    home_region                = optional(string)
    dry_run                    = optional(bool, false)
  }))
  default = {}
}

variable "alarm_emails" {
  description = "Email addresses that get the backup alarms and stream recovery incidents."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "Retention of every CloudWatch log group, in days."
  type        = number
  default     = 365
}

variable "powertools_layer_version" {
  description = "Version of the AWS-published layer AWSLambdaPowertoolsPythonV3-python311-x86_64 (see the Powertools docs)."
  type        = number
  default     = 27
}

variable "artifacts_dir" {
  description = "Folder holding the output of `make package`. Null: dist/ at the repository root."
  type        = string
  default     = null
}

variable "bucket_name" {
  description = "Name of the backup bucket. Null: \"<name_prefix>-<environment>-backups-<account>-<region>\"."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Let terraform destroy delete non-empty buckets. Only for experiments."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "dr_region" {
  description = "A second region for disaster recovery: the backup bucket's exports are replicated there (locked with S3 Object Lock), AWS Backup copies recovery points to a vault there, and a restore job there reads the replica. null = no DR region."
  type        = string
  default     = null
}

variable "dr_object_lock_mode" {
  description = "S3 Object Lock mode of the DR replica: GOVERNANCE or COMPLIANCE."
  type        = string
  default     = "GOVERNANCE"
}

variable "dr_object_lock_days" {
  description = "Days each replicated object version is locked against deletion."
  type        = number
  default     = 35
}

variable "backup_copy_vault_arn" {
  description = "Another account's AWS Backup vault every recovery point is also copied to (its access policy must allow backup:CopyIntoBackupVault from this account). null = none."
  type        = string
  default     = null
}
