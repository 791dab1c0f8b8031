"""The export side: start DynamoDB native exports per table (``backup``), follow them to the end
and finish the backup manifest (``monitor``)."""
