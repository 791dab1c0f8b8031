# Copy to terraform.tfvars and edit. Every table listed needs PITR on; every protected table also
# needs a NEW_AND_OLD_IMAGES stream (terraform plan checks both and says how to fix them).
aws_region  = "eu-west-1"
environment = "prod"

table_names = ["orders", "users"]

export_schedule  = "cron(0 3 * * ? *)" # daily, 03:00 UTC
monitor_schedule = "rate(10 minutes)"

incremental_export_minutes = 60 # the export chain's window: the RPO of a restore to a point
retention_days             = 35

glue_worker_type       = "G.1X"
glue_number_of_workers = 4

protected_tables = {
  orders = {
    # Protect only attributes that never change legitimately: every change of one is undone.
    # (status changes all day: protecting it would revert every legitimate order update.)
    action               = "item_repair"
    protected_attributes = ["price", "customer_id"]
  }
  users = {
    action          = "pitr_restore"
    burst_threshold = 50
  }
}

alarm_emails = ["oncall@example.com"]
