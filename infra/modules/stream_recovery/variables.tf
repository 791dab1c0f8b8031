variable "name" {
  description = "Name prefix of every resource, e.g. \"dynamodb-dr-prod\"."
  type        = string
}

variable "protected_tables" {
  description = <<-EOT
    Tables whose stream is watched, and what to do on an incident. action: item_repair (undo the
    damaging writes item by item), pitr_restore (restore a new table "<name>-recovery-<time>" from
    PITR), aws_backup_restore (restore the newest AWS Backup recovery point into such a table) or
    alert_only. protected_attributes: a MODIFY that changes or removes one is an incident that is
    repaired item by item (protect only attributes that never change legitimately). burst_threshold
    (null: var.burst_threshold) and burst_factor (null: var.burst_factor): a window with at least
    max(burst_threshold, burst_factor x the median of the previous 10 windows) REMOVE/MODIFY records
    is a burst, answered by the table's restore action or an alert, never by item repair.
    user_deletes_are_incidents: every user (non-TTL) delete is an incident. home_region: for a global
    table, the one region that repairs items (item repair is refused without it). dry_run: detect and
    announce what would be done, write nothing. Each table needs a stream with StreamViewType
    NEW_AND_OLD_IMAGES (checked at plan time).
  EOT
  type = map(object({
    action                     = string
    protected_attributes       = optional(list(string), [])
    burst_threshold            = optional(number)
    burst_factor               = optional(number)
    user_deletes_are_incidents = optional(bool, true)
    home_region                = optional(string)
    dry_run                    = optional(bool, false)
  }))

  validation {
    condition     = length(var.protected_tables) > 0
    error_message = "protected_tables must name at least one table (leave the module out to run without stream recovery)."
  }

  validation {
    condition     = alltrue([for t in values(var.protected_tables) : contains(["item_repair", "pitr_restore", "aws_backup_restore", "alert_only"], t.action)])
    error_message = "Every protected table's action must be one of item_repair, pitr_restore, aws_backup_restore, alert_only."
  }

  validation {
    condition     = alltrue([for t in keys(var.protected_tables) : can(regex("^[a-zA-Z0-9_.-]{3,230}$", t))])
    error_message = "Every protected table must be a DynamoDB table name short enough for \"<name>-recovery-<yyyymmddThhmmss>\" (at most 230 characters)."
  }
}

variable "package_path" {
  description = "Path of the stream recovery Lambda's zip built by `make package` (dist/lambda/stream_recovery.zip)."
  type        = string
}

variable "powertools_layer_arn" {
  description = "ARN of the AWS-published Powertools for AWS Lambda (Python) v3 layer for python3.11 x86_64."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key of the deployment (state table, topic, logs, environment variables)."
  type        = string
}

variable "backup_vault_name" {
  description = "AWS Backup vault whose recovery points aws_backup_restore uses (BACKUP_VAULT_NAME)."
  type        = string
}

variable "backup_restore_role_arn" {
  description = "Role AWS Backup assumes to restore a table (BACKUP_RESTORE_ROLE_ARN)."
  type        = string
}

variable "incident_window_seconds" {
  description = "Records of one table within this many seconds belong to the same incident (1-3600)."
  type        = number
  default     = 60

  validation {
    condition     = var.incident_window_seconds >= 1 && var.incident_window_seconds <= 3600
    error_message = "incident_window_seconds must be from 1 to 3600."
  }
}

variable "burst_threshold" {
  description = "Default fewest REMOVE/MODIFY records in one incident window that can be a burst, whatever the table's baseline (2-5000)."
  type        = number
  default     = 100

  validation {
    condition     = var.burst_threshold >= 2 && var.burst_threshold <= 5000
    error_message = "burst_threshold must be from 2 to 5000."
  }
}

variable "burst_factor" {
  description = "Default burst factor: a window is a burst at this many times the table's baseline (the median of its previous 10 windows), 1.5-1000."
  type        = number
  default     = 5

  validation {
    condition     = var.burst_factor >= 1.5 && var.burst_factor <= 1000
    error_message = "burst_factor must be from 1.5 to 1000."
  }
}

variable "followup_schedule" {
  description = "EventBridge schedule of the follow-up that starts restores once their point is restorable, follows them, re-applies settings and closes incidents."
  type        = string
  default     = "rate(1 minute)"
}

variable "access_log_bucket_name" {
  description = "Bucket that receives the failure bucket's S3 server access logs (backup_storage's access_log_bucket_name; it must accept the prefix \"<name>-stream-failures-\" in its logged_bucket_name_prefixes)."
  type        = string
}

variable "failure_retention_days" {
  description = "Days the failure bucket keeps a failed stream batch (time to replay it)."
  type        = number
  default     = 35
}

variable "iterator_age_alarm_seconds" {
  description = "Alarm when the oldest record a stream invocation read is at least this old (the Lambda lags behind the streams)."
  type        = number
  default     = 300
}

variable "batch_size" {
  description = "Stream records per invocation."
  type        = number
  default     = 100
}

variable "maximum_retry_attempts" {
  description = "Retries of a failing batch (bisected each time) before it is kept in the failure bucket."
  type        = number
  default     = 5
}

variable "maximum_record_age_seconds" {
  description = "Records older than this are kept in the failure bucket instead of being processed (60-604800; streams keep records 24 h)."
  type        = number
  default     = 21600
}

variable "reserved_concurrency" {
  description = "Concurrent executions reserved for the function: at least one per stream shard of the protected tables (parallelization factor 1)."
  type        = number
  default     = 20

  validation {
    condition     = var.reserved_concurrency >= 1
    error_message = "reserved_concurrency must be at least 1."
  }
}

variable "log_retention_days" {
  description = "Retention of the Lambda's CloudWatch log group, in days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 365
}

variable "alarm_emails" {
  description = "Email addresses subscribed to the incident topic, which also gets this module's alarms (each must confirm the subscription)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
