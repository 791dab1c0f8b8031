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
