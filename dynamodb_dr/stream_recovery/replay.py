"""Replay stream batches that the event source mapping gave up on, from its S3 on-failure destination.

An S3 on-failure destination keeps, per discarded batch, one JSON object with the invocation's
metadata and the whole invocation record (the event) under ``payload``; SQS and SNS destinations
keep only the metadata, and the stream drops records after 24 hours. Run, with the Lambda's
environment (``PROTECTED_TABLES``, ``INCIDENT_STATE_TABLE``, ...) and credentials allowed to do what
the Lambda does::

    python -m dynamodb_dr.stream_recovery.replay --bucket BUCKET [--prefix aws/lambda/] [--dry-run]

Every batch goes through the same logic as in the Lambda, so replaying is safe: repairs are still
conditional, incidents are joined, not duplicated. A batch whose records all succeed is reported
``replayed``; the objects are left in place (delete them yourself, or let the bucket's lifecycle rule
expire them). Exit status 1 when any record failed again.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr.errors import DynamoDBDRError
from dynamodb_dr.stream_recovery.errors import StreamRecordError


def failed_batches(s3: Any, bucket: str, prefix: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(object key, the event it holds) for every on-failure record under ``prefix``."""
    paginator = s3.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
            yield entry["Key"], event_of(json.loads(body), entry["Key"])


def event_of(record: dict[str, Any], where: str) -> dict[str, Any]:
    """The event inside an on-failure record: ``payload`` as a JSON object or as JSON text."""
    payload = record.get("payload")
    if isinstance(payload, str):
        payload = json.loads(payload)
    if not isinstance(payload, dict) or not isinstance(payload.get("Records"), list):
        raise StreamRecordError(
            f"{where} holds no invocation record (no payload.Records): is it from an SQS/SNS destination? "
            "Only an S3 on-failure destination keeps the records"
        )
    return payload


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--prefix", default="", help="key prefix of the on-failure records")
    parser.add_argument("--dry-run", action="store_true", help="list the batches, replay nothing")
    args = parser.parse_args(argv)

    from dynamodb_dr.clients import make_client
    from dynamodb_dr.stream_recovery.processor import process_event, runtime_from_env

    runtime = None if args.dry_run else runtime_from_env()
    failed = 0
    try:
        for key, event in failed_batches(make_client("s3"), args.bucket, args.prefix):
            records = len(event["Records"])
            if runtime is None:
                print(json.dumps({"object": key, "records": records, "status": "would_replay"}))
                continue
            response = process_event(event, None, runtime)
            failures = [f["itemIdentifier"] for f in response["batchItemFailures"]]
            failed += len(failures)
            status = "failed_again" if failures else "replayed"
            print(json.dumps({"object": key, "records": records, "status": status, "failed": failures}))
    except (ClientError, DynamoDBDRError, json.JSONDecodeError) as exc:
        print(f"replay stopped: {exc}", file=sys.stderr)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
