"""A type-exact BatchWriteItem writer for export lines.

An export line ``{"Item":{...}}`` is exactly a PutRequest's value, so the request body is built by
byte concatenation and never goes through Python values (a ``B`` with non-UTF-8 bytes, a 38-digit
``N`` or a nested ``BS`` stay exactly as exported). The body is sent through the normal botocore
client, so SigV4 signing, credentials, endpoint resolution (``AWS_ENDPOINT_URL``) and retries stay
botocore's: a ``before-call.dynamodb.BatchWriteItem`` handler on the client swaps the serialized
body for the prepared bytes, held in a ``threading.local`` so threads can share one client.

``UnprocessedItems`` come back parsed by botocore (``B`` as bytes) and are re-sent with the plain
botocore path, whose serialization is exact too, with exponential backoff and full jitter until a
deadline. An item that still cannot be written raises ``WriteError`` with the count: nothing is
ever dropped.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from dynamodb_dr.errors import WriteError

logger = logging.getLogger(__name__)

MAX_BATCH_ITEMS = 25
_EVENT = "before-call.dynamodb.BatchWriteItem"
_HANDLER_ID = "dynamodb-dr-raw-batch-body"
# Retried by us (after botocore's own retries gave up) until the deadline.
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
    }
)
THROTTLE_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})
# Botocore validates the parameters before our handler swaps the body: this stands in for them.
_PLACEHOLDER_ITEM = {"PutRequest": {"Item": {"_": {"S": "_"}}}}

_raw = threading.local()


class RateLimiter(Protocol):
    """The seam for write-rate control (issue 5)."""

    def acquire(self, n_items: int) -> None: ...

    def on_throttled(self) -> None: ...

    def on_success(self, n_items: int) -> None: ...


class NoRateLimiter:
    """The default: no limit."""

    def acquire(self, n_items: int) -> None:
        return None

    def on_throttled(self) -> None:
        return None

    def on_success(self, n_items: int) -> None:
        return None


def _swap_body(params: dict[str, Any], **_: Any) -> None:
    body = getattr(_raw, "body", None)
    if body is not None:
        params["body"] = body


def install_raw_body_handler(client: Any) -> None:
    """Let ``client`` send prepared BatchWriteItem bodies (idempotent per client)."""
    client.meta.events.register(_EVENT, _swap_body, unique_id=_HANDLER_ID)


def batch_body(table_name: str, lines: Sequence[bytes]) -> bytes:
    """The BatchWriteItem request body for up to 25 export lines, by byte concatenation."""
    if not 0 < len(lines) <= MAX_BATCH_ITEMS:
        raise ValueError(f"a BatchWriteItem call takes 1 to {MAX_BATCH_ITEMS} items, got {len(lines)}")
    puts = b",".join(b'{"PutRequest":' + line + b"}" for line in lines)
    return b'{"RequestItems":{' + json.dumps(table_name).encode() + b":[" + puts + b"]}}"


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


class BatchWriter:
    """Writes batches of export lines into one table through one botocore client.

    Thread-safe: several threads may call ``write_lines`` on one writer (the prepared body is held
    per thread). ``deadline_seconds`` bounds how long one batch may keep retrying.
    """

    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        rate_limiter: RateLimiter | None = None,
        deadline_seconds: float = 300.0,
        base_delay: float = 0.05,
        max_delay: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.table_name = table_name
        self.rate_limiter = rate_limiter or NoRateLimiter()
        self.deadline_seconds = deadline_seconds
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._sleep = sleep
        install_raw_body_handler(client)

    # -- public ---------------------------------------------------------------------------------

    def write_lines(self, lines: Sequence[bytes], *, source: str) -> int:
        """Write up to 25 checked export lines; returns how many were written. ``source`` (the data
        file key) is named in every error."""
        deadline = time.monotonic() + self.deadline_seconds
        body = batch_body(self.table_name, lines)
        response = self._call(lambda: self._send_raw(body), len(lines), deadline, source)
        unprocessed = response.get("UnprocessedItems", {}).get(self.table_name, [])
        if unprocessed:
            self._resend(unprocessed, deadline, source)
        return len(lines)

    # -- internals ------------------------------------------------------------------------------

    def _send_raw(self, body: bytes) -> dict[str, Any]:
        _raw.body = body
        try:
            return self.client.batch_write_item(RequestItems={self.table_name: [_PLACEHOLDER_ITEM]})
        finally:
            _raw.body = None

    def _backoff(self, attempt: int, deadline: float) -> bool:
        """Sleep (full jitter); False when the deadline leaves no time for another attempt."""
        delay = random.uniform(0, min(self.max_delay, self.base_delay * (2**attempt)))
        if time.monotonic() + delay >= deadline:
            return False
        self._sleep(delay)
        return True

    def _call(self, send: Callable[[], dict[str, Any]], n_items: int, deadline: float, source: str) -> dict[str, Any]:
        attempt = 0
        while True:
            self.rate_limiter.acquire(n_items)
            try:
                response = send()
            except (BotoConnectionError, HTTPClientError) as exc:
                # No answer (connection refused/reset, read timeout) after botocore's own retries.
                if self._backoff(attempt, deadline):
                    attempt += 1
                    continue
                raise WriteError(
                    f"{n_items} items for table {self.table_name} from data file {source} could not be sent "
                    f"before the retry deadline ({self.deadline_seconds:.0f}s): {exc}. Check the network path to "
                    "DynamoDB and re-run the restore (puts are idempotent).",
                    failed_items=n_items,
                ) from exc
            except ClientError as exc:
                code = _code(exc)
                if code == "ValidationException":
                    raise WriteError(
                        f"DynamoDB rejected a batch of {n_items} items for table {self.table_name} from data "
                        f"file {source}: {exc.response.get('Error', {}).get('Message', exc)}. Check that the "
                        "target table's key schema matches the backup and that no item exceeds 400 KB.",
                        failed_items=n_items,
                    ) from exc
                if code in RETRYABLE_CODES or _status(exc) >= 500:
                    if code in THROTTLE_CODES:
                        self.rate_limiter.on_throttled()
                    if self._backoff(attempt, deadline):
                        attempt += 1
                        continue
                    raise WriteError(
                        f"{n_items} items for table {self.table_name} from data file {source} could not be "
                        f"written before the retry deadline ({self.deadline_seconds:.0f}s); last error {code}. "
                        "Re-run the restore (puts are idempotent), with fewer --max_workers or more capacity.",
                        failed_items=n_items,
                    ) from exc
                raise WriteError(
                    f"writing {n_items} items to table {self.table_name} from data file {source} failed: "
                    f"{code}: {exc.response.get('Error', {}).get('Message', exc)}",
                    failed_items=n_items,
                ) from exc
            unprocessed = len(response.get("UnprocessedItems", {}).get(self.table_name, []))
            self.rate_limiter.on_success(n_items - unprocessed)
            if unprocessed:
                self.rate_limiter.on_throttled()
            return response

    def _resend(self, requests: list[dict[str, Any]], deadline: float, source: str) -> None:
        attempt = 0
        while requests:
            if not self._backoff(attempt, deadline):
                raise WriteError(
                    f"{len(requests)} items for table {self.table_name} from data file {source} were still "
                    f"unprocessed at the retry deadline ({self.deadline_seconds:.0f}s); they were NOT written. "
                    "Re-run the restore (puts are idempotent), with fewer --max_workers or more capacity.",
                    failed_items=len(requests),
                )
            attempt += 1
            pending = requests
            response = self._call(
                lambda pending=pending: self.client.batch_write_item(RequestItems={self.table_name: pending}),
                len(pending),
                deadline,
                source,
            )
            requests = response.get("UnprocessedItems", {}).get(self.table_name, [])

