"""Export monitor Lambda: every few minutes, follow the day's exports and fill in the manifest.

Thin on purpose: read the configuration, build the clients, call ``dynamodb_dr.export.monitor``. Invoke
it with ``{"backup_date": "YYYY-MM-DD"}`` to check one date. Returns the export Lambda's response
shape (``body`` a dict, not a JSON string) plus ``backup_status`` and ``pending_tables``.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from dynamodb_dr.clients import client_config, make_client
from dynamodb_dr.config import BackupSettings
from dynamodb_dr.errors import DynamoDBDRError
from dynamodb_dr.export.backup import MAX_PARALLEL_TABLES
from dynamodb_dr.export.monitor import run_monitor

logger = Logger(service="dynamodb-dr-export-monitor")


@logger.inject_lambda_context(log_event=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        settings = BackupSettings.from_env()
        dynamodb = make_client("dynamodb", config=client_config(max_pool_connections=MAX_PARALLEL_TABLES * 2))
        s3 = make_client("s3", config=client_config(max_pool_connections=MAX_PARALLEL_TABLES * 2))
        result = run_monitor(dynamodb, s3, settings, event, log=logger)
    except DynamoDBDRError as exc:
        logger.exception("export monitor failed", extra={"error_type": type(exc).__name__, "error": str(exc)})
        raise
    body = result["body"]
    logger.info(
        "export monitor finished",
        extra={
            "status_code": result["statusCode"],
            "backup_date": body["backup_date"],
            "backup_status": body["backup_status"],
            "pending_tables": body["pending_tables"],
        },
    )
    return result
