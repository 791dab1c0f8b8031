# Plans the example root with a mocked AWS provider (no account, no network) and checks what the
# plan says about names, permissions, arguments and schedules. Run from infra/envs/example:
#   terraform init -backend=false && terraform test -var-file=example.tfvars
# (tests/infra/test_terraform_cli.py does that in make test). The expected values below are the
# ones example.tfvars sets; tests/artifacts holds placeholder files for the paths the plan hashes.
#
# A test sees the root's outputs but not the resources inside its modules, so the runs after the
# first plan one module each, with the arguments the root passes it, and check its resources.

mock_provider "aws" {
  # Give computed attributes (ARNs) their mocked values already at plan, so the policy documents
  # that name them are read during plan and can be checked.
  override_during = plan

  # The policy documents' statements are what the runs check; their JSON is rendered by the real
  # provider only, so the mock returns an empty, valid policy.
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  # Every table has PITR on and a NEW_AND_OLD_IMAGES stream (the modules' postconditions).
  mock_data "aws_dynamodb_table" {
    defaults = {
      arn                    = "arn:aws:dynamodb:eu-west-1:123456789012:table/mocked"
      stream_arn             = "arn:aws:dynamodb:eu-west-1:123456789012:table/mocked/stream/2026-12-01T00:00:00.000"
      stream_enabled         = true
      stream_view_type       = "NEW_AND_OLD_IMAGES"
      point_in_time_recovery = [{ enabled = true, recovery_period_in_days = 35 }]
    }
  }

  mock_resource "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    }
  }

  mock_resource "aws_s3_bucket" {
    defaults = {
      arn = "arn:aws:s3:::mocked-bucket"
    }
  }

  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-west-1:123456789012:mocked-queue"
    }
  }

  mock_resource "aws_sns_topic" {
    defaults = {
      arn = "arn:aws:sns:eu-west-1:123456789012:mocked-topic"
    }
  }

  mock_resource "aws_dynamodb_table" {
    defaults = {
      arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/mocked-state"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mocked-role"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:eu-west-1:123456789012:log-group:mocked"
    }
  }

  mock_resource "aws_lambda_function" {
    defaults = {
      arn = "arn:aws:lambda:eu-west-1:123456789012:function:mocked"
    }
  }

  mock_resource "aws_cloudwatch_event_rule" {
    defaults = {
      arn = "arn:aws:events:eu-west-1:123456789012:rule/mocked"
    }
  }
}

# The DR region's provider (var.dr_region): the same mock, in another region.
mock_provider "aws" {
  alias           = "dr"
  override_during = plan

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "eu-central-1"
    }
  }

  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_resource "aws_kms_key" {
    defaults = {
      arn = "arn:aws:kms:eu-central-1:123456789012:key/11111111-1111-1111-1111-111111111111"
    }
  }

  mock_resource "aws_s3_bucket" {
    defaults = {
      arn = "arn:aws:s3:::mocked-replica"
      id  = "mocked-replica"
    }
  }

  mock_resource "aws_backup_vault" {
    defaults = {
      arn = "arn:aws:backup:eu-central-1:123456789012:backup-vault:dynamodb-dr-prod-dynamodb-dr"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mocked-dr-role"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:eu-central-1:123456789012:log-group:mocked"
    }
  }

  mock_resource "aws_sns_topic" {
    defaults = {
      arn = "arn:aws:sns:eu-central-1:123456789012:mocked-dr-topic"
    }
  }

  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-central-1:123456789012:mocked-dr-queue"
    }
  }

  mock_resource "aws_lambda_function" {
    defaults = {
      arn = "arn:aws:lambda:eu-central-1:123456789012:function:mocked-dr"
    }
  }
}

variables {
  artifacts_dir = "tests/artifacts"
}

run "example_root_plans" {
  command = plan

  assert {
    condition     = output.export_function_name == "dynamodb-dr-prod-export-backup" && output.monitor_function_name == "dynamodb-dr-prod-export-monitor"
    error_message = "The export Lambdas are named <name_prefix>-<environment>-export-backup and -export-monitor."
  }

  assert {
    condition     = output.stream_recovery_function_name == "dynamodb-dr-prod-stream-recovery"
    error_message = "protected_tables is set in example.tfvars, so the stream recovery Lambda is planned."
  }

  assert {
    condition     = output.glue_job_name == "dynamodb-dr-prod-restore"
    error_message = "The Glue job is named <name>-restore."
  }

  assert {
    condition     = output.restore_function_name == "dynamodb-dr-prod-restore"
    error_message = "The Restore Lambda is named <name>-restore."
  }
}

run "example_root_without_protected_tables" {
  command = plan

  variables {
    protected_tables = {}
  }

  assert {
    condition     = output.stream_recovery_function_name == null && output.incident_topic_arn == null
    error_message = "Without protected tables no stream recovery is planned, and its outputs are null."
  }
}

run "export_lambdas" {
  command = plan

  module {
    source = "../../modules/export_backup"
  }

  variables {
    name                 = "dynamodb-dr-prod"
    backup_bucket_name   = "mocked-bucket"
    backup_bucket_arn    = "arn:aws:s3:::mocked-bucket"
    exports_prefix       = "native-exports"
    kms_key_arn          = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    export_package_path  = "tests/artifacts/lambda/export_backup.zip"
    monitor_package_path = "tests/artifacts/lambda/export_monitor.zip"
    chain_package_path   = "tests/artifacts/lambda/export_chain.zip"
    powertools_layer_arn = "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python311-x86_64:27"
  }

  assert {
    condition = toset(flatten(data.aws_iam_policy_document.export.statement[*].actions)) == toset([
      "dynamodb:DescribeTable", "dynamodb:ExportTableToPointInTime",
      "dynamodb:DescribeContinuousBackups", "dynamodb:DescribeContributorInsights", "dynamodb:DescribeTimeToLive",
      "dynamodb:GetResourcePolicy", "dynamodb:ListTagsOfResource",
      "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl", "s3:AbortMultipartUpload", "s3:ListBucket",
      "kms:Decrypt", "kms:GenerateDataKey",
    ])
    error_message = "The export Lambda's own policy document grants exactly what its code calls."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.export.statement : s.resources if contains(s.actions, "dynamodb:ExportTableToPointInTime")])) == toset([
      "arn:aws:dynamodb:eu-west-1:123456789012:table/orders",
      "arn:aws:dynamodb:eu-west-1:123456789012:table/users",
    ])
    error_message = "The export Lambda may export the listed tables, and no other."
  }

  assert {
    condition = toset(flatten(data.aws_iam_policy_document.monitor.statement[*].actions)) == toset([
      "dynamodb:DescribeExport", "s3:GetObject", "s3:PutObject", "s3:ListBucket", "kms:Decrypt", "kms:GenerateDataKey",
    ])
    error_message = "The export monitor's own policy document grants exactly what its code calls."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.monitor.statement : s.resources if contains(s.actions, "dynamodb:DescribeExport")])) == toset([
      "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/export/*",
      "arn:aws:dynamodb:eu-west-1:123456789012:table/users/export/*",
    ])
    error_message = "The monitor follows the exports of the listed tables only."
  }

  assert {
    condition     = aws_cloudwatch_event_rule.export.schedule_expression == "cron(0 3 * * ? *)" && aws_cloudwatch_event_rule.monitor.schedule_expression == "rate(10 minutes)"
    error_message = "The export runs daily at 03:00 UTC and the monitor every 10 minutes."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.backup_not_complete.period == 86400 && aws_cloudwatch_metric_alarm.backup_not_complete.treat_missing_data == "breaching"
    error_message = "No COMPLETE backup in 24 h (and no data at all) raises the not-complete alarm."
  }

  assert {
    condition     = module.export.errors_alarm_name == "dynamodb-dr-prod-export-backup-errors" && module.monitor.errors_alarm_name == "dynamodb-dr-prod-export-monitor-errors" && module.chain.errors_alarm_name == "dynamodb-dr-prod-export-chain-errors"
    error_message = "Each export Lambda keeps its Errors alarm."
  }

  assert {
    condition = toset(flatten(data.aws_iam_policy_document.chain.statement[*].actions)) == toset([
      "dynamodb:DescribeTable", "dynamodb:DescribeContinuousBackups", "dynamodb:ExportTableToPointInTime", "dynamodb:DescribeExport",
      "s3:GetObject", "s3:PutObject", "s3:PutObjectAcl", "s3:AbortMultipartUpload", "s3:ListBucket",
      "kms:Decrypt", "kms:GenerateDataKey", "cloudwatch:PutMetricData",
    ])
    error_message = "The export chain Lambda's own policy document grants exactly what its code calls."
  }

  assert {
    condition = toset(flatten([for s in data.aws_iam_policy_document.chain.statement : s.resources if contains(s.actions, "s3:PutObject")])) == toset([
      "arn:aws:s3:::mocked-bucket/native-exports/incremental/*",
    ])
    error_message = "The export chain writes (and DynamoDB writes its exports) under the incremental prefix only."
  }

  assert {
    condition     = aws_cloudwatch_event_rule.chain.schedule_expression == "rate(60 minutes)"
    error_message = "The export chain runs every incremental_export_minutes (default 60)."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.chain_lag["orders"].threshold == 7200 && aws_cloudwatch_metric_alarm.chain_lag["orders"].treat_missing_data == "breaching" && aws_cloudwatch_metric_alarm.chain_restarted["users"].metric_name == "ChainRestarted"
    error_message = "Per table: an alarm when the chain lags by more than two windows (or reports nothing), and one when it restarts."
  }
}

run "lambda_function_without_dead_letter_queue" {
  command = plan

  module {
    source = "../../modules/lambda_function"
  }

  variables {
    function_name                  = "dynamodb-dr-prod-stream-recovery"
    description                    = "test"
    package_path                   = "tests/artifacts/lambda/stream_recovery.zip"
    powertools_layer_arn           = "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python311-x86_64:27"
    timeout                        = 120
    reserved_concurrent_executions = 20
    environment_variables          = { A = "1" }
    kms_key_arn                    = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    policy_name                    = "stream-recovery"
    policy_json                    = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    alarm_topic_arn                = "arn:aws:sns:eu-west-1:123456789012:incidents"
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.role.statement : s.sid] == ["WriteOwnLogs", "ActiveTracing"]
    error_message = "Without a dead-letter queue the module adds only its logs and X-Ray statements."
  }

  assert {
    condition     = data.aws_iam_policy_document.role.statement[0].resources == toset(["arn:aws:logs:eu-west-1:123456789012:log-group:mocked:*"])
    error_message = "The function writes only to the streams of its own log group."
  }

  assert {
    condition     = length(aws_lambda_function.this.dead_letter_config) == 0 && aws_lambda_function.this.tracing_config[0].mode == "Active"
    error_message = "No dead_letter_config without a queue; tracing is active."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/lambda/dynamodb-dr-prod-stream-recovery" && aws_iam_role.this.name == "dynamodb-dr-prod-stream-recovery-role"
    error_message = "The log group and role keep the names they had before modules/lambda_function."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.errors.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:incidents"]) && aws_cloudwatch_metric_alarm.errors.metric_name == "Errors"
    error_message = "The Errors alarm publishes to alarm_topic_arn."
  }
}

run "lambda_function_with_dead_letter_queue" {
  command = plan

  module {
    source = "../../modules/lambda_function"
  }

  variables {
    function_name                  = "dynamodb-dr-prod-export-backup"
    description                    = "test"
    package_path                   = "tests/artifacts/lambda/export_backup.zip"
    powertools_layer_arn           = "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python311-x86_64:27"
    timeout                        = 300
    reserved_concurrent_executions = 1
    environment_variables          = { A = "1" }
    kms_key_arn                    = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    policy_name                    = "export-backup"
    policy_json                    = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    dead_letter_queue_arn          = "arn:aws:sqs:eu-west-1:123456789012:dynamodb-dr-prod-backup-dlq"
    alarm_topic_arn                = "arn:aws:sns:eu-west-1:123456789012:alarms"
  }

  assert {
    condition     = [for s in data.aws_iam_policy_document.role.statement : s.sid] == ["WriteOwnLogs", "ActiveTracing", "DeadLetterQueue"]
    error_message = "With a dead-letter queue the module also grants sending to it."
  }

  assert {
    condition     = data.aws_iam_policy_document.role.statement[2].actions == toset(["sqs:SendMessage"]) && data.aws_iam_policy_document.role.statement[2].resources == toset(["arn:aws:sqs:eu-west-1:123456789012:dynamodb-dr-prod-backup-dlq"])
    error_message = "The dead-letter grant is SendMessage on that queue only."
  }

  assert {
    condition     = aws_lambda_function.this.dead_letter_config[0].target_arn == "arn:aws:sqs:eu-west-1:123456789012:dynamodb-dr-prod-backup-dlq"
    error_message = "The function sends failed asynchronous invocations to the queue."
  }
}

run "stream_recovery" {
  command = plan

  module {
    source = "../../modules/stream_recovery"
  }

  variables {
    name                    = "dynamodb-dr-prod"
    package_path            = "tests/artifacts/lambda/stream_recovery.zip"
    powertools_layer_arn    = "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python311-x86_64:27"
    kms_key_arn             = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    backup_vault_name       = "dynamodb-dr-prod-dynamodb"
    backup_restore_role_arn = "arn:aws:iam::123456789012:role/dynamodb-dr-prod-aws-backup"
    access_log_bucket_name  = "dynamodb-dr-prod-access-logs"
  }

  assert {
    condition = toset(flatten(data.aws_iam_policy_document.stream_recovery.statement[*].actions)) == toset([
      "dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:DescribeTable",
      "dynamodb:DescribeContinuousBackups", "dynamodb:DescribeTimeToLive", "dynamodb:ListTagsOfResource",
      "dynamodb:RestoreTableToPointInTime", "dynamodb:BatchWriteItem", "dynamodb:Query", "dynamodb:Scan",
      "dynamodb:TagResource", "dynamodb:UpdateContinuousBackups", "dynamodb:UpdateTable", "dynamodb:UpdateTimeToLive",
      "dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams",
      "backup:ListRecoveryPointsByResource", "backup:DescribeRestoreJob", "backup:StartRestoreJob", "iam:PassRole", "sns:Publish",
      "kms:Decrypt", "kms:GenerateDataKey", "s3:PutObject", "s3:ListBucket",
      "application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies",
      "application-autoscaling:PutScalingPolicy", "application-autoscaling:RegisterScalableTarget",
      "cloudwatch:DeleteAlarms", "cloudwatch:PutMetricAlarm", "cloudwatch:DescribeAlarms",
    ])
    error_message = "The stream recovery Lambda's own policy document grants exactly what its code and event source mappings use."
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.stream_recovery.statement : s.resources if contains(s.actions, "cloudwatch:PutMetricAlarm")]) == toset(["arn:aws:cloudwatch:eu-west-1:123456789012:alarm:TargetTracking-table/orders-recovery-*", "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:TargetTracking-table/users-recovery-*"])
    error_message = "The auto scaling alarms the Lambda may make are those of the recovery tables only."
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.stream_recovery.statement : s.resources if contains(s.actions, "iam:PassRole")]) == toset(["arn:aws:iam::123456789012:role/dynamodb-dr-prod-aws-backup"])
    error_message = "The Lambda may pass the AWS Backup restore role, and no other."
  }

  assert {
    condition = alltrue([for table, mapping in aws_lambda_event_source_mapping.stream : (
      mapping.bisect_batch_on_function_error && mapping.function_response_types == toset(["ReportBatchItemFailures"])
      && mapping.destination_config[0].on_failure[0].destination_arn == aws_s3_bucket.failures.arn
    )]) && toset(keys(aws_lambda_event_source_mapping.stream)) == toset(["orders", "users"])
    error_message = "One mapping per protected table, with partial batch failures, bisection and an S3 on-failure destination (it keeps the records)."
  }

  assert {
    condition     = aws_cloudwatch_event_rule.followup.schedule_expression == "rate(1 minute)" && aws_lambda_permission.followup.principal == "events.amazonaws.com"
    error_message = "The follow-up runs on a schedule, whether or not records arrive."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.record_failures.metric_name == "StreamRecordFailures"
      && aws_cloudwatch_metric_alarm.iterator_age.metric_name == "IteratorAge"
      && aws_cloudwatch_metric_alarm.throttles.metric_name == "Throttles"
    )
    error_message = "Alarms on per-record failures, iterator age and throttles."
  }

  assert {
    condition     = module.function.function_name == "dynamodb-dr-prod-stream-recovery"
    error_message = "The stream recovery Lambda keeps its name."
  }
}

run "glue_restore" {
  command = plan

  module {
    source = "../../modules/glue_restore"
  }

  variables {
    name                = "dynamodb-dr-prod"
    backup_bucket_name  = "mocked-bucket"
    backup_bucket_arn   = "arn:aws:s3:::mocked-bucket"
    exports_prefix      = "native-exports"
    kms_key_arn         = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    script_path         = "tests/artifacts/glue/restore_job.py"
    library_path        = "tests/artifacts/glue/dynamodb_dr.zip"
    python_wheel_paths  = ["tests/artifacts/glue/wheels/placeholder-0.0.0-py3-none-any.whl"]
    restore_table_names = ["orders", "users"]
    worker_type         = "G.1X"
    number_of_workers   = 4
  }

  assert {
    condition = aws_glue_job.restore.default_arguments == tomap({
      "--BACKUP_BUCKET"                    = "mocked-bucket"
      "--ENVIRONMENT"                      = "prod"
      "--S3_EXPORTS_PREFIX"                = "native-exports"
      "--extra-py-files"                   = "s3://mocked-bucket/glue-artifacts/dynamodb_dr.zip"
      "--additional-python-modules"        = "s3://mocked-bucket/glue-artifacts/wheels/placeholder-0.0.0-py3-none-any.whl"
      "--job-language"                     = "python"
      "--job-bookmark-option"              = "job-bookmark-disable"
      "--enable-continuous-cloudwatch-log" = "true"
      "--continuous-log-logGroup"          = "/aws-glue/jobs/dynamodb-dr-prod-restore"
    })
    error_message = "The Glue job's default arguments: the bucket, environment and prefix, its library and wheel, its log group."
  }

  assert {
    condition     = aws_glue_job.restore.glue_version == "5.0" && aws_glue_job.restore.worker_type == "G.1X" && aws_glue_job.restore.number_of_workers == 4 && aws_glue_job.restore.command[0].script_location == "s3://mocked-bucket/glue-artifacts/restore_job.py"
    error_message = "Glue 5.0 with the example's workers, running the uploaded script."
  }

  assert {
    condition     = aws_glue_trigger.drill.schedule == "cron(0 4 ? * SUN *)" && aws_glue_trigger.drill.actions[0].arguments["--drill"] == "true" && aws_glue_trigger.drill.actions[0].arguments["--backup_date"] == "latest" && !contains(keys(aws_glue_trigger.drill.actions[0].arguments), "--tables")
    error_message = "A weekly drill of every table's latest backup, started on the restore job."
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.drill_stale) == 2 && aws_cloudwatch_metric_alarm.drill_stale["orders"].treat_missing_data == "breaching" && aws_cloudwatch_metric_alarm.drill_failed["users"].dimensions["Table"] == "users"
    error_message = "Per table: an alarm when a drill fails, and one when none succeeded (missing data breaching)."
  }
}

run "restore_lambda" {
  command = plan

  module {
    source = "../../modules/restore_lambda"
  }

  variables {
    name                 = "dynamodb-dr-prod"
    environment          = "prod"
    backup_bucket_name   = "mocked-bucket"
    backup_bucket_arn    = "arn:aws:s3:::mocked-bucket"
    exports_prefix       = "native-exports"
    kms_key_arn          = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    restore_table_names  = ["orders", "users"]
    glue_job_name        = "dynamodb-dr-prod-restore"
    restore_package_path = "tests/artifacts/lambda/restore.zip"
    powertools_layer_arn = "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python311-x86_64:27"
    alarm_topic_arn      = "arn:aws:sns:eu-west-1:123456789012:dynamodb-dr-prod-backup-alarms"
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.restore.statement : s.resources if contains(s.actions, "glue:StartJobRun")]) == toset(["arn:aws:glue:eu-west-1:123456789012:job/dynamodb-dr-prod-restore"])
    error_message = "The Restore Lambda may start the Glue restore job, and no other job."
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.restore.statement : s.resources if contains(s.actions, "dynamodb:BatchWriteItem")]) == toset(["arn:aws:dynamodb:eu-west-1:123456789012:table/orders", "arn:aws:dynamodb:eu-west-1:123456789012:table/users"])
    error_message = "The Restore Lambda writes only the restore tables."
  }

  assert {
    condition     = module.function.function_name == "dynamodb-dr-prod-restore" && aws_lambda_function_event_invoke_config.restore.maximum_retry_attempts == 0
    error_message = "The Restore Lambda is <name>-restore and an asynchronous invocation is never retried blindly."
  }
}

run "example_root_with_a_dr_region" {
  command = plan

  variables {
    dr_region             = "eu-central-1"
    backup_copy_vault_arn = "arn:aws:backup:eu-west-1:999999999999:backup-vault:central-dr"
  }

  assert {
    condition     = output.dr_backup_bucket == "mocked-replica" && output.dr_restore_job_name == "dynamodb-dr-prod-dr-restore"
    error_message = "With a DR region the replica and a restore job there (reading it) are planned."
  }

  assert {
    condition     = output.dr_restore_function_name == "dynamodb-dr-prod-dr-restore"
    error_message = "With a DR region the Restore Lambda is planned there too."
  }

  assert {
    condition     = output.dr_backup_vault_arn == "arn:aws:backup:eu-central-1:123456789012:backup-vault:dynamodb-dr-prod-dynamodb-dr"
    error_message = "With a DR region an AWS Backup vault is planned there."
  }
}

run "example_root_without_a_dr_region" {
  command = plan

  assert {
    condition     = output.dr_backup_bucket == null && output.dr_restore_job_name == null && output.dr_backup_vault_arn == null && output.dr_restore_function_name == null
    error_message = "Without dr_region nothing is planned in another region."
  }
}

run "dr_replica" {
  command = plan

  module {
    source = "../../modules/dr_replica"
  }

  providers = {
    aws = aws.dr
  }

  variables {
    name             = "dynamodb-dr-prod"
    object_lock_mode = "COMPLIANCE"
    object_lock_days = 90
  }

  assert {
    condition     = aws_s3_bucket.replica.object_lock_enabled && aws_s3_bucket_versioning.replica.versioning_configuration[0].status == "Enabled"
    error_message = "The replica is versioned and has Object Lock on."
  }

  assert {
    condition     = aws_s3_bucket_object_lock_configuration.replica.rule[0].default_retention[0].mode == "COMPLIANCE" && aws_s3_bucket_object_lock_configuration.replica.rule[0].default_retention[0].days == 90
    error_message = "The replica's default retention takes object_lock_mode and object_lock_days."
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.replica.rule).apply_server_side_encryption_by_default).kms_master_key_id == "arn:aws:kms:eu-central-1:123456789012:key/11111111-1111-1111-1111-111111111111"
    error_message = "The replica is encrypted with the DR region's own key."
  }

  assert {
    condition     = [for r in aws_s3_bucket_lifecycle_configuration.replica.rule : r.expiration[0].days if r.id == "expire-exports-after-retention"] == [90]
    error_message = "Exports expire no earlier than their lock ends."
  }

  assert {
    condition     = aws_s3_bucket.replica.bucket == "dynamodb-dr-prod-backups-replica-123456789012-eu-central-1"
    error_message = "The replica is named <name>-backups-replica-<account>-<dr region>."
  }
}

run "dr_replica_refuses_an_unknown_lock_mode" {
  command = plan

  module {
    source = "../../modules/dr_replica"
  }

  providers = {
    aws = aws.dr
  }

  variables {
    name             = "dynamodb-dr-prod"
    object_lock_mode = "LEGAL_HOLD"
  }

  expect_failures = [var.object_lock_mode]
}

run "backup_storage_replicates_to_the_dr_replica" {
  command = plan

  module {
    source = "../../modules/backup_storage"
  }

  variables {
    name = "dynamodb-dr-prod"
    replica = {
      bucket_arn  = "arn:aws:s3:::mocked-replica"
      kms_key_arn = "arn:aws:kms:eu-central-1:123456789012:key/11111111-1111-1111-1111-111111111111"
      region      = "eu-central-1"
    }
  }

  assert {
    condition     = one(aws_s3_bucket_replication_configuration.exports[0].rule).destination[0].bucket == "arn:aws:s3:::mocked-replica" && one(aws_s3_bucket_replication_configuration.exports[0].rule).destination[0].encryption_configuration[0].replica_kms_key_id == "arn:aws:kms:eu-central-1:123456789012:key/11111111-1111-1111-1111-111111111111"
    error_message = "The exports replicate to the replica, encrypted there with the DR key."
  }

  assert {
    condition     = one(aws_s3_bucket_replication_configuration.exports[0].rule).filter[0].prefix == "native-exports/" && one(aws_s3_bucket_replication_configuration.exports[0].rule).delete_marker_replication[0].status == "Disabled"
    error_message = "Only the exports prefix replicates, and deletions do not."
  }

  assert {
    condition = toset(flatten(data.aws_iam_policy_document.replication[0].statement[*].actions)) == toset([
      "s3:GetReplicationConfiguration", "s3:ListBucket",
      "s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging",
      "s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags",
      "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey",
    ])
    error_message = "The replication role reads the exports and writes replicas, nothing else."
  }

  assert {
    condition     = one([for st in data.aws_iam_policy_document.replication[0].statement : st.resources if contains(st.actions, "s3:ReplicateObject")]) == toset(["arn:aws:s3:::mocked-replica/native-exports/*"])
    error_message = "Replicas are written into the replica's exports prefix only."
  }
}

run "backup_storage_without_a_replica" {
  command = plan

  module {
    source = "../../modules/backup_storage"
  }

  variables {
    name = "dynamodb-dr-prod"
  }

  assert {
    condition     = length(aws_s3_bucket_replication_configuration.exports) == 0 && length(aws_iam_role.replication) == 0
    error_message = "Without a replica nothing replicates."
  }
}

run "aws_backup_copies_to_the_dr_vault_and_another_account" {
  command = plan

  module {
    source = "../../modules/aws_backup"
  }

  variables {
    name        = "dynamodb-dr-prod"
    table_names = ["orders"]
    kms_key_arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    copy_vault_arns = [
      "arn:aws:backup:eu-central-1:123456789012:backup-vault:dynamodb-dr-prod-dynamodb-dr",
      "arn:aws:backup:eu-west-1:999999999999:backup-vault:central-dr",
    ]
    copy_delete_after_days = 90
  }

  assert {
    condition = toset([for c in one(aws_backup_plan.this.rule).copy_action : c.destination_vault_arn]) == toset([
      "arn:aws:backup:eu-central-1:123456789012:backup-vault:dynamodb-dr-prod-dynamodb-dr",
      "arn:aws:backup:eu-west-1:999999999999:backup-vault:central-dr",
    ])
    error_message = "Every recovery point is copied to each copy vault."
  }

  assert {
    condition     = alltrue([for c in one(aws_backup_plan.this.rule).copy_action : c.lifecycle[0].delete_after == 90])
    error_message = "Copies are kept copy_delete_after_days."
  }
}
