output "vault_name" {
  description = "Name of the AWS Backup vault (BACKUP_VAULT_NAME of stream recovery)."
  value       = aws_backup_vault.this.name
}

output "vault_arn" {
  description = "ARN of the AWS Backup vault."
  value       = aws_backup_vault.this.arn
}

output "plan_id" {
  description = "ID of the backup plan."
  value       = aws_backup_plan.this.id
}

output "service_role_arn" {
  description = "Role AWS Backup assumes to back up and restore the tables (BACKUP_RESTORE_ROLE_ARN of stream recovery)."
  value       = aws_iam_role.backup.arn
}
