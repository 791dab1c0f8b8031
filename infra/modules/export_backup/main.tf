# The export Lambda (starts the day's native export of every table) and the export monitor (follows
# the exports and completes the manifest), their schedules, logs, dead-letter queue and alarms.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition

  export_function_name  = "${var.name}-export-backup"
  monitor_function_name = "${var.name}-export-monitor"

  # The names dynamodb_dr.config.BackupSettings reads (tests/infra checks they match the code).
  environment_variables = {
    BACKUP_BUCKET     = var.backup_bucket_name
    ENVIRONMENT       = var.environment
    DYNAMODB_TABLES   = jsonencode(var.table_names)
    S3_EXPORTS_PREFIX = var.exports_prefix
  }

  table_arns  = [for t in var.table_names : "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${t}"]
  export_arns = [for t in var.table_names : "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${t}/export/*"]
}

# --- Logs ---------------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "export" {
  name              = "/aws/lambda/${local.export_function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_cloudwatch_log_group" "monitor" {
  name              = "/aws/lambda/${local.monitor_function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

# --- Dead-letter queue of the scheduled (asynchronous) invocations ------------------------------

resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.name}-backup-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

# --- Functions ----------------------------------------------------------------------------------

resource "aws_lambda_function" "export" {
  #checkov:skip=CKV_AWS_117:The function only calls AWS public APIs over TLS with IAM auth and holds no network listener; a VPC would add NAT or interface endpoints (cost, failure points) without reducing exposure. Attach vpc_config in a fork if your policy requires it.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile owned by the deploying organisation. The zip is built reproducibly by `make package` and pinned by source_code_hash, so Terraform deploys exactly the reviewed build.
  function_name                  = local.export_function_name
  description                    = "Starts the day's DynamoDB export to S3 of every table in DYNAMODB_TABLES"
  role                           = aws_iam_role.export.arn
  runtime                        = "python3.11"
  architectures                  = ["x86_64"]
  handler                        = "handler.lambda_handler"
  filename                       = var.export_package_path
  source_code_hash               = filebase64sha256(var.export_package_path)
  layers                         = [var.powertools_layer_arn]
  memory_size                    = 256
  timeout                        = 300
  reserved_concurrent_executions = 1
  kms_key_arn                    = var.kms_key_arn
  tags                           = var.tags

  environment {
    variables = local.environment_variables
  }

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dead_letter.arn
  }

  depends_on = [aws_cloudwatch_log_group.export, aws_iam_role_policy.export]
}

resource "aws_lambda_function" "monitor" {
  #checkov:skip=CKV_AWS_117:The function only calls AWS public APIs over TLS with IAM auth and holds no network listener; a VPC would add NAT or interface endpoints (cost, failure points) without reducing exposure. Attach vpc_config in a fork if your policy requires it.
  #checkov:skip=CKV_AWS_272:Code signing needs an AWS Signer profile owned by the deploying organisation. The zip is built reproducibly by `make package` and pinned by source_code_hash, so Terraform deploys exactly the reviewed build.
  function_name                  = local.monitor_function_name
  description                    = "Follows the day's DynamoDB exports and completes the backup manifest"
  role                           = aws_iam_role.monitor.arn
  runtime                        = "python3.11"
  architectures                  = ["x86_64"]
  handler                        = "handler.lambda_handler"
  filename                       = var.monitor_package_path
  source_code_hash               = filebase64sha256(var.monitor_package_path)
  layers                         = [var.powertools_layer_arn]
  memory_size                    = 256
  timeout                        = 120
  reserved_concurrent_executions = 1
  kms_key_arn                    = var.kms_key_arn
  tags                           = var.tags

  environment {
    variables = local.environment_variables
  }

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dead_letter.arn
  }

  depends_on = [aws_cloudwatch_log_group.monitor, aws_iam_role_policy.monitor]
}

resource "aws_lambda_function_event_invoke_config" "export" {
  function_name                = aws_lambda_function.export.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600
}

resource "aws_lambda_function_event_invoke_config" "monitor" {
  function_name                = aws_lambda_function.monitor.function_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = 600
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
  arn  = aws_lambda_function.export.arn
}

resource "aws_lambda_permission" "export" {
  statement_id  = "AllowDailyScheduleToInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.export.function_name
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
  arn  = aws_lambda_function.monitor.arn
}

resource "aws_lambda_permission" "monitor" {
  statement_id  = "AllowMonitorScheduleToInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.monitor.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.monitor.arn
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
  log_group_name = aws_cloudwatch_log_group.monitor.name
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
  log_group_name = aws_cloudwatch_log_group.monitor.name
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

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  for_each = {
    export  = aws_lambda_function.export.function_name
    monitor = aws_lambda_function.monitor.function_name
  }

  alarm_name          = "${each.value}-errors"
  alarm_description   = "${each.value} raised an error: its log group has the JSON log with error_type and error."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
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
