output "bucket_name" {
  description = "The replica bucket in the DR region: the restore job there reads it (--BACKUP_BUCKET)."
  value       = aws_s3_bucket.replica.id
}

output "bucket_arn" {
  description = "ARN of the replica bucket."
  value       = aws_s3_bucket.replica.arn
}

output "kms_key_arn" {
  description = "The DR region's KMS key: it encrypts the replica, and the DR Backup vault."
  value       = aws_kms_key.dr.arn
}

output "backup_vault_arn" {
  description = "The AWS Backup vault in the DR region, for copy_action of the primary plan (modules/aws_backup copy_vault_arns)."
  value       = aws_backup_vault.dr.arn
}

output "dr_region" {
  description = "The DR region."
  value       = data.aws_region.dr.name
}

output "replica" {
  description = "What modules/backup_storage's replica variable takes."
  value = {
    bucket_arn  = aws_s3_bucket.replica.arn
    kms_key_arn = aws_kms_key.dr.arn
    region      = data.aws_region.dr.name
  }
}

output "alarm_topic_arn" {
  description = "SNS topic in the DR region for the alarms of what runs there (the Restore Lambda's Errors alarm)."
  value       = aws_sns_topic.alarms.arn
}
