# The export Lambda (starts the day's native export of every table), the export monitor (follows
# the exports and completes the manifest) and the export chain Lambda (incremental exports every
# incremental_export_minutes per table), their schedules, logs, dead-letter queue and alarms.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition

  export_function_name  = "${var.name}-export-backup"
  monitor_function_name = "${var.name}-export-monitor"
  chain_function_name   = "${var.name}-export-chain"

  # The names dynamodb_dr.config.BackupSettings reads (tests/infra checks they match the code).
  environment_variables = {
    BACKUP_BUCKET     = var.backup_bucket_name
    ENVIRONMENT       = var.environment
    DYNAMODB_TABLES   = jsonencode(var.table_names)
    S3_EXPORTS_PREFIX = var.exports_prefix
    EXPORT_FORMAT     = var.export_format

    INCREMENTAL_EXPORT_MINUTES = tostring(var.incremental_export_minutes)
    INCREMENTAL_EXPORT_VIEW    = var.incremental_export_view
  }

  # The export chain's objects: its incremental exports, the full exports that restart it, chain.json.
  incremental_objects = "${var.backup_bucket_arn}/${var.exports_prefix}/incremental/*"

  # CloudWatch allows period x evaluation_periods of at most a day; with 2 periods, a period of at
  # most 12 hours. One chain run per window publishes one ChainLagSeconds datapoint per table.
  lag_period_seconds = min(var.incremental_export_minutes, 720) * 60

  table_arns  = [for t in var.table_names : "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${t}"]
  export_arns = [for t in var.table_names : "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${t}/export/*"]
}

# --- Dead-letter queue of the scheduled (asynchronous) invocations ------------------------------

resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.name}-backup-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

# --- Functions (role, log group and Errors alarm each: modules/lambda_function) -----------------

module "export" {
  source = "../lambda_function"

  function_name                  = local.export_function_name
  description                    = "Starts the day's DynamoDB export to S3 of every table in DYNAMODB_TABLES"
  package_path                   = var.export_package_path
  powertools_layer_arn           = var.powertools_layer_arn
  timeout                        = 300
  reserved_concurrent_executions = 1
  environment_variables          = local.environment_variables
  kms_key_arn                    = var.kms_key_arn
  policy_name                    = "export-backup"
  policy_json                    = data.aws_iam_policy_document.export.json
  dead_letter_queue_arn          = aws_sqs_queue.dead_letter.arn
  alarm_topic_arn                = aws_sns_topic.alarms.arn
  log_retention_days             = var.log_retention_days
  tags                           = var.tags
}

module "monitor" {
  source = "../lambda_function"

  function_name                  = local.monitor_function_name
  description                    = "Follows the day's DynamoDB exports and completes the backup manifest"
  package_path                   = var.monitor_package_path
  powertools_layer_arn           = var.powertools_layer_arn
  timeout                        = 120
  reserved_concurrent_executions = 1
  environment_variables          = local.environment_variables
  kms_key_arn                    = var.kms_key_arn
  policy_name                    = "export-monitor"
  policy_json                    = data.aws_iam_policy_document.monitor.json
  dead_letter_queue_arn          = aws_sqs_queue.dead_letter.arn
  alarm_topic_arn                = aws_sns_topic.alarms.arn
  log_retention_days             = var.log_retention_days
  tags                           = var.tags
}

module "chain" {
  source = "../lambda_function"

  function_name                  = local.chain_function_name
  description                    = "Extends each table's chain of DynamoDB incremental exports, restarting broken chains"
  package_path                   = var.chain_package_path
  powertools_layer_arn           = var.powertools_layer_arn
  timeout                        = 300
  reserved_concurrent_executions = 1
  environment_variables          = local.environment_variables
  kms_key_arn                    = var.kms_key_arn
  policy_name                    = "export-chain"
  policy_json                    = data.aws_iam_policy_document.chain.json
  dead_letter_queue_arn          = aws_sqs_queue.dead_letter.arn
  alarm_topic_arn                = aws_sns_topic.alarms.arn
  log_retention_days             = var.log_retention_days
  tags                           = var.tags
}

resource "aws_lambda_function_event_invoke_config" "export" {
  function_name                = module.export.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600
}

resource "aws_lambda_function_event_invoke_config" "monitor" {
  function_name                = module.monitor.function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = 600
}

resource "aws_lambda_function_event_invoke_config" "chain" {
  function_name                = module.chain.function_name
  maximum_retry_attempts       = 1
  maximum_event_age_in_seconds = 900
}

# --- Schedules ----------------------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "export" {
  name                = "${local.export_function_name}-daily"
  description         = "Daily DynamoDB export"
  schedule_expression = var.export_schedule
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "export" {
  rule = aws_cloudwatch_event_rule.export.name
  arn  = module.export.function_arn
}

resource "aws_lambda_permission" "export" {
  statement_id  = "AllowDailyScheduleToInvoke"
  action        = "lambda:InvokeFunction"
  function_name = module.export.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.export.arn
}

resource "aws_cloudwatch_event_rule" "monitor" {
  name                = "${local.monitor_function_name}-schedule"
  description         = "Follow the DynamoDB exports until they finish"
  schedule_expression = var.monitor_schedule
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "monitor" {
  rule = aws_cloudwatch_event_rule.monitor.name
  arn  = module.monitor.function_arn
}

resource "aws_lambda_permission" "monitor" {
  statement_id  = "AllowMonitorScheduleToInvoke"
  action        = "lambda:InvokeFunction"
  function_name = module.monitor.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.monitor.arn
}

resource "aws_cloudwatch_event_rule" "chain" {
  name                = "${local.chain_function_name}-schedule"
  description         = "Start the next incremental export window of every table"
  schedule_expression = "rate(${var.incremental_export_minutes} minutes)"
  tags                = var.tags
}

resource "aws_cloudwatch_event_target" "chain" {
  rule = aws_cloudwatch_event_rule.chain.name
  arn  = module.chain.function_arn
}

resource "aws_lambda_permission" "chain" {
  statement_id  = "AllowChainScheduleToInvoke"
  action        = "lambda:InvokeFunction"
  function_name = module.chain.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.chain.arn
}

# --- Alarms -------------------------------------------------------------------------------------

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-backup-alarms"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "alarm_email" {
  for_each  = toset(var.alarm_emails)
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

# The monitor logs (Powertools JSON) a `backup_status` field on every run: COMPLETE, PARTIAL,
# FAILED, IN_PROGRESS or NOT_FOUND. These two metrics count the outcomes the alarms watch.
resource "aws_cloudwatch_log_metric_filter" "backup_failed" {
  name           = "${var.name}-backup-failed"
  log_group_name = module.monitor.log_group_name
  pattern        = "{ ($.backup_status = \"FAILED\") || ($.backup_status = \"PARTIAL\") }"

  metric_transformation {
    name      = "BackupFailed"
    namespace = "DynamoDBDR/${var.name}"
    value     = "1"
    unit      = "Count"
  }
}

resource "aws_cloudwatch_log_metric_filter" "backup_complete" {
  name           = "${var.name}-backup-complete"
  log_group_name = module.monitor.log_group_name
  pattern        = "{ $.backup_status = \"COMPLETE\" }"

  metric_transformation {
    name      = "BackupComplete"
    namespace = "DynamoDBDR/${var.name}"
    value     = "1"
    unit      = "Count"
  }
}

resource "aws_cloudwatch_metric_alarm" "backup_failed" {
  alarm_name          = "${var.name}-backup-failed"
  alarm_description   = "A backup finished FAILED or PARTIAL: read the manifest's failure_message per table (README runbook)."
  namespace           = "DynamoDBDR/${var.name}"
  metric_name         = "BackupFailed"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "backup_not_complete" {
  alarm_name          = "${var.name}-backup-not-complete"
  alarm_description   = "No backup reached COMPLETE in the last ${var.backup_deadline_hours} h: the export did not run, is stuck or failed."
  namespace           = "DynamoDBDR/${var.name}"
  metric_name         = "BackupComplete"
  statistic           = "Sum"
  period              = var.backup_deadline_hours * 3600
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  alarm_name          = "${var.name}-backup-dead-letters"
  alarm_description   = "A scheduled export or monitor invocation failed every retry; its event is in the dead-letter queue."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dead_letter.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

# The export chain Lambda publishes, per table, ChainRestarted (1 when a broken chain was restarted
# from a new full export, else 0) and ChainLagSeconds (how far the chain's newest restorable point
# trails PITR's LatestRestorableDateTime), namespace DynamoDBDR, dimensions Environment, TableName.
resource "aws_cloudwatch_metric_alarm" "chain_restarted" {
  for_each = toset(var.table_names)

  alarm_name          = "${var.name}-chain-restarted-${each.key}"
  alarm_description   = "The incremental export chain of ${each.key} broke (PITR disabled or its recovery period passed, table recreated, or an export failed) and restarted from a new full export: read the 'export chain restarted' log line and chain.json's breaks."
  namespace           = "DynamoDBDR"
  metric_name         = "ChainRestarted"
  dimensions          = { Environment = var.environment, TableName = each.key }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "chain_lag" {
  for_each = toset(var.table_names)

  alarm_name          = "${var.name}-chain-lag-${each.key}"
  alarm_description   = "The incremental export chain of ${each.key} trails PITR by more than two windows (${2 * var.incremental_export_minutes} minutes), or the chain Lambda published nothing for two periods: the RPO of a restore from the chain is worse than its window."
  namespace           = "DynamoDBDR"
  metric_name         = "ChainLagSeconds"
  dimensions          = { Environment = var.environment, TableName = each.key }
  statistic           = "Maximum"
  period              = local.lag_period_seconds
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  threshold           = 2 * var.incremental_export_minutes * 60
  comparison_operator = "GreaterThanThreshold"
  # No datapoint means the chain Lambda did not run (or PITR was never enabled): the chain is not
  # advancing, which is what this alarm is for.
  treat_missing_data = "breaching"
  alarm_actions      = [aws_sns_topic.alarms.arn]
  ok_actions         = [aws_sns_topic.alarms.arn]
  tags               = var.tags
}

# --- Addresses before modules/lambda_function (an existing deployment keeps its resources) ------

moved {
  from = aws_lambda_function.export
  to   = module.export.aws_lambda_function.this
}

moved {
  from = aws_iam_role.export
  to   = module.export.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.export
  to   = module.export.aws_iam_role_policy.this
}

moved {
  from = aws_cloudwatch_log_group.export
  to   = module.export.aws_cloudwatch_log_group.this
}

moved {
  from = aws_cloudwatch_metric_alarm.function_errors["export"]
  to   = module.export.aws_cloudwatch_metric_alarm.errors
}

moved {
  from = aws_lambda_function.monitor
  to   = module.monitor.aws_lambda_function.this
}

moved {
  from = aws_iam_role.monitor
  to   = module.monitor.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.monitor
  to   = module.monitor.aws_iam_role_policy.this
}

moved {
  from = aws_cloudwatch_log_group.monitor
  to   = module.monitor.aws_cloudwatch_log_group.this
}

moved {
  from = aws_cloudwatch_metric_alarm.function_errors["monitor"]
  to   = module.monitor.aws_cloudwatch_metric_alarm.errors
}
