output "bucket_name" {
  description = "Name of the backup bucket (BACKUP_BUCKET)."
  value       = aws_s3_bucket.backups.id
}

output "bucket_arn" {
  description = "ARN of the backup bucket."
  value       = aws_s3_bucket.backups.arn
}

output "exports_prefix" {
  description = "Key prefix of the exports and manifests, without slashes at either end."
  value       = local.exports_prefix
}

output "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts the bucket, logs, topics and the Backup vault."
  value       = aws_kms_key.this.arn
}

output "access_log_bucket_name" {
  description = "Bucket that receives the backup bucket's S3 server access logs."
  value       = aws_s3_bucket.access_logs.id
}

output "replication_role_arn" {
  description = "The role S3 replicates the exports with (null without a replica)."
  value       = one(aws_iam_role.replication[*].arn)
}
