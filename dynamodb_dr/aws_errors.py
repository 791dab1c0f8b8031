"""Reading AWS errors: one helper for the code, one set of codes per meaning.

Every ``ClientError`` this toolkit branches on goes through ``error_code``; the sets of codes that
mean "throttled", "retry later" or "no such object" are kept here once, so the export side, the
restore's reads and its writer agree on them.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "SlowDown",
    }
)
"""The call was throttled: back off (and slow down) before trying again."""

TRANSIENT_CODES = frozenset(
    {
        "InternalServerError",
        "InternalError",
        "ServiceUnavailable",
        "LimitExceededException",
        "TransactionInProgressException",
        "CRC32CheckFailed",
    }
)
"""Not throttling, but worth the same call again after a backoff."""

EXPIRED_CREDENTIALS_CODES = frozenset({"ExpiredTokenException", "ExpiredToken", "RequestExpired"})
"""The request's credentials expired: fetch them again (refreshable ones renew) and retry."""

MISSING_OBJECT_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
"""An S3 GET/HEAD of a key that does not exist."""

MISSING_BUCKET_CODES = frozenset({"NoSuchBucket"})

MISSING_TABLE_CODES = frozenset({"ResourceNotFoundException", "TableNotFoundException"})

CONDITION_FAILED_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412"})
"""An S3 conditional write (If-Match / If-None-Match) lost its condition."""


def error_code(exc: ClientError) -> str:
    """The error's code (``""`` when the answer had none)."""
    return str(exc.response.get("Error", {}).get("Code") or "")


def error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message") or exc)


def http_status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def is_throttling(exc: ClientError) -> bool:
    return error_code(exc) in THROTTLING_CODES


def is_missing_object(exc: ClientError) -> bool:
    return error_code(exc) in MISSING_OBJECT_CODES


def is_missing_bucket(exc: ClientError) -> bool:
    return error_code(exc) in MISSING_BUCKET_CODES


def is_missing_table(exc: ClientError) -> bool:
    return error_code(exc) in MISSING_TABLE_CODES


def is_condition_failed(exc: ClientError) -> bool:
    return error_code(exc) in CONDITION_FAILED_CODES


def describe(exc: ClientError) -> str:
    """``Code: message`` for a log line or a report."""
    return f"{error_code(exc) or 'error'}: {error_message(exc)}"
