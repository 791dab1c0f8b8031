output "job_name" {
  description = "Name of the Glue restore job (aws glue start-job-run --job-name ...)."
  value       = aws_glue_job.restore.name
}

output "role_arn" {
  description = "ARN of the job's role."
  value       = aws_iam_role.glue.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the job's continuous logs."
  value       = aws_cloudwatch_log_group.job.name
}

output "script_s3_uri" {
  description = "Where the job script was uploaded."
  value       = local.script_uri
}

output "python_wheel_s3_uris" {
  description = "Where the wheels Glue installs at job start (--additional-python-modules) were uploaded; empty without python_wheel_paths."
  value       = [for wheel in aws_s3_object.wheel : "s3://${wheel.bucket}/${wheel.key}"]
}

output "drill_topic_arn" {
  description = "SNS topic that hears every drill's result and the drill alarms."
  value       = aws_sns_topic.alarms.arn
}
