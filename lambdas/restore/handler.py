"""Restore Lambda: restore a backup into DynamoDB from a JSON event; small restores here, in
seconds, large ones handed to the Glue restore job.

Thin on purpose: parse the event (``dynamodb_dr.restore.args.parse_event``: the job's argument names
and checks, JSON-typed), build the clients, call ``dynamodb_dr.restore.lambda_restore``. Answers
``{"statusCode": 200|207|500, "body": <the job's report>}``, ``400`` for a bad event, or ``202`` with
the Glue job run it started when the restore would not fit in the time left::

    {"backup_date": "latest", "tables": ["orders"], "dry_run": true}
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from dynamodb_dr.clients import client_config, make_client
from dynamodb_dr.errors import ConfigError
from dynamodb_dr.restore.args import MAX_MAX_WORKERS, parse_event
from dynamodb_dr.restore.lambda_restore import LambdaSettings, restore_or_hand_off
from dynamodb_dr.restore.report import not_started

logger = Logger(service="dynamodb-dr-restore")


@logger.inject_lambda_context(log_event=True)
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    try:
        args = parse_event(event)
    except ConfigError as exc:
        logger.error("restore not started: bad event", extra={"error": str(exc)})
        return {"statusCode": 400, "body": not_started(None, str(exc), bad_input=True).to_dict()}
    try:
        settings = LambdaSettings.from_env(os.environ)
    except ConfigError as exc:
        logger.error("restore not started: bad configuration", extra={"error": str(exc)})
        return {"statusCode": 500, "body": not_started(args, str(exc), bad_input=False).to_dict()}
    pool = client_config(max_pool_connections=MAX_MAX_WORKERS + 4)
    result = restore_or_hand_off(
        args,
        s3=make_client("s3", config=pool),
        dynamodb=make_client("dynamodb", config=pool),
        glue=make_client("glue"),
        settings=settings,
        remaining_ms=context.get_remaining_time_in_millis,
    )
    logger.info("restore answered", extra={"status_code": result["statusCode"]})
    return result
