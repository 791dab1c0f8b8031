# Root configuration to copy: the whole backup-and-recovery system for one environment.
# Build the artifacts first (`make package` at the repository root), then terraform init/plan/apply.

data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  name          = "${var.name_prefix}-${var.environment}"
  artifacts_dir = coalesce(var.artifacts_dir, "${path.root}/../../../dist")

  # Every wheel `make package` wrote for the Glue job (the pinned isal): its name and pin live only
  # in scripts/package.py. A --no-glue-wheels build writes none, and the job reads with zlib.
  glue_wheels_dir = "${local.artifacts_dir}/glue/wheels"

  # AWS publishes this layer in every commercial region under account 017000801446.
  powertools_layer_arn = "arn:${data.aws_partition.current.partition}:lambda:${data.aws_region.current.name}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python311-x86_64:${var.powertools_layer_version}"
}

module "backup_storage" {
  source = "../../modules/backup_storage"

  name           = local.name
  bucket_name    = var.bucket_name
  retention_days = var.retention_days
  force_destroy  = var.force_destroy

  # The stream recovery failure bucket (modules/stream_recovery: bucket_prefix "<name>-stream-failures-")
  # logs its access here too.
  logged_bucket_name_prefixes = ["${local.name}-stream-failures-"]

  # var.dr_region: the exports replicated to the DR region's locked replica.
  replica = one(module.dr_replica[*].replica)
}

module "export_backup" {
  source = "../../modules/export_backup"

  name                 = local.name
  environment          = var.environment
  table_names          = var.table_names
  backup_bucket_name   = module.backup_storage.bucket_name
  backup_bucket_arn    = module.backup_storage.bucket_arn
  exports_prefix       = module.backup_storage.exports_prefix
  kms_key_arn          = module.backup_storage.kms_key_arn
  export_package_path  = "${local.artifacts_dir}/lambda/export_backup.zip"
  monitor_package_path = "${local.artifacts_dir}/lambda/export_monitor.zip"
  chain_package_path   = "${local.artifacts_dir}/lambda/export_chain.zip"
  powertools_layer_arn = local.powertools_layer_arn
  export_schedule      = var.export_schedule
  monitor_schedule     = var.monitor_schedule

  incremental_export_minutes = var.incremental_export_minutes
  incremental_export_view    = var.incremental_export_view
  backup_deadline_hours      = var.backup_deadline_hours
  log_retention_days         = var.log_retention_days
  alarm_emails               = var.alarm_emails
}

module "glue_restore" {
  source = "../../modules/glue_restore"

  name                = local.name
  environment         = var.environment
  backup_bucket_name  = module.backup_storage.bucket_name
  backup_bucket_arn   = module.backup_storage.bucket_arn
  exports_prefix      = module.backup_storage.exports_prefix
  kms_key_arn         = module.backup_storage.kms_key_arn
  script_path         = "${local.artifacts_dir}/glue/restore_job.py"
  library_path        = "${local.artifacts_dir}/glue/dynamodb_dr.zip"
  python_wheel_paths  = [for name in sort(fileset(local.glue_wheels_dir, "*.whl")) : "${local.glue_wheels_dir}/${name}"]
  restore_table_names = distinct(concat(var.table_names, var.restore_scratch_tables))
  worker_type         = var.glue_worker_type
  number_of_workers   = var.glue_number_of_workers
  log_retention_days  = var.log_retention_days
  drill_tables        = var.table_names
  alarm_emails        = var.alarm_emails
}

module "restore_lambda" {
  source = "../../modules/restore_lambda"

  name                 = local.name
  environment          = var.environment
  backup_bucket_name   = module.backup_storage.bucket_name
  backup_bucket_arn    = module.backup_storage.bucket_arn
  exports_prefix       = module.backup_storage.exports_prefix
  kms_key_arn          = module.backup_storage.kms_key_arn
  restore_table_names  = distinct(concat(var.table_names, var.restore_scratch_tables))
  glue_job_name        = module.glue_restore.job_name
  restore_package_path = "${local.artifacts_dir}/lambda/restore.zip"
  powertools_layer_arn = local.powertools_layer_arn
  alarm_topic_arn      = module.export_backup.alarm_topic_arn
  log_retention_days   = var.log_retention_days
}

module "aws_backup" {
  source = "../../modules/aws_backup"

  name        = local.name
  table_names = distinct(concat(var.table_names, keys(var.protected_tables)))
  kms_key_arn = module.backup_storage.kms_key_arn

  copy_vault_arns = compact([one(module.dr_replica[*].backup_vault_arn), var.backup_copy_vault_arn])
}

# --- Another region (var.dr_region): the replica, and a restore job there that reads it -----------

module "dr_replica" {
  source = "../../modules/dr_replica"
  count  = var.dr_region == null ? 0 : 1

  providers = {
    aws = aws.dr
  }

  name             = local.name
  exports_prefix   = module.backup_storage.exports_prefix
  object_lock_mode = var.dr_object_lock_mode
  object_lock_days = var.dr_object_lock_days
  retention_days   = var.retention_days
  force_destroy    = var.force_destroy
  alarm_emails     = var.alarm_emails
}

# The restore job in the DR region, reading the replica: the same module, the same artifacts, the
# replica bucket and the DR key. Its runs write into tables of the DR region.
module "glue_restore_dr" {
  source = "../../modules/glue_restore"
  count  = var.dr_region == null ? 0 : 1

  providers = {
    aws = aws.dr
  }

  name                = "${local.name}-dr"
  environment         = var.environment
  backup_bucket_name  = module.dr_replica[0].bucket_name
  backup_bucket_arn   = module.dr_replica[0].bucket_arn
  exports_prefix      = module.backup_storage.exports_prefix
  kms_key_arn         = module.dr_replica[0].kms_key_arn
  script_path         = "${local.artifacts_dir}/glue/restore_job.py"
  library_path        = "${local.artifacts_dir}/glue/dynamodb_dr.zip"
  python_wheel_paths  = [for name in sort(fileset(local.glue_wheels_dir, "*.whl")) : "${local.glue_wheels_dir}/${name}"]
  restore_table_names = distinct(concat(var.table_names, var.restore_scratch_tables))
  worker_type         = var.glue_worker_type
  number_of_workers   = var.glue_number_of_workers
  log_retention_days  = var.log_retention_days
}

# The Restore Lambda in the DR region: small restores there in the function, large ones handed to
# the DR Glue job; its Errors alarm goes to the DR region's topic.
module "restore_lambda_dr" {
  source = "../../modules/restore_lambda"
  count  = var.dr_region == null ? 0 : 1

  providers = {
    aws = aws.dr
  }

  name                 = "${local.name}-dr"
  environment          = var.environment
  backup_bucket_name   = module.dr_replica[0].bucket_name
  backup_bucket_arn    = module.dr_replica[0].bucket_arn
  exports_prefix       = module.backup_storage.exports_prefix
  kms_key_arn          = module.dr_replica[0].kms_key_arn
  restore_table_names  = distinct(concat(var.table_names, var.restore_scratch_tables))
  glue_job_name        = module.glue_restore_dr[0].job_name
  restore_package_path = "${local.artifacts_dir}/lambda/restore.zip"
  powertools_layer_arn = "arn:${data.aws_partition.current.partition}:lambda:${coalesce(var.dr_region, data.aws_region.current.name)}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python311-x86_64:${var.powertools_layer_version}"
  alarm_topic_arn      = module.dr_replica[0].alarm_topic_arn
  log_retention_days   = var.log_retention_days
}

module "stream_recovery" {
  source = "../../modules/stream_recovery"
  count  = length(var.protected_tables) > 0 ? 1 : 0

  name                    = local.name
  protected_tables        = var.protected_tables
  package_path            = "${local.artifacts_dir}/lambda/stream_recovery.zip"
  powertools_layer_arn    = local.powertools_layer_arn
  kms_key_arn             = module.backup_storage.kms_key_arn
  backup_vault_name       = module.aws_backup.vault_name
  backup_restore_role_arn = module.aws_backup.service_role_arn
  access_log_bucket_name  = module.backup_storage.access_log_bucket_name
  log_retention_days      = var.log_retention_days
  alarm_emails            = var.alarm_emails
}
