# DR drills: a Glue trigger starts the restore job with --drill true on a schedule (weekly by
# default). The job restores the latest backup of each table into {table}-drill-{yyyymmdd}, verifies
# it item by item, records RTO/RPO, items/s and cost as CloudWatch metrics (namespace DynamoDBDR,
# dimension Table) and a report in the backup bucket ({prefix}/drills/{table}/), deletes the scratch
# table and announces the result on the drill topic. Why a Glue trigger and no Lambda: a drill runs
# for minutes to hours (create, restore, scan, delete), a Lambda must not wait that long, and a
# trigger needs no role or code of its own.

locals {
  # The tables a drill restores (--tables, or every table the job may restore), and those with a
  # schedule of their own: the scratch tables the role may touch, the alarms.
  drill_sources = distinct(concat(length(var.drill_tables) > 0 ? var.drill_tables : var.restore_table_names, keys(var.drill_table_schedules)))

  drill_table_arns = [for t in local.drill_sources : "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${t}-drill-*"]

  # The tables a restore may create: ImportTable fills them and the backed-up settings are
  # re-applied to them (a drill proves that path too).
  restore_table_arns = concat(local.table_arns, local.drill_table_arns)

  drill_arguments = merge(
    {
      "--drill"           = "true"
      "--backup_date"     = "latest"
      "--drill_topic_arn" = aws_sns_topic.alarms.arn
    },
    { for name, value in { "--tables" = join(",", var.drill_tables) } : name => value if length(var.drill_tables) > 0 },
    { for name, value in { "--verify_timestamp_attribute" = var.drill_timestamp_attribute } : name => value if value != null },
  )
}

resource "aws_sns_topic" "alarms" {
  name              = "${local.job_name}-drills"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "drill_email" {
  for_each  = toset(var.alarm_emails)
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

# One trigger for the tables of drill_tables (or all), and one per entry of drill_table_schedules:
# the job runs one at a time (max_concurrent_runs = 1), so give overlapping schedules other times.
resource "aws_glue_trigger" "drill" {
  name     = "${local.job_name}-drill"
  type     = "SCHEDULED"
  schedule = var.drill_schedule
  enabled  = var.drill_enabled
  tags     = var.tags

  actions {
    job_name  = aws_glue_job.restore.name
    arguments = local.drill_arguments
  }
}

resource "aws_glue_trigger" "drill_table" {
  for_each = var.drill_table_schedules

  name     = "${local.job_name}-drill-${each.key}"
  type     = "SCHEDULED"
  schedule = each.value
  enabled  = var.drill_enabled
  tags     = var.tags

  actions {
    job_name  = aws_glue_job.restore.name
    arguments = merge(local.drill_arguments, { "--tables" = each.key })
  }
}

# A drill that failed: DrillSucceeded 0 for the table (any failure: restore, verify, cleanup, record).
resource "aws_cloudwatch_metric_alarm" "drill_failed" {
  for_each = toset(local.drill_sources)

  alarm_name          = "${local.job_name}-drill-failed-${each.key}"
  alarm_description   = "The DR drill of ${each.key} failed: its report is in s3://${var.backup_bucket_name}/${var.exports_prefix}/drills/${each.key}/ (dynamodb-dr drills list --table ${each.key})."
  namespace           = "DynamoDBDR"
  metric_name         = "DrillSucceeded"
  dimensions          = { Table = each.key }
  statistic           = "Minimum"
  period              = 3600
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

# No successful drill in drill_max_age_days: no data is breaching (a drill that never ran, or died
# before it could record anything, is as bad as a failed one).
resource "aws_cloudwatch_metric_alarm" "drill_stale" {
  for_each = toset(local.drill_sources)

  alarm_name          = "${local.job_name}-drill-stale-${each.key}"
  alarm_description   = "No DR drill of ${each.key} succeeded in ${var.drill_max_age_days} days: is the drill trigger enabled, does the job run?"
  namespace           = "DynamoDBDR"
  metric_name         = "DrillSucceeded"
  dimensions          = { Table = each.key }
  statistic           = "Maximum"
  period              = 86400
  evaluation_periods  = var.drill_max_age_days
  datapoints_to_alarm = var.drill_max_age_days
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}
