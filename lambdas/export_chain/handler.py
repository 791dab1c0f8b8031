"""Export chain Lambda: every INCREMENTAL_EXPORT_MINUTES, follow, check and extend each table's chain
of incremental exports (``dynamodb_dr.export.chain``).

Its own function, not a mode of the daily export Lambda: it runs on another schedule (every window,
not daily), needs other permissions (DescribeContinuousBackups, DescribeExport, CloudWatch metrics)
the daily export does not, and a failure of one never holds up the other. Thin on purpose: read the
configuration, build the clients, call ``run_chains``. Returns ``{"statusCode": 200|207|500,
"body": {...}}`` with ``body`` a dict.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from dynamodb_dr.clients import client_config, make_client
from dynamodb_dr.config import BackupSettings
from dynamodb_dr.errors import DynamoDBDRError
from dynamodb_dr.export.chain import MAX_PARALLEL_TABLES, run_chains

logger = Logger(service="dynamodb-dr-export-chain")


@logger.inject_lambda_context(log_event=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        settings = BackupSettings.from_env()
        settings.chain_minutes()
        config = client_config(max_pool_connections=MAX_PARALLEL_TABLES * 2)
        dynamodb = make_client("dynamodb", config=config)
        s3 = make_client("s3", config=config)
        cloudwatch = make_client("cloudwatch")
        result = run_chains(dynamodb, s3, cloudwatch, settings, log=logger)
    except DynamoDBDRError as exc:
        logger.exception(
            "export chain run failed", extra={"error_type": type(exc).__name__, "error": str(exc)}
        )
        raise
    body = result["body"]
    logger.info(
        "export chain finished",
        extra={"status_code": result["statusCode"], "windows_started": body["windows_started"],
               "chains_restarted": body["chains_restarted"]},
    )  # fmt: skip
    return result
