"""Helpers shared by the tests (items of every DynamoDB type, backups built without the Lambda)."""
