"""The signed transport: a BatchWriteItem body signed (SigV4) and sent to the client's endpoint."""

from __future__ import annotations

import json
import ssl
import threading
import zlib
from typing import Any
from urllib.parse import urlsplit

import botocore
from botocore.awsrequest import AWSRequest
from botocore.exceptions import ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.httpsession import get_cert_path
from botocore.utils import get_environ_proxies

from dynamodb_dr import USER_AGENT
from dynamodb_dr.errors import WriteError
from dynamodb_dr.restore.writer import botocore_private
from dynamodb_dr.restore.writer.http import Connection
from dynamodb_dr.restore.writer.signing import BatchWriteSigner

TARGET = "DynamoDB_20120810.BatchWriteItem"
CONTENT_TYPE = "application/x-amz-json-1.0"
ALL_PROCESSED = b'{"UnprocessedItems":{}}'
ALL_PROCESSED_CRC = str(zlib.crc32(ALL_PROCESSED)).encode()


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
        # botocore keeps both behind private names (``botocore_private``); they are what its own calls use.
        self._credentials = botocore_private.client_credentials(client)
        self._http = botocore_private.client_http_session(client)
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
            verify = botocore_private.http_session_verify(self._http)
            if verify is False:
                tls = ssl.create_default_context()
                tls.check_hostname = False
                tls.verify_mode = ssl.CERT_NONE
            else:
                tls = ssl.create_default_context(cafile=get_cert_path(verify))
        port = url.port or (443 if url.scheme == "https" else 80)
        self.read_timeout = float(config.read_timeout)
        self._connection_args = (url.hostname, port, tls, (float(config.connect_timeout), self.read_timeout))
        self._idle: list[Connection] = []
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

    def checkout(self) -> Connection:
        """A kept-alive connection nobody else is using (or a new, not yet opened one)."""
        with self._idle_lock:
            if self._idle:
                return self._idle.pop()
        return Connection(*self._connection_args)

    def checkin(self, connection: Connection) -> None:
        """Give back a connection with no request outstanding; a closed one is dropped."""
        if connection.sock is None:
            return
        with self._idle_lock:
            if len(self._idle) < self.MAX_IDLE_CONNECTIONS:
                self._idle.append(connection)
                return
        connection.close()

    def connection_error(self, exc: BaseException) -> BotoConnectionError:
        return BotoConnectionError(error=OSError(f"{type(exc).__name__}: {exc} ({self.endpoint_url})"))

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
            raise client_error(
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
        raise client_error(code, message, status, request_id)

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


def client_error(code: str, message: str, status: int, request_id: str) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": request_id},
    }
    return ClientError(response, "BatchWriteItem")
