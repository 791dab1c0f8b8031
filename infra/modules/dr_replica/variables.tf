variable "name" {
  description = "Name prefix of every resource, e.g. \"dynamodb-dr-prod\"."
  type        = string
}

variable "exports_prefix" {
  description = "Key prefix of the exports and manifests: what is replicated."
  type        = string
  default     = "native-exports"
}

variable "replica_bucket_name" {
  description = "Name of the replica bucket in the DR region; null = \"<name>-backups-replica-<account>-<dr region>\"."
  type        = string
  default     = null
}

variable "object_lock_mode" {
  description = "S3 Object Lock default retention mode of the replica: GOVERNANCE (users with s3:BypassGovernanceRetention may still delete) or COMPLIANCE (nobody, the root user included, can delete a version before its retention ends)."
  type        = string
  default     = "GOVERNANCE"

  validation {
    condition     = contains(["GOVERNANCE", "COMPLIANCE"], var.object_lock_mode)
    error_message = "object_lock_mode must be GOVERNANCE or COMPLIANCE."
  }
}

variable "object_lock_days" {
  description = "Days each replicated object version is locked against deletion and overwrite."
  type        = number
  default     = 35

  validation {
    condition     = var.object_lock_days >= 1 && floor(var.object_lock_days) == var.object_lock_days
    error_message = "object_lock_days must be a whole number of days, at least 1."
  }
}

variable "retention_days" {
  description = "Days after which replicated exports expire in the replica (at least object_lock_days: a locked version is not removed before its lock ends)."
  type        = number
  default     = 35
}

variable "force_destroy" {
  description = "Let terraform destroy a non-empty replica (still refused while versions are locked)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

variable "alarm_emails" {
  description = "Addresses subscribed (email) to the DR region's alarm topic; each must confirm its subscription."
  type        = list(string)
  default     = []
}
