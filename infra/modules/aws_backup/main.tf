# AWS Backup for the tables: a KMS-encrypted vault, a plan taking a backup every 12 hours kept 35
# days, and a selection of the tables. Also the precondition every export needs: PITR on.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  table_arns = [
    for t in var.table_names :
    "arn:${data.aws_partition.current.partition}:dynamodb:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:table/${t}"
  ]
}

# Precondition, checked at plan time: PITR is on for every table (ExportTableToPointInTime and
# RestoreTableToPointInTime need it). The tables belong to their application's Terraform, so this
# module checks rather than changes them. Turn it on with
#   aws dynamodb update-continuous-backups --table-name T --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true
data "aws_dynamodb_table" "backed_up" {
  for_each = toset(var.table_names)
  name     = each.key

  lifecycle {
    postcondition {
      condition     = length(self.point_in_time_recovery) > 0 && self.point_in_time_recovery[0].enabled
      error_message = "Table ${each.key} does not have point-in-time recovery on. Enable it: aws dynamodb update-continuous-backups --table-name ${each.key} --point-in-time-recovery-specification PointInTimeRecoveryEnabled=true"
    }
  }
}

resource "aws_backup_vault" "this" {
  name        = "${var.name}-dynamodb"
  kms_key_arn = var.kms_key_arn
  tags        = var.tags
}

resource "aws_backup_plan" "this" {
  name = "${var.name}-dynamodb"
  tags = var.tags

  rule {
    rule_name         = "every-12-hours-kept-${var.delete_after_days}-days"
    target_vault_name = aws_backup_vault.this.name
    schedule          = var.schedule
    start_window      = 60
    completion_window = 360

    lifecycle {
      delete_after = var.delete_after_days
    }

    # Each recovery point copied to a vault in another region (modules/dr_replica's vault) and,
    # optionally, another account's vault. DynamoDB copies need AWS Backup's advanced DynamoDB
    # backup features on in the account; a copy to another account needs an AWS Organizations
    # member account whose vault access policy allows backup:CopyIntoBackupVault (docs/deploy.md).
    dynamic "copy_action" {
      for_each = toset(var.copy_vault_arns)
      content {
        destination_vault_arn = copy_action.value

        lifecycle {
          delete_after = var.copy_delete_after_days
        }
      }
    }
  }
}

resource "aws_backup_selection" "tables" {
  name         = "${var.name}-tables"
  plan_id      = aws_backup_plan.this.id
  iam_role_arn = aws_iam_role.backup.arn
  resources    = [for t in data.aws_dynamodb_table.backed_up : t.arn]
}
