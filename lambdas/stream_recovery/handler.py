"""DynamoDB Streams -> stream recovery. Event source mapping: NEW_AND_OLD_IMAGES stream,
FunctionResponseTypes = ReportBatchItemFailures. The logic lives in dynamodb_dr.stream_recovery."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from dynamodb_dr.stream_recovery.processor import logger, process_event, runtime_from_env


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_event(event, context, runtime_from_env())
