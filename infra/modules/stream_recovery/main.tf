# Stream recovery: a Lambda on each protected table's stream (NEW_AND_OLD_IMAGES) that detects
# damaging writes and repairs or restores, its incident state table, incident topic and the
# on-failure queue of its event source mappings.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id    = data.aws_caller_identity.current.account_id
  region        = data.aws_region.current.name
  partition     = data.aws_partition.current.partition
  function_name = "${var.name}-stream-recovery"
  table_prefix  = "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table"

  protected_table_arns = [for t in keys(var.protected_tables) : "${local.table_prefix}/${t}"]
  recovery_table_arns  = [for t in keys(var.protected_tables) : "${local.table_prefix}/${t}-recovery-*"]
  stream_arns          = [for t in keys(var.protected_tables) : "${local.table_prefix}/${t}/stream/*"]

  # PROTECTED_TABLES in the shape dynamodb_dr.stream_recovery.config parses.
  protected_tables_json = jsonencode({
    for table, policy in var.protected_tables : table => {
      action                     = policy.action
      protected_attributes       = policy.protected_attributes
      burst_threshold            = coalesce(policy.burst_threshold, var.burst_threshold)
      user_deletes_are_incidents = policy.user_deletes_are_incidents
    }
  })

  # The names dynamodb_dr.stream_recovery.config reads (tests/infra checks they match the code).
  environment_variables = {
    PROTECTED_TABLES        = local.protected_tables_json
    INCIDENT_STATE_TABLE    = aws_dynamodb_table.state.name
    SNS_TOPIC_ARN           = aws_sns_topic.incidents.arn
    INCIDENT_WINDOW_SECONDS = tostring(var.incident_window_seconds)
    BURST_THRESHOLD         = tostring(var.burst_threshold)
    BACKUP_VAULT_NAME       = var.backup_vault_name
    BACKUP_RESTORE_ROLE_ARN = var.backup_restore_role_arn
  }
}

# Precondition, checked at plan time: every protected table streams NEW_AND_OLD_IMAGES (the
# Lambda needs the old image to undo a write). Turn it on with
#   aws dynamodb update-table --table-name T --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES
data "aws_dynamodb_table" "protected" {
  for_each = var.protected_tables
  name     = each.key

  lifecycle {
    postcondition {
      condition     = self.stream_enabled && self.stream_view_type == "NEW_AND_OLD_IMAGES"
      error_message = "Table ${each.key} has no NEW_AND_OLD_IMAGES stream. Enable it: aws dynamodb update-table --table-name ${each.key} --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES"
    }
  }
}

# --- Incident state, topic, on-failure queue ----------------------------------------------------

resource "aws_dynamodb_table" "state" {
  name                        = "${var.name}-stream-recovery-state"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  deletion_protection_enabled = true
  tags                        = var.tags

  attribute {
    name = "pk"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }
}

resource "aws_sns_topic" "incidents" {
  name              = "${var.name}-stream-incidents"
  kms_master_key_id = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "incident_email" {
  for_each  = toset(var.alarm_emails)
  topic_arn = aws_sns_topic.incidents.arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_sqs_queue" "on_failure" {
  name                      = "${var.name}-stream-recovery-failed"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.tags
}

# --- Function (role, log group and Errors alarm: modules/lambda_function) -----------------------

module "function" {
  source = "../lambda_function"

  function_name                  = local.function_name
  description                    = "Detects damaging writes on protected DynamoDB tables' streams and repairs or restores"
  package_path                   = var.package_path
  powertools_layer_arn           = var.powertools_layer_arn
  timeout                        = 120
  reserved_concurrent_executions = var.reserved_concurrency
  environment_variables          = local.environment_variables
  kms_key_arn                    = var.kms_key_arn
  policy_name                    = "stream-recovery"
  policy_json                    = data.aws_iam_policy_document.stream_recovery.json
  alarm_topic_arn                = aws_sns_topic.incidents.arn
  errors_alarm_description       = "The stream recovery Lambda failed a batch (it is retried, bisected, then sent to the on-failure queue)."
  log_retention_days             = var.log_retention_days
  tags                           = var.tags
}

resource "aws_lambda_event_source_mapping" "stream" {
  for_each = data.aws_dynamodb_table.protected

  event_source_arn                   = each.value.stream_arn
  function_name                      = module.function.function_arn
  starting_position                  = "LATEST"
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = 1
  parallelization_factor             = 1
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = var.maximum_retry_attempts
  maximum_record_age_in_seconds      = var.maximum_record_age_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.on_failure.arn
    }
  }

  # Only REMOVE and MODIFY can be incidents (the code classifies every INSERT as normal), so
  # INSERTs never invoke the function. TTL deletes are filtered in code: AWS's guides disagree on
  # whether a filter may match userIdentity.
  filter_criteria {
    filter {
      pattern = jsonencode({ eventName = ["REMOVE", "MODIFY"] })
    }
  }
}

# --- Alarms -------------------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "failed_batches" {
  alarm_name          = "${local.function_name}-failed-batches"
  alarm_description   = "Stream records were given up on: they are in the on-failure queue and were NOT processed."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.on_failure.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.incidents.arn]
  tags                = var.tags
}

# --- Addresses before modules/lambda_function (an existing deployment keeps its resources) ------

moved {
  from = aws_lambda_function.stream_recovery
  to   = module.function.aws_lambda_function.this
}

moved {
  from = aws_iam_role.stream_recovery
  to   = module.function.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.stream_recovery
  to   = module.function.aws_iam_role_policy.this
}

moved {
  from = aws_cloudwatch_log_group.stream_recovery
  to   = module.function.aws_cloudwatch_log_group.this
}

moved {
  from = aws_cloudwatch_metric_alarm.errors
  to   = module.function.aws_cloudwatch_metric_alarm.errors
}
