"""A type-exact BatchWriteItem writer for export lines, on a lean signed transport.

An export line ``{"Item":{...}}`` is exactly a PutRequest's value, so the request body is built by
byte concatenation and never goes through Python values (a ``B`` with non-UTF-8 bytes, a 38-digit
``N`` or a nested ``BS`` stay exactly as exported).

Why not send it through ``client.batch_write_item``: measured (docs/benchmarks.md), botocore's
per-call machinery (event hooks, endpoint rules, parameter validation, serialization, its HTTP
layers, response parsing) cost ~60 µs of client CPU per item at 25 items a call, ten times the whole
read path; this path takes ~20-24 µs per item for everything a task does. So the body goes out on
a lean path built from the client's own parts:

* signed with ``botocore.auth.SigV4Auth`` using the client's credential provider chain; credentials
  are frozen per call (``get_frozen_credentials()``), so refreshable credentials (a Glue job role,
  assumed roles) keep working over a long restore;
* sent to the endpoint the client resolved (``client.meta.endpoint_url``, which honours
  ``AWS_ENDPOINT_URL``) on one kept-alive connection per writer thread, with the client's TLS
  verification and timeouts (through the client's own pooled HTTP session when a proxy or a client
  certificate is configured);
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

import json
import logging
import random
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

import botocore
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.httpsession import get_cert_path
from botocore.utils import get_environ_proxies

from dynamodb_dr import USER_AGENT
from dynamodb_dr.errors import WriteError

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
THROTTLE_CODES = frozenset({"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"})
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


def batch_body(table_name: str, lines: Sequence[bytes]) -> bytes:
    """The BatchWriteItem request body for up to 25 export lines, by byte concatenation."""
    if not 0 < len(lines) <= MAX_BATCH_ITEMS:
        raise ValueError(f"a BatchWriteItem call takes 1 to {MAX_BATCH_ITEMS} items, got {len(lines)}")
    puts = b",".join(b'{"PutRequest":' + line + b"}" for line in lines)
    return b'{"RequestItems":{' + json.dumps(table_name).encode() + b":[" + puts + b"]}}"


def requests_body(table_name: str, requests: list[dict[str, Any]]) -> bytes:
    """The body re-sending ``UnprocessedItems`` requests exactly as DynamoDB returned them (wire JSON)."""
    return json.dumps({"RequestItems": {table_name: requests}}, separators=(",", ":")).encode()


class _Connection:
    """One kept-alive HTTP/1.1 connection (TLS for https) to the endpoint; one per writer thread.

    A request is written with one ``sendall`` and the answer read by ``Content-Length`` (or chunked,
    or to EOF): a few dozen Python calls, where botocore's HTTP session (its headers, urllib3,
    http.client, email parsing) takes thousands: about half the client CPU of a signed call
    (``benchmarks/bench_transport.py``). Any socket/TLS failure closes it and raises botocore's
    ``ConnectionError``, which the writer retries.
    """

    def __init__(self, host: str, port: int, tls: ssl.SSLContext | None, timeouts: tuple[float, float]) -> None:
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

    def exchange(self, request: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
        """Send one request; (status, lower-cased headers, body). A kept-alive connection the
        server closed while idle is reopened once before anything else is tried."""
        for fresh in (False, True):
            if self.sock is None:
                self.sock, self.reused = self._open(), False
            try:
                self.sock.sendall(request)
                return self._read_response()
            except _StaleConnection:
                self.close()
                if fresh:
                    raise
            except (OSError, ValueError):
                self.close()
                raise
        raise AssertionError("unreachable")

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
                    raise ConnectionResetError("the endpoint closed the connection in the middle of a response")
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
            raise ConnectionResetError("the endpoint closed the connection in the middle of a chunked response")
        return data


class _StaleConnection(Exception):
    """A kept-alive connection was closed by the server before this request was answered."""


class SignedTransport:
    """Sends one prepared BatchWriteItem body, signed (SigV4), to the client's endpoint.

    Built from a botocore DynamoDB client: its credential provider chain, region, signing name,
    endpoint URL, timeouts and TLS verification. Thread-safe: each thread keeps its own kept-alive
    connection. With a proxy configured (``HTTPS_PROXY``/``HTTP_PROXY`` or the client's config) or a
    client certificate, requests go through the client's own pooled HTTP session instead, which
    knows how to use them (about twice the client CPU per call).
    """

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
                "where dynamodb_dr.batch_writer expects them; pin botocore to a tested version (pyproject.toml)"
            ) from exc
        self._user_agent = f"{USER_AGENT} botocore/{botocore.__version__} raw-batch-write"
        url = urlsplit(self.endpoint_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"DynamoDB endpoint URL {self.endpoint_url!r} is not an http(s) URL; check AWS_ENDPOINT_URL")
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
        self._connection_args = (url.hostname, port, tls, (float(config.connect_timeout), float(config.read_timeout)))
        self._local = threading.local()
        self._prefix = f"POST {self._path} HTTP/1.1\r\nHost: {url.netloc}\r\n".encode()

    def credentials(self) -> Any:
        if self._credentials is None:
            raise WriteError(
                "no AWS credentials found for DynamoDB: configure the job's IAM role (Glue) or "
                "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY / a profile (locally)"
            )
        return self._credentials.get_frozen_credentials()

    def signed_request(self, body: bytes) -> AWSRequest:
        """The request for ``body``, signed with the current credentials."""
        request = AWSRequest(
            method="POST",
            url=self.endpoint_url,
            data=body,
            headers={"Content-Type": CONTENT_TYPE, "X-Amz-Target": TARGET, "User-Agent": self._user_agent},
        )
        SigV4Auth(self.credentials(), self.signing_name, self.region).add_auth(request)
        return request

    def _exchange(self, request: AWSRequest, body: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
        if not self.direct:
            response = self._http.send(request.prepare())
            headers = {k.lower().encode("latin-1"): v.encode("latin-1") for k, v in response.headers.items()}
            return response.status_code, headers, response.content
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = _Connection(*self._connection_args)
        head = "".join(f"{name}: {value}\r\n" for name, value in request.headers.items())
        message = b"%s%sContent-Length: %d\r\n\r\n%s" % (self._prefix, head.encode("latin-1"), len(body), body)
        try:
            return connection.exchange(message)
        except (OSError, ValueError) as exc:
            raise BotoConnectionError(error=f"{type(exc).__name__}: {exc} ({self.endpoint_url})") from exc

    def send(self, body: bytes) -> dict[str, Any]:
        """One signed POST; the parsed JSON answer, or ``ClientError`` for an error answer.
        Connection problems raise botocore's ``ConnectionError`` / ``HTTPClientError``."""
        status, headers, content = self._exchange(self.signed_request(body), body)
        request_id = headers.get(b"x-amzn-requestid", b"").decode("latin-1")
        crc = headers.get(b"x-amz-crc32")
        if crc is not None and zlib.crc32(content) != int(crc):
            raise _client_error("CRC32CheckFailed", f"response body CRC32 does not match x-amz-crc32 {crc!r}", 500, request_id)
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


def _client_error(code: str, message: str, status: int, request_id: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": request_id}},
        "BatchWriteItem",
    )


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message") or exc)


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


class BatchWriter:
    """Writes batches of export lines into one table through one DynamoDB client's parts.

    Thread-safe: several threads may call ``write_lines`` on one writer. ``deadline_seconds`` bounds
    how long one batch may keep retrying.
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

    # -- public ---------------------------------------------------------------------------------

    def write_lines(self, lines: Sequence[bytes], *, source: str) -> int:
        """Write up to 25 checked export lines; returns how many were written. ``source`` (the data
        file key) is named in every error."""
        deadline = time.monotonic() + self.deadline_seconds
        response = self._call(batch_body(self.table_name, lines), len(lines), deadline, source)
        unprocessed = response.get("UnprocessedItems", {}).get(self.table_name, [])
        if unprocessed:
            self._resend(unprocessed, deadline, source)
        return len(lines)

    # -- internals ------------------------------------------------------------------------------

    def _backoff(self, attempt: int, deadline: float) -> bool:
        """Sleep (full jitter); False when the deadline leaves no time for another attempt."""
        delay = random.uniform(0, min(self.max_delay, self.base_delay * (2**attempt)))
        if time.monotonic() + delay >= deadline:
            return False
        self._sleep(delay)
        return True

    def _call(self, body: bytes, n_items: int, deadline: float, source: str) -> dict[str, Any]:
        attempt = 0
        expired = 0
        while True:
            self.rate_limiter.acquire(n_items)
            try:
                response = self.transport.send(body)
            except (BotoConnectionError, HTTPClientError) as exc:
                # No answer (connection refused/reset, read timeout).
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
                        f"file {source}: {_message(exc)}. Check that the target table's key schema matches the "
                        "backup and that no item exceeds 400 KB.",
                        failed_items=n_items,
                    ) from exc
                if code in EXPIRED_CODES and expired < MAX_EXPIRED_RETRIES:
                    expired += 1  # the next send fetches the credentials again (refreshable ones renew)
                    if self._backoff(attempt, deadline):
                        attempt += 1
                        continue
                if code in EXPIRED_CODES:
                    raise WriteError(
                        f"{n_items} items for table {self.table_name} from data file {source} were not written: "
                        f"{code}: {_message(exc)}. The credentials expired and did not renew; check the job's "
                        "role / session duration and re-run the restore (puts are idempotent).",
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
                    f"{code}: {_message(exc)}",
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
            response = self._call(requests_body(self.table_name, requests), len(requests), deadline, source)
            requests = response.get("UnprocessedItems", {}).get(self.table_name, [])
