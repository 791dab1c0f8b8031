"""The write pipeline: batches of one data file sent from one thread, retried and re-sent until
written or failed (``BatchWriter`` is the door)."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import queue
import random
import select
import socket
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from dynamodb_dr.errors import WriteError
from dynamodb_dr.restore.writer import retry
from dynamodb_dr.restore.writer.body import batch_body, requests_body
from dynamodb_dr.restore.writer.http import Connection, StaleConnection
from dynamodb_dr.restore.writer.transport import SignedTransport

logger = logging.getLogger(__name__)


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


@dataclass(eq=False)
class _Batch:
    """One body on its way: its retries and re-sends share the deadline of the items it came from."""

    body: bytes
    items: int
    deadline: float
    attempt: int = 0
    """Backoffs so far after errors, for this body."""
    expired: int = 0
    resends: int = 0
    """Rounds of ``UnprocessedItems`` re-sends this body is (0: the original items)."""
    request: bytes = b""
    sent_at: float = 0.0

    def state(self) -> retry.BatchState:
        return retry.BatchState(self.items, self.attempt, self.expired, self.resends)


class WritePipeline:
    """Writes a stream of batches into one table from ONE thread, with up to ``max_in_flight``
    requests outstanding on as many kept-alive connections.

    ``submit`` signs and sends a batch as soon as a connection is free, reading the answers of earlier
    ones while it waits (``poll``); ``finish`` waits for every answer, retry and re-send. A batch that
    needs a retry or a re-send of ``UnprocessedItems`` is put back with its backoff delay (full
    jitter) and sent when it is due, while the others go on. What an answer means is decided by
    ``retry.decide`` (pure); nothing is dropped: every item is written, or counted in a ``WriteError``.

    Why not a thread per request: with the reading thread busy decompressing, every answer handed
    between threads through the GIL costs a context switch or two; measured, 4 sender threads cost
    ~5 µs of CPU per item more than the same requests pipelined from the reading thread, as much as
    reading and checking the item (docs/benchmarks.md).
    """

    def __init__(self, writer: BatchWriter, source: str, max_in_flight: int = 1) -> None:
        self.writer = writer
        self.source = source
        self.transport = writer.transport
        self.max_in_flight = max(1, max_in_flight)
        self._where = retry.Where(writer.table_name, source, writer.deadline_seconds)
        self.written = 0
        self.errors: list[WriteError] = []
        self._busy: dict[int, tuple[Connection, _Batch]] = {}
        self._poll = select.poll()
        self._due: list[tuple[float, int, _Batch]] = []
        self._order = itertools.count()
        # Through a proxy (botocore's HTTP session, blocking): the exchanges run on a small thread
        # pool, whose answers come back through a queue and wake the poll through a socket pair.
        self._pool: ThreadPoolExecutor | None = None
        self._pooled = 0
        self._answers: queue.SimpleQueue[tuple[_Batch, dict[str, Any] | BaseException]] = queue.SimpleQueue()
        self._wake: tuple[socket.socket, socket.socket] | None = None

    def _in_flight(self) -> int:
        return len(self._busy) + self._pooled

    @property
    def failed(self) -> bool:
        return bool(self.errors)

    def submit(self, lines: Sequence[bytes]) -> None:
        """Send up to 25 checked export lines, once one of the ``max_in_flight`` slots is free."""
        batch = _Batch(
            batch_body(self.writer.table_name, lines),
            len(lines),
            time.monotonic() + self.writer.deadline_seconds,
        )
        while True:
            self._send_due()
            if self._in_flight() < self.max_in_flight:
                break
            self._wait()
        self._send(batch)

    def finish(self) -> int:
        """Wait for every answer, retry and re-send; the items written, or the first ``WriteError``
        (with ``items_written`` and the ``failed_items`` of every failed batch)."""
        try:
            while self._in_flight() or self._due:
                if not self._in_flight():
                    # Nothing in flight: back off until the next retry is due, then send it.
                    due, _, batch = heapq.heappop(self._due)
                    self.writer._sleep(max(0.0, due - time.monotonic()))
                    self._send(batch)
                    continue
                self._send_due()
                self._wait()
        finally:
            self.close()
        if self.errors:
            first = self.errors[0]
            first.items_written = self.written
            first.failed_items = sum(e.failed_items for e in self.errors)
            raise first
        return self.written

    def close(self) -> None:
        """Close connections whose answers were never read (after an error elsewhere)."""
        for fd, (connection, _) in list(self._busy.items()):
            self._poll.unregister(fd)
            connection.close()
        self._busy.clear()
        self._due.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)  # a proxied exchange cannot be abandoned half-way
            self._pool, self._pooled = None, 0
        if self._wake is not None:
            for end in self._wake:
                end.close()
            self._wake = None

    # -- sending and receiving ---------------------------------------------------------------------

    def _send_due(self) -> None:
        if not self._due:
            return
        now = time.monotonic()
        while self._due and self._due[0][0] <= now and self._in_flight() < self.max_in_flight:
            self._send(heapq.heappop(self._due)[2])

    def _send(self, batch: _Batch) -> None:
        self.writer.rate_limiter.acquire(batch.items)
        if not self.transport.direct:
            self._send_pooled(batch)
            return
        try:
            request = self.transport.request_bytes(batch.body)
        except WriteError as exc:  # no credentials
            self._outcome(batch, exc)
            return
        self._transmit(batch, request)

    def _transmit(self, batch: _Batch, request: bytes) -> None:
        connection = self.transport.checkout()
        try:
            fd = connection.send(request)
        except (OSError, ValueError) as exc:
            self._outcome(batch, self.transport.connection_error(exc))
            return
        batch.request, batch.sent_at = request, time.monotonic()
        self._busy[fd] = (connection, batch)
        self._poll.register(fd, select.POLLIN)

    def _send_pooled(self, batch: _Batch) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="ddb-write")
            self._wake = socket.socketpair()
            self._wake[0].setblocking(False)
            self._poll.register(self._wake[0].fileno(), select.POLLIN)
        wake = self._wake
        assert wake is not None

        def exchange() -> None:
            try:
                outcome: dict[str, Any] | BaseException = self.transport.send(batch.body)
            except (BotoConnectionError, HTTPClientError, ClientError, WriteError) as exc:
                outcome = exc
            except Exception as exc:  # anything else botocore raises: reported, never lost
                outcome = self.transport.connection_error(exc)
            self._answers.put((batch, outcome))
            wake[1].send(b"x")

        self._pooled += 1
        self._pool.submit(exchange)

    def _pooled_answers(self) -> None:
        assert self._wake is not None
        with contextlib.suppress(BlockingIOError):
            self._wake[0].recv(4096)
        while not self._answers.empty():
            batch, outcome = self._answers.get()
            self._pooled -= 1
            self._outcome(batch, outcome)

    def _wait(self) -> None:
        """Wait for at least one answer (or the next due retry, or a read timeout) and handle it."""
        now = time.monotonic()
        timeout = self.transport.read_timeout
        if self._busy:
            timeout = min(b.sent_at for _, b in self._busy.values()) + self.transport.read_timeout - now
        if self._due and self._in_flight() < self.max_in_flight:
            timeout = min(timeout, self._due[0][0] - now)
        ready = self._poll.poll(max(0.0, timeout) * 1000.0)
        for fd, _ in ready:
            if self._wake is not None and fd == self._wake[0].fileno():
                self._pooled_answers()
            else:
                self._receive(fd)
        if not ready:
            now = time.monotonic()
            for fd, (connection, batch) in list(self._busy.items()):
                if now - batch.sent_at >= self.transport.read_timeout:
                    self._poll.unregister(fd)
                    del self._busy[fd]
                    connection.close()
                    self._outcome(
                        batch,
                        self.transport.connection_error(TimeoutError("no answer within the read timeout")),
                    )

    def _receive(self, fd: int) -> None:
        connection, batch = self._busy.pop(fd)
        self._poll.unregister(fd)
        try:
            status, headers, content = connection.read()
        except StaleConnection:
            # Closed by the server while idle, before it read this request: send it again at once
            # on a new connection (no backoff, no second acquire).
            self._transmit(batch, batch.request)
            return
        except (OSError, ValueError) as exc:
            self._outcome(batch, self.transport.connection_error(exc))
            return
        self.transport.checkin(connection)
        try:
            outcome: dict[str, Any] | BaseException = self.transport.answer(status, headers, content)
        except ClientError as exc:
            outcome = exc
        self._outcome(batch, outcome)

    # -- what an answer means -----------------------------------------------------------------------

    def _retry(self, batch: _Batch, exponent: int) -> bool:
        """Put ``batch`` back, due after a backoff (full jitter); False when the deadline leaves no
        time for another attempt."""
        writer = self.writer
        now = time.monotonic()
        delay = random.uniform(0, min(writer.max_delay, writer.base_delay * (2**exponent)))
        if now + delay >= batch.deadline:
            return False
        heapq.heappush(self._due, (now + delay, next(self._order), batch))
        return True

    def _fail(self, items: int, message: str, cause: BaseException | None) -> None:
        error = WriteError(message, failed_items=items)
        error.__cause__ = cause
        self.errors.append(error)

    def _outcome(self, batch: _Batch, outcome: dict[str, Any] | BaseException) -> None:
        """Apply ``retry.decide``'s decision: count what was written, tell the limiter, and put the
        batch (or its unprocessed items) back with a backoff, or fail it."""
        writer = self.writer
        decision = retry.decide(outcome, batch.state(), self._where)
        cause = outcome if isinstance(outcome, BaseException) else None
        if decision.accepted:
            self.written += decision.accepted
            writer.rate_limiter.on_success(decision.accepted)
        if decision.throttled:
            writer.rate_limiter.on_throttled()
        if decision.action == retry.WRITTEN:
            return
        if decision.action == retry.FAIL:
            self._fail(decision.failed_items, decision.message, cause)
            return
        if decision.action == retry.RESEND:
            again = _Batch(
                requests_body(writer.table_name, list(decision.unprocessed)),
                len(decision.unprocessed),
                batch.deadline,
                resends=batch.resends + 1,
            )
            if not self._retry(again, decision.backoff_exponent):
                self._fail(decision.failed_items, decision.give_up, cause)
            return
        # RETRY: the same body again (an expired token: the next send fetches the credentials again).
        if decision.refresh_credentials:
            batch.expired += 1
        if self._retry(batch, decision.backoff_exponent):
            batch.attempt += 1
            return
        self._fail(decision.failed_items, decision.give_up, cause)


class BatchWriter:
    """Writes batches of export lines into one table through one DynamoDB client's parts.

    Thread-safe: several threads may call ``write_lines`` (or run their own ``pipeline``) on one
    writer. ``deadline_seconds`` bounds how long one batch may keep retrying.
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
        self.transport = SignedTransport(client)

    def pipeline(self, source: str, max_in_flight: int = 4) -> WritePipeline:
        """A pipeline for the batches of one data file (``source`` is named in every error)."""
        return WritePipeline(self, source, max_in_flight)

    def write_lines(self, lines: Sequence[bytes], *, source: str) -> int:
        """Write up to 25 checked export lines and wait for them; returns how many were written.
        ``source`` (the data file key) is named in every error."""
        pipeline = WritePipeline(self, source, 1)
        pipeline.submit(lines)
        return pipeline.finish()
