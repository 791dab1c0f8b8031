output "backup_bucket" {
  description = "Bucket holding the exports, manifests and restore reports (BACKUP_BUCKET)."
  value       = module.backup_storage.bucket_name
}

output "kms_key_arn" {
  description = "The deployment's customer-managed KMS key."
  value       = module.backup_storage.kms_key_arn
}

output "export_function_name" {
  description = "Export Lambda (aws lambda invoke --function-name ... --payload '{\"backup_date\":\"YYYY-MM-DD\"}')."
  value       = module.export_backup.export_function_name
}

output "monitor_function_name" {
  description = "Export monitor Lambda."
  value       = module.export_backup.monitor_function_name
}

output "alarm_topic_arn" {
  description = "SNS topic of the backup alarms."
  value       = module.export_backup.alarm_topic_arn
}

output "glue_job_name" {
  description = "Glue restore job (aws glue start-job-run --job-name ... --arguments '{\"--backup_date\":\"latest\"}')."
  value       = module.glue_restore.job_name
}

output "restore_function_name" {
  description = "Restore Lambda (aws lambda invoke --function-name ... --payload '{\"backup_date\":\"latest\",\"dry_run\":true}')."
  value       = module.restore_lambda.function_name
}

output "backup_vault_name" {
  description = "AWS Backup vault of the 12-hourly snapshots."
  value       = module.aws_backup.vault_name
}

output "stream_recovery_function_name" {
  description = "Stream recovery Lambda, or null when no table is protected."
  value       = one(module.stream_recovery[*].function_name)
}

output "incident_topic_arn" {
  description = "SNS topic of stream recovery incidents, or null when no table is protected."
  value       = one(module.stream_recovery[*].incident_topic_arn)
}

output "stream_failure_bucket" {
  description = "S3 bucket keeping the stream batches stream recovery gave up on (replay: python -m dynamodb_dr.stream_recovery.replay --bucket <this>), or null when no table is protected."
  value       = one(module.stream_recovery[*].failure_bucket_name)
}

output "dr_backup_bucket" {
  description = "The replica of the backup bucket in the DR region (null without var.dr_region): --BACKUP_BUCKET of a restore there."
  value       = one(module.dr_replica[*].bucket_name)
}

output "dr_restore_job_name" {
  description = "The Glue restore job in the DR region, reading the replica (null without var.dr_region)."
  value       = one(module.glue_restore_dr[*].job_name)
}

output "dr_backup_vault_arn" {
  description = "The AWS Backup vault in the DR region that recovery points are copied to (null without var.dr_region)."
  value       = one(module.dr_replica[*].backup_vault_arn)
}

output "dr_restore_function_name" {
  description = "The Restore Lambda in the DR region, reading the replica (null without var.dr_region)."
  value       = one(module.restore_lambda_dr[*].function_name)
}
