variable "name" {
  description = "Name prefix of every resource, e.g. \"dynamodb-dr-prod\"."
  type        = string
}

variable "environment" {
  description = "Deployment name the job checks every manifest against (--ENVIRONMENT)."
  type        = string
}

variable "backup_bucket_name" {
  description = "Bucket holding the exports and manifests (--BACKUP_BUCKET); the job's artifacts are uploaded there too."
  type        = string
}

variable "backup_bucket_arn" {
  description = "ARN of the backup bucket."
  type        = string
}

variable "exports_prefix" {
  description = "Key prefix of the exports and manifests (--S3_EXPORTS_PREFIX), without slashes at either end."
  type        = string
}

variable "artifacts_prefix" {
  description = "Key prefix in the backup bucket where the job's script and library are uploaded (never expired)."
  type        = string
  default     = "glue-artifacts"
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key of the deployment (bucket objects, job logs)."
  type        = string
}

variable "script_path" {
  description = "Path of the job script built by `make package` (dist/glue/restore_job.py)."
  type        = string
}

variable "library_path" {
  description = "Path of the library zip built by `make package` for --extra-py-files (dist/glue/dynamodb_dr.zip)."
  type        = string
}

variable "python_wheel_paths" {
  description = "Paths of wheels built by `make package` (dist/glue/wheels/*.whl: the pinned isal and msgspec) that Glue installs at job start (--additional-python-modules), from the artifacts prefix. Empty: none; the job then inflates exports with zlib (about half the read speed) and checks lines with json (about 7x slower)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for path in var.python_wheel_paths : endswith(path, ".whl")])
    error_message = "python_wheel_paths must name .whl files (pip installs a wheel only under its own file name), e.g. dist/glue/wheels/isal-1.9.1-cp311-....whl from make package."
  }
}

variable "restore_table_names" {
  description = "Tables the job may write to: the backed-up tables and any scratch targets you restore into (--target_tables)."
  type        = list(string)

  validation {
    condition     = length(var.restore_table_names) > 0
    error_message = "restore_table_names must list at least one table."
  }
}

variable "worker_type" {
  description = "Glue worker type (G.1X = 4 vCPU/16 GB, G.2X = 8 vCPU/32 GB, ...)."
  type        = string
  default     = "G.1X"

  validation {
    condition     = contains(["G.1X", "G.2X", "G.4X", "G.8X"], var.worker_type)
    error_message = "worker_type must be one of G.1X, G.2X, G.4X, G.8X (Glue 5.0 Spark jobs)."
  }
}

variable "number_of_workers" {
  description = "Number of Glue workers (2 at least: one driver, one executor)."
  type        = number
  default     = 2

  validation {
    condition     = var.number_of_workers >= 2 && floor(var.number_of_workers) == var.number_of_workers
    error_message = "number_of_workers must be a whole number, at least 2."
  }
}

variable "timeout_minutes" {
  description = "Minutes after which Glue stops a run."
  type        = number
  default     = 480
}

variable "log_retention_days" {
  description = "Retention of the job's CloudWatch log group, in days (a value CloudWatch Logs accepts)."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "drill_enabled" {
  description = "Whether the DR drill schedule runs (the trigger exists either way)."
  type        = bool
  default     = true
}

variable "drill_schedule" {
  description = "When the DR drill of drill_tables (or every table) runs: a Glue cron expression, UTC. Default weekly, Sunday 04:00."
  type        = string
  default     = "cron(0 4 ? * SUN *)"

  validation {
    condition     = can(regex("^cron\\(.+\\)$", var.drill_schedule))
    error_message = "drill_schedule must be a Glue cron expression, e.g. cron(0 4 ? * SUN *)."
  }
}

variable "drill_tables" {
  description = "Tables the scheduled drill restores (--tables); empty: every table of the backup. Alarms are made per table of this list (or of restore_table_names)."
  type        = list(string)
  default     = []
}

variable "drill_table_schedules" {
  description = "Extra drill schedules per table: table name -> Glue cron expression. The job runs one drill at a time: do not overlap them."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for s in values(var.drill_table_schedules) : can(regex("^cron\\(.+\\)$", s))])
    error_message = "drill_table_schedules values must be Glue cron expressions, e.g. cron(0 5 ? * SAT *)."
  }
}

variable "drill_timestamp_attribute" {
  description = "An attribute every write sets (epoch seconds/ms or ISO 8601), passed as --verify_timestamp_attribute; null: none."
  type        = string
  default     = null
}

variable "drill_max_age_days" {
  description = "Alarm when no drill of a table succeeded in this many days (1-7: CloudWatch evaluates at most 7 days)."
  type        = number
  default     = 7

  validation {
    condition     = var.drill_max_age_days >= 1 && var.drill_max_age_days <= 7 && floor(var.drill_max_age_days) == var.drill_max_age_days
    error_message = "drill_max_age_days must be a whole number from 1 to 7 (a CloudWatch alarm evaluates at most 7 days)."
  }
}

variable "alarm_emails" {
  description = "Email addresses subscribed to the drill topic (results and alarms)."
  type        = list(string)
  default     = []
}
