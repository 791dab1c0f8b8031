"""What one BatchWriteItem answer (or error) means for its batch: a pure decision.

``decide(outcome, batch, where)`` takes what came back for one request (the parsed JSON answer, or
the exception it raised: a ``ClientError`` with DynamoDB's code, a botocore ``ConnectionError`` when no
answer came, a ``WriteError`` when there were no credentials to sign with) and the batch's state
(items, retries so far), and returns a ``Decision``:

* ``WRITTEN``: every item was accepted;
* ``RESEND``: some came back in ``UnprocessedItems``; they are re-sent as they came after a backoff
  (and the rate limiter is told: the table is full);
* ``RETRY``: the whole batch again after a backoff: throttling (the limiter is told), a transient
  error or 5xx, a damaged answer, no answer at all, or an expired token (credentials fetched again,
  at most ``MAX_EXPIRED_RETRIES`` times in a row);
* ``FAIL``: the items are not written, with the message that names the table, the data file and
  the fix (a ``ValidationException``, access denied, anything not known to pass with time).

No clock, no randomness, no I/O: the pipeline applies the decision (its backoff with full jitter
and the batch's deadline; ``give_up`` is the message when the deadline leaves no time for another
try), and ``tests/unit/test_retry.py`` checks each case. Codes come from ``dynamodb_dr.aws_errors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from dynamodb_dr.aws_errors import (
    EXPIRED_CREDENTIALS_CODES,
    THROTTLING_CODES,
    TRANSIENT_CODES,
    error_code,
    error_message,
    http_status,
)
from dynamodb_dr.errors import WriteError

WRITTEN = "written"
RESEND = "resend"
RETRY = "retry"
FAIL = "fail"

MAX_EXPIRED_RETRIES = 3
"""An expired token is retried with freshly fetched credentials at most this many times in a row."""


@dataclass(frozen=True)
class BatchState:
    """What the policy needs to know about the batch an answer is for."""

    items: int
    attempt: int = 0
    """Backoffs so far after errors, for this body."""
    expired: int = 0
    """Retries so far after an expired token."""
    resends: int = 0
    """Rounds of ``UnprocessedItems`` re-sends this body is (0: the original items)."""


@dataclass(frozen=True)
class Where:
    """Named in every message: the table, the data file, the deadline of a batch."""

    table: str
    source: str
    deadline_seconds: float


@dataclass(frozen=True)
class Decision:
    action: str
    """``WRITTEN``, ``RESEND``, ``RETRY`` or ``FAIL``."""
    accepted: int = 0
    """Items the table took with this answer."""
    unprocessed: tuple[dict[str, Any], ...] = ()
    """``RESEND``: the requests to send again, as DynamoDB returned them."""
    throttled: bool = False
    """Tell the rate limiter the table is full (``on_throttled``)."""
    refresh_credentials: bool = False
    """``RETRY`` after an expired token: the next try fetches the credentials again."""
    backoff_exponent: int = 0
    """``RESEND`` / ``RETRY``: the backoff is up to ``base * 2 ** backoff_exponent`` (capped)."""
    failed_items: int = 0
    """``FAIL`` (and ``give_up``): items not written."""
    message: str = ""
    """``FAIL``: why, naming the table, the data file and the fix."""
    give_up: str = ""
    """``RESEND`` / ``RETRY``: the message to fail with when the deadline leaves no time to try again."""


def decide(outcome: dict[str, Any] | BaseException, batch: BatchState, where: Where) -> Decision:
    """The decision for one answer (a parsed JSON dict) or error, for a batch in state ``batch``."""
    n, table, source = batch.items, where.table, where.source
    deadline = f"{where.deadline_seconds:.0f}s"
    if isinstance(outcome, dict):
        requests = tuple((outcome.get("UnprocessedItems") or {}).get(table, ()))
        if not requests:
            return Decision(WRITTEN, accepted=n)
        left = len(requests)
        return Decision(
            RESEND,
            accepted=n - left,
            unprocessed=requests,
            throttled=True,
            backoff_exponent=batch.resends,
            failed_items=left,
            give_up=f"{left} items for table {table} from data file {source} were still unprocessed at "
            f"the retry deadline ({deadline}); they were NOT written. Re-run the restore (puts are "
            "idempotent), with fewer --max_workers or more capacity.",
        )
    if isinstance(outcome, WriteError):  # nothing to sign with: no retry will find credentials
        return Decision(FAIL, failed_items=n, message=str(outcome))
    if not isinstance(outcome, ClientError):  # no answer: connection refused/reset, read timeout
        return Decision(
            RETRY,
            backoff_exponent=batch.attempt,
            failed_items=n,
            give_up=f"{n} items for table {table} from data file {source} could not be sent before the "
            f"retry deadline ({deadline}): {outcome}. Check the network path to DynamoDB and re-run the "
            "restore (puts are idempotent).",
        )
    code = error_code(outcome)
    if code == "ValidationException":
        return Decision(
            FAIL,
            failed_items=n,
            message=f"DynamoDB rejected a batch of {n} items for table {table} from data file {source}: "
            f"{error_message(outcome)}. Check that the target table's key schema matches the backup and "
            "that no item exceeds 400 KB.",
        )
    if code in EXPIRED_CREDENTIALS_CODES:
        expired = (
            f"{n} items for table {table} from data file {source} were not written: {code}: "
            f"{error_message(outcome)}. The credentials expired and did not renew; check the job's role / "
            "session duration and re-run the restore (puts are idempotent)."
        )
        if batch.expired >= MAX_EXPIRED_RETRIES:
            return Decision(FAIL, failed_items=n, message=expired)
        return Decision(
            RETRY,
            refresh_credentials=True,
            backoff_exponent=batch.attempt,
            failed_items=n,
            give_up=expired,
        )
    if code in THROTTLING_CODES or code in TRANSIENT_CODES or http_status(outcome) >= 500:
        return Decision(
            RETRY,
            throttled=code in THROTTLING_CODES,
            backoff_exponent=batch.attempt,
            failed_items=n,
            give_up=f"{n} items for table {table} from data file {source} could not be written before the "
            f"retry deadline ({deadline}); last error {code}. Re-run the restore (puts are idempotent), "
            "with fewer --max_workers or more capacity.",
        )
    return Decision(
        FAIL,
        failed_items=n,
        message=f"writing {n} items to table {table} from data file {source} failed: {code}: "
        f"{error_message(outcome)}",
    )
