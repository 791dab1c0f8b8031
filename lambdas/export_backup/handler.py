"""Export Lambda: on its EventBridge schedule, start today's native export of every table.

Thin on purpose: read the configuration, build the clients, call ``dynamodb_dr.export.backup``. Returns
``{"statusCode": 200|207|500, "body": {...}}`` with ``body`` as a dict (not a JSON string).
An event may carry ``{"backup_date": "YYYY-MM-DD"}``; otherwise the date is the UTC date of the
event's ``time``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from dynamodb_dr.clients import client_config, make_client
from dynamodb_dr.config import BackupSettings
from dynamodb_dr.errors import DynamoDBDRError
from dynamodb_dr.export.backup import MAX_PARALLEL_TABLES, run_scheduled_backup

logger = Logger(service="dynamodb-dr-export-backup")


@logger.inject_lambda_context(log_event=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        settings = BackupSettings.from_env()
        dynamodb = make_client("dynamodb", config=client_config(max_pool_connections=MAX_PARALLEL_TABLES * 2))
        s3 = make_client("s3", config=client_config(max_pool_connections=MAX_PARALLEL_TABLES * 2))
        result = run_scheduled_backup(dynamodb, s3, settings, event, log=logger)
    except DynamoDBDRError as exc:
        logger.exception("export backup failed", extra={"error_type": type(exc).__name__, "error": str(exc)})
        raise
    logger.info("export backup finished", extra={"status_code": result["statusCode"], **result["body"]})
    return result
