output "function_name" {
  description = "Name of the stream recovery Lambda."
  value       = module.function.function_name
}

output "role_arn" {
  description = "ARN of the stream recovery Lambda's execution role."
  value       = module.function.role_arn
}

output "state_table_name" {
  description = "DynamoDB table holding incident state (INCIDENT_STATE_TABLE)."
  value       = aws_dynamodb_table.state.name
}

output "incident_topic_arn" {
  description = "SNS topic every incident is announced on (SNS_TOPIC_ARN)."
  value       = aws_sns_topic.incidents.arn
}

output "failure_bucket_name" {
  description = "S3 bucket that keeps the stream batches given up on, with their records: python -m dynamodb_dr.stream_recovery.replay --bucket <this>."
  value       = aws_s3_bucket.failures.id
}
