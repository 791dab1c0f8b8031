"""A type-exact BatchWriteItem writer for export lines, on a lean signed transport.

An export line ``{"Item":{...}}`` is exactly a PutRequest's value, so the request body is built by
byte concatenation and never goes through Python values (a ``B`` with non-UTF-8 bytes, a 38-digit
``N`` or a nested ``BS`` stay exactly as exported).

Why not send it through ``client.batch_write_item``: measured (docs/benchmarks.md), botocore's
per-call machinery (event hooks, endpoint rules, parameter validation, serialization, its HTTP
layers, response parsing) costs ~30 µs of client CPU per item at 25 items a call, six times the
whole read path. So the body goes out on a lean path built from the client's own parts:

* signed (SigV4) by ``dynamodb_dr.restore.signing.BatchWriteSigner``, a ``botocore.auth.SigV4Auth`` that
  keeps what repeats between calls (its output is tested equal to ``SigV4Auth.add_auth``'s), with
  the client's credential provider chain; credentials are frozen per call
  (``get_frozen_credentials()``), so refreshable credentials (a Glue job role, assumed roles) keep
  working over a long restore;
* sent to the endpoint the client resolved (``client.meta.endpoint_url``, which honours
  ``AWS_ENDPOINT_URL``) on kept-alive connections, with the client's TLS verification and timeouts
  (through the client's own pooled HTTP session when a proxy or a client certificate is configured);
* ``WritePipeline`` keeps several requests in flight from the one thread that reads the data file
  (``poll`` on the connections), so no answer is handed between threads;
* the small JSON answer is parsed here, after checking its ``x-amz-crc32`` as botocore does.

Retries are this module's (the client's retry handler is not on this path): throttling
(``ProvisionedThroughputExceededException``, ``ThrottlingException``, ``RequestLimitExceeded``), 5xx,
a bad response checksum, an expired token (credentials are fetched again) and connection errors are
retried with exponential backoff and full jitter until the batch's deadline. ``UnprocessedItems``
come back as wire JSON and are re-sent as they came (``json.dumps``: exact). Anything else
(``ValidationException``, access denied, ...) fails at once with the table and the data file named.
An item that cannot be written raises ``WriteError`` with the count: nothing is ever dropped.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import json
import logging
import queue
import random
import select
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import botocore
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.httpsession import get_cert_path
from botocore.utils import get_environ_proxies

from dynamodb_dr import USER_AGENT
from dynamodb_dr.errors import WriteError
from dynamodb_dr.restore.signing import BatchWriteSigner

logger = logging.getLogger(__name__)

MAX_BATCH_ITEMS = 25
TARGET = "DynamoDB_20120810.BatchWriteItem"
CONTENT_TYPE = "application/x-amz-json-1.0"
# Retried until the deadline.
RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "LimitExceededException",
        "TransactionInProgressException",
        "CRC32CheckFailed",
    }
)
ALL_PROCESSED = b'{"UnprocessedItems":{}}'
ALL_PROCESSED_CRC = str(zlib.crc32(ALL_PROCESSED)).encode()
THROTTLE_CODES = frozenset(
    {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
)
EXPIRED_CODES = frozenset({"ExpiredTokenException", "ExpiredToken", "RequestExpired"})
MAX_EXPIRED_RETRIES = 3
"""An expired token is retried with freshly fetched credentials at most this many times in a row."""


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


@functools.lru_cache(maxsize=64)
def _json_name(table_name: str) -> bytes:
    return json.dumps(table_name).encode()


def batch_body(table_name: str, lines: Sequence[bytes]) -> bytes:
    """The BatchWriteItem request body for up to 25 export lines, by byte concatenation."""
    if not 0 < len(lines) <= MAX_BATCH_ITEMS:
        raise ValueError(f"a BatchWriteItem call takes 1 to {MAX_BATCH_ITEMS} items, got {len(lines)}")
    return b'{"RequestItems":{%s:[{"PutRequest":%s}]}}' % (
        _json_name(table_name),
        b'},{"PutRequest":'.join(lines),
    )


def requests_body(table_name: str, requests: list[dict[str, Any]]) -> bytes:
    """The body re-sending ``UnprocessedItems`` requests exactly as DynamoDB returned them (wire JSON)."""
    return json.dumps({"RequestItems": {table_name: requests}}, separators=(",", ":")).encode()


class _Connection:
    """One kept-alive HTTP/1.1 connection (TLS for https) to the endpoint.

    A request is written with one ``sendall`` and the answer read by ``Content-Length`` (or chunked,
    or to EOF): a few dozen Python calls, where botocore's HTTP session (its headers, urllib3,
    http.client, email parsing) takes thousands (``benchmarks/bench_transport.py``). Any socket/TLS
    failure closes it; the writer retries the batch.
    """

    def __init__(
        self, host: str, port: int, tls: ssl.SSLContext | None, timeouts: tuple[float, float]
    ) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.connect_timeout, self.read_timeout = timeouts
        self.sock: socket.socket | None = None
        self.reused = False

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            finally:
                self.sock = None

    def _open(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_hostname=self.host)
        sock.settimeout(self.read_timeout)
        return sock

    def send(self, request: bytes) -> int:
        """Write one request (opening the connection if needed); the socket's file descriptor."""
        if self.sock is None:
            self.sock, self.reused = self._open(), False
        try:
            self.sock.sendall(request)
            return self.sock.fileno()
        except (OSError, ValueError):
            self.close()
            raise

    def read(self) -> tuple[int, dict[bytes, bytes], bytes]:
        """Read one answer: (status, lower-cased headers, body). ``_StaleConnection`` when a kept-alive
        connection turns out to have been closed by the server while idle."""
        try:
            return self._read_response()
        except (_StaleConnection, OSError, ValueError):
            self.close()
            raise

    def exchange(self, request: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
        """Send one request and read its answer. A kept-alive connection the server closed while idle
        is reopened once (a fresh connection cannot be stale)."""
        while True:
            self.send(request)
            try:
                return self.read()
            except _StaleConnection:
                continue

    def _read_response(self) -> tuple[int, dict[bytes, bytes], bytes]:
        assert self.sock is not None
        recv = self.sock.recv
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            data = recv(65536)
            if not data:
                if not buffer and self.reused:
                    raise _StaleConnection()
                raise ConnectionResetError("the endpoint closed the connection before a full response")
            buffer += data
            if len(buffer) > 65536 and b"\r\n\r\n" not in buffer:
                raise ValueError("response headers longer than 64 KiB")
        head, _, rest = buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        version, status = lines[0].split(b" ", 2)[:2]
        headers: dict[bytes, bytes] = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            body, rest = self._read_chunked(rest)
        elif b"content-length" in headers:
            length = int(headers[b"content-length"])
            while len(rest) < length:
                data = recv(max(65536, length - len(rest)))
                if not data:
                    raise ConnectionResetError(
                        "the endpoint closed the connection in the middle of a response"
                    )
                rest += data
            body = rest[:length]
        else:  # no length: the body ends with the connection
            chunks = [rest]
            while data := recv(65536):
                chunks.append(data)
            body = b"".join(chunks)
            headers[b"connection"] = b"close"
        if headers.get(b"connection", b"").lower() == b"close" or version == b"HTTP/1.0":
            self.close()
        else:
            self.reused = True
        return int(status), headers, body

    def _read_chunked(self, rest: bytes) -> tuple[bytes, bytes]:
        assert self.sock is not None
        parts = []
        while True:
            while b"\r\n" not in rest:
                rest += self._more()
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(rest) < size + 2:
                rest += self._more()
            if size == 0:
                # Trailers (none expected) end with an empty line.
                while not (rest.startswith(b"\r\n") or b"\r\n\r\n" in rest):
                    rest += self._more()
                return b"".join(parts), b""
            parts.append(rest[:size])
            rest = rest[size + 2 :]

    def _more(self) -> bytes:
        assert self.sock is not None
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionResetError(
                "the endpoint closed the connection in the middle of a chunked response"
            )
        return data


class _StaleConnection(Exception):
    """A kept-alive connection was closed by the server before this request was answered."""


class SignedTransport:
    """Signs (SigV4) and sends BatchWriteItem bodies to the client's endpoint.

    Built from a botocore DynamoDB client: its credential provider chain, region, signing name,
    endpoint URL, timeouts and TLS verification. Kept-alive connections are pooled here and lent to
    one sender at a time (thread-safe). With a proxy configured (``HTTPS_PROXY``/``HTTP_PROXY`` or
    the client's config) or a client certificate, requests go through the client's own pooled HTTP
    session instead, which knows how to use them (``direct`` is False; one request at a time per
    sender, about twice the client CPU per call).
    """

    MAX_IDLE_CONNECTIONS = 64

    def __init__(self, client: Any) -> None:
        meta = client.meta
        self.endpoint_url: str = meta.endpoint_url
        self.region: str = meta.region_name
        self.signing_name: str = meta.service_model.signing_name or meta.service_model.endpoint_prefix
        try:
            # botocore keeps both behind private names; they are what its own calls use.
            self._credentials = client._get_credentials()
            self._http = client._endpoint.http_session
        except AttributeError as exc:  # a botocore release that moved them
            raise RuntimeError(
                f"botocore {botocore.__version__} no longer exposes a client's credentials or HTTP session "
                "where dynamodb_dr.restore.batch_writer expects them; pin botocore to a tested version (pyproject.toml)"
            ) from exc
        self._user_agent = f"{USER_AGENT} botocore/{botocore.__version__} raw-batch-write"
        url = urlsplit(self.endpoint_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(
                f"DynamoDB endpoint URL {self.endpoint_url!r} is not an http(s) URL; check AWS_ENDPOINT_URL"
            )
        self._path = url.path or "/"
        config = meta.config
        self.direct = not (get_environ_proxies(self.endpoint_url) or config.proxies or config.client_cert)
        tls: ssl.SSLContext | None = None
        if url.scheme == "https" and self.direct:
            verify = getattr(self._http, "_verify", True)
            if verify is False:
                tls = ssl.create_default_context()
                tls.check_hostname = False
                tls.verify_mode = ssl.CERT_NONE
            else:
                tls = ssl.create_default_context(cafile=get_cert_path(verify))
        port = url.port or (443 if url.scheme == "https" else 80)
        self.read_timeout = float(config.read_timeout)
        self._connection_args = (url.hostname, port, tls, (float(config.connect_timeout), self.read_timeout))
        self._idle: list[_Connection] = []
        self._idle_lock = threading.Lock()
        self.signer = BatchWriteSigner(
            self.endpoint_url,
            self.signing_name,
            self.region,
            {"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET, "User-Agent": self._user_agent},
        )
        # The Host header carries what was signed (botocore leaves a default port out).
        fixed = "".join(f"{name}: {value}\r\n" for name, value in self.signer.fixed_headers.items())
        self._head = f"POST {self._path} HTTP/1.1\r\nHost: {self.signer.host}\r\n{fixed}".encode("latin-1")

    # -- connections ------------------------------------------------------------------------------

    def checkout(self) -> _Connection:
        """A kept-alive connection nobody else is using (or a new, not yet opened one)."""
        with self._idle_lock:
            if self._idle:
                return self._idle.pop()
        return _Connection(*self._connection_args)

    def checkin(self, connection: _Connection) -> None:
        """Give back a connection with no request outstanding; a closed one is dropped."""
        if connection.sock is None:
            return
        with self._idle_lock:
            if len(self._idle) < self.MAX_IDLE_CONNECTIONS:
                self._idle.append(connection)
                return
        connection.close()

    def connection_error(self, exc: BaseException) -> BotoConnectionError:
        return BotoConnectionError(error=f"{type(exc).__name__}: {exc} ({self.endpoint_url})")

    # -- requests ---------------------------------------------------------------------------------

    def credentials(self) -> Any:
        if self._credentials is None:
            raise WriteError(
                "no AWS credentials found for DynamoDB: configure the job's IAM role (Glue) or "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY / a profile (locally)"
            )
        return self._credentials.get_frozen_credentials()

    def signed_headers(self, body: bytes) -> list[tuple[str, str]]:
        """The headers of the request for ``body``, signed (SigV4) with the current credentials."""
        return self.signer.sign(body, self.credentials())

    def signed_request(self, body: bytes) -> AWSRequest:
        """The request for ``body`` as botocore's HTTP session takes it, signed."""
        return AWSRequest(
            method="POST", url=self.endpoint_url, data=body, headers=dict(self.signed_headers(body))
        )

    def request_bytes(self, body: bytes) -> bytes:
        """The whole signed HTTP/1.1 request for ``body``, as it goes on the wire."""
        timestamp, token, authorization = self.signer.authorize(body, self.credentials())
        signed = (
            f"X-Amz-Date: {timestamp}\r\nX-Amz-Security-Token: {token}\r\n"
            if token
            else f"X-Amz-Date: {timestamp}\r\n"
        )
        return b"%s%sAuthorization: %sContent-Length: %d\r\n\r\n%s" % (
            self._head,
            signed.encode("latin-1"),
            authorization.encode("latin-1") + b"\r\n",
            len(body),
            body,
        )

    def answer(self, status: int, headers: dict[bytes, bytes], content: bytes) -> dict[str, Any]:
        """The parsed JSON answer, or ``ClientError`` for an error answer or a damaged one."""
        if (
            status == 200
            and content == ALL_PROCESSED
            and headers.get(b"x-amz-crc32") in (ALL_PROCESSED_CRC, None)
        ):
            return {}  # the usual answer, checksum included: nothing to parse
        request_id = headers.get(b"x-amzn-requestid", b"").decode("latin-1")
        crc = headers.get(b"x-amz-crc32")
        if crc is not None and zlib.crc32(content) != int(crc):
            raise _client_error(
                "CRC32CheckFailed", f"response body CRC32 does not match x-amz-crc32 {crc!r}", 500, request_id
            )
        try:
            parsed = json.loads(content) if content else {}
        except ValueError:
            parsed = None
        if status == 200 and isinstance(parsed, dict):
            return parsed
        if isinstance(parsed, dict) and "__type" in parsed:
            code = str(parsed["__type"]).rsplit("#", 1)[-1]
            message = str(parsed.get("message") or parsed.get("Message") or "")
        else:
            code = f"HTTP{status}"
            message = content[:200].decode("utf-8", "replace")
        raise _client_error(code, message, status, request_id)

    def send(self, body: bytes) -> dict[str, Any]:
        """One signed POST, waiting for its answer: the parsed JSON answer, or ``ClientError`` for an
        error answer. Connection problems raise botocore's ``ConnectionError`` / ``HTTPClientError``."""
        if not self.direct:
            response = self._http.send(self.signed_request(body).prepare())
            headers = {k.lower().encode("latin-1"): v.encode("latin-1") for k, v in response.headers.items()}
            return self.answer(response.status_code, headers, response.content)
        connection = self.checkout()
        try:
            status, headers, content = connection.exchange(self.request_bytes(body))
        except (OSError, ValueError) as exc:
            raise self.connection_error(exc) from exc
        finally:
            self.checkin(connection)
        return self.answer(status, headers, content)


def _client_error(code: str, message: str, status: int, request_id: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": request_id},
        },
        "BatchWriteItem",
    )


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message") or exc)


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


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


class WritePipeline:
    """Writes a stream of batches into one table from ONE thread, with up to ``max_in_flight``
    requests outstanding on as many kept-alive connections.

    ``submit`` signs and sends a batch as soon as a connection is free, reading the answers of earlier
    ones while it waits (``poll``); ``finish`` waits for every answer, retry and re-send. A batch that
    needs a retry or a re-send of ``UnprocessedItems`` is put back with its backoff delay (full
    jitter) and sent when it is due, while the others go on. The decisions are the writer's (see the
    module docstring); nothing is dropped: every item is written, or counted in a ``WriteError``.

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
        self.written = 0
        self.errors: list[WriteError] = []
        self._busy: dict[int, tuple[_Connection, _Batch]] = {}
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
            self._fail(batch.items, str(exc), exc)
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
            if isinstance(outcome, WriteError):
                self._fail(batch.items, str(outcome), outcome)
            else:
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
        except _StaleConnection:
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

    def _retry(self, batch: _Batch, attempt: int) -> bool:
        """Put ``batch`` back, due after a backoff (full jitter); False when the deadline leaves no
        time for another attempt."""
        writer = self.writer
        now = time.monotonic()
        delay = random.uniform(0, min(writer.max_delay, writer.base_delay * (2**attempt)))
        if now + delay >= batch.deadline:
            return False
        heapq.heappush(self._due, (now + delay, next(self._order), batch))
        return True

    def _fail(self, items: int, message: str, cause: BaseException | None) -> None:
        error = WriteError(message, failed_items=items)
        error.__cause__ = cause
        self.errors.append(error)

    def _outcome(self, batch: _Batch, outcome: dict[str, Any] | BaseException) -> None:
        writer = self.writer
        table, source, n = writer.table_name, self.source, batch.items
        limiter = writer.rate_limiter
        if isinstance(outcome, dict):
            requests = outcome.get("UnprocessedItems", {}).get(table, [])
            accepted = n - len(requests)
            self.written += accepted
            limiter.on_success(accepted)
            if requests:
                limiter.on_throttled()
                again = _Batch(
                    requests_body(table, requests), len(requests), batch.deadline, resends=batch.resends + 1
                )
                if not self._retry(again, batch.resends):
                    self._fail(
                        len(requests),
                        f"{len(requests)} items for table {table} from data file {source} were still unprocessed at "
                        f"the retry deadline ({writer.deadline_seconds:.0f}s); they were NOT written. Re-run the "
                        "restore (puts are idempotent), with fewer --max_workers or more capacity.",
                        None,
                    )
            return
        exc = outcome
        if not isinstance(exc, ClientError):  # no answer: connection refused/reset, read timeout
            if self._retry(batch, batch.attempt):
                batch.attempt += 1
                return
            self._fail(
                n,
                f"{n} items for table {table} from data file {source} could not be sent before the retry "
                f"deadline ({writer.deadline_seconds:.0f}s): {exc}. Check the network path to DynamoDB and "
                "re-run the restore (puts are idempotent).",
                exc,
            )
            return
        code = _code(exc)
        if code == "ValidationException":
            self._fail(
                n,
                f"DynamoDB rejected a batch of {n} items for table {table} from data file {source}: "
                f"{_message(exc)}. Check that the target table's key schema matches the backup and that no "
                "item exceeds 400 KB.",
                exc,
            )
            return
        if code in EXPIRED_CODES:
            if batch.expired < MAX_EXPIRED_RETRIES:
                batch.expired += 1  # the next send fetches the credentials again (refreshable ones renew)
                if self._retry(batch, batch.attempt):
                    batch.attempt += 1
                    return
            self._fail(
                n,
                f"{n} items for table {table} from data file {source} were not written: {code}: {_message(exc)}. "
                "The credentials expired and did not renew; check the job's role / session duration and "
                "re-run the restore (puts are idempotent).",
                exc,
            )
            return
        if code in RETRYABLE_CODES or _status(exc) >= 500:
            if code in THROTTLE_CODES:
                limiter.on_throttled()
            if self._retry(batch, batch.attempt):
                batch.attempt += 1
                return
            self._fail(
                n,
                f"{n} items for table {table} from data file {source} could not be written before the retry "
                f"deadline ({writer.deadline_seconds:.0f}s); last error {code}. Re-run the restore (puts are "
                "idempotent), with fewer --max_workers or more capacity.",
                exc,
            )
            return
        self._fail(
            n,
            f"writing {n} items to table {table} from data file {source} failed: {code}: {_message(exc)}",
            exc,
        )


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
