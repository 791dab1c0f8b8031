variable "name" {
  description = "Name prefix of every resource, e.g. \"dynamodb-dr-prod\"."
  type        = string
}

variable "bucket_name" {
  description = "Name of the backup bucket (globally unique). Null: \"<name>-backups-<account id>-<region>\"."
  type        = string
  default     = null
}

variable "exports_prefix" {
  description = "Key prefix under which the exports and their manifests live (S3_EXPORTS_PREFIX)."
  type        = string
  default     = "native-exports"

  validation {
    condition     = length(trim(var.exports_prefix, "/")) > 0 && !strcontains(var.exports_prefix, "//")
    error_message = "exports_prefix must be a non-empty S3 key prefix such as \"native-exports\"."
  }
}

variable "retention_days" {
  description = "Days an export (and its manifest) is kept before S3 lifecycle expires it."
  type        = number
  default     = 35

  validation {
    condition     = var.retention_days >= 1 && floor(var.retention_days) == var.retention_days
    error_message = "retention_days must be a whole number of days, at least 1."
  }
}

variable "noncurrent_version_retention_days" {
  description = "Days an overwritten or deleted object version is kept (protects against a bad overwrite)."
  type        = number
  default     = 7
}

variable "access_log_retention_days" {
  description = "Days the S3 server access logs of the backup bucket are kept."
  type        = number
  default     = 365
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete non-empty buckets. Keep false outside experiments."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "logged_bucket_name_prefixes" {
  description = "Name prefixes of other buckets of this deployment (same account) whose S3 server access logs the access-log bucket accepts, e.g. stream recovery's failure bucket \"<name>-stream-failures-\"."
  type        = list(string)
  default     = []
}

variable "replica" {
  description = "Replicate the exports to this bucket in a DR region (modules/dr_replica outputs: bucket_arn, kms_key_arn, region). null = no replication."
  type = object({
    bucket_arn  = string
    kms_key_arn = string
    region      = string
  })
  default = null
}

variable "replication_time_control" {
  description = "With a replica: S3 Replication Time Control (99.99% of objects within 15 minutes, with metrics; extra cost)."
  type        = bool
  default     = false
}
