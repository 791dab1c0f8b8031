"""The type-exact writer against the local endpoint: every type lands exactly as exported.

The writer sends signed requests on its own kept-alive connections (not through botocore's call
path), so the tests that need DynamoDB's behaviour under load put a small forwarding endpoint
(``DynamoDBProxy``, real HTTP/1.1 with keep-alive) between the writer and the local endpoint: every
request is forwarded to moto and really written; the proxy then answers as DynamoDB would under load
(throttling, ``UnprocessedItems`` for items it deletes again, a 5xx, a damaged checksum, an expired
token, a connection closed while idle). It also checks every request's SigV4 signature with
botocore's own signer (moto checks none).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import threading
import time
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import boto3
import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, RefreshableCredentials

from dynamodb_dr.clients import client_config, make_client
from dynamodb_dr.errors import WriteError
from dynamodb_dr.restore.export_reader import iter_items, read_export, spooled
from dynamodb_dr.restore.tasks import write_data_file
from dynamodb_dr.restore.writer import BatchWriter
from local_aws import export_layout
from tests.support.backups import create_table, export_table, put_items
from tests.support.items import (
    HASH_TABLE_ATTRS,
    HASH_TABLE_KEYS,
    NON_UTF8,
    RANGE_TABLE_ATTRS,
    RANGE_TABLE_KEYS,
    every_type_item,
    large_item,
    scan_all,
)

BUCKET = "writer-bucket"


def _export_lines(ddb, s3, table: str) -> list[bytes]:
    backup = export_table(ddb, s3, BUCKET, table, "2026-01-15")
    export = read_export(s3, BUCKET, backup.export_manifest_key)
    lines = []
    for data_file in export.files:
        with spooled(s3, BUCKET, data_file, export.summary.export_arn) as (path, _):
            lines += list(iter_items(path, data_file, export.summary.export_arn))
    return lines


@pytest.fixture
def setup(aws):
    export_layout.configure(items_per_file=7)
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return ddb, s3


class CountingLimiter:
    def __init__(self) -> None:
        self.acquired = self.succeeded = self.throttled = 0

    def acquire(self, n_items: int) -> None:
        self.acquired += n_items

    def on_throttled(self) -> None:
        self.throttled += 1

    def on_success(self, n_items: int) -> None:
        self.succeeded += n_items


def test_every_type_round_trips_exactly(setup):
    ddb, s3 = setup
    items = [every_type_item(f"e{i}", sk={"B": bytes([0xFF, i])}) for i in range(30)]
    items.append(large_item("big", 390_000) | {"sk": {"B": NON_UTF8}})
    create_table(ddb, "src", RANGE_TABLE_KEYS, RANGE_TABLE_ATTRS)
    create_table(ddb, "dst", RANGE_TABLE_KEYS, RANGE_TABLE_ATTRS)
    put_items(ddb, "src", items)
    lines = _export_lines(ddb, s3, "src")
    assert len(lines) == 31

    limiter = CountingLimiter()
    writer = BatchWriter(make_client("dynamodb"), "dst", rate_limiter=limiter)
    written = sum(writer.write_lines(lines[i : i + 25], source="test-file") for i in range(0, len(lines), 25))
    assert written == 31
    source, restored = scan_all(ddb, "src"), scan_all(ddb, "dst")
    assert restored.keys() == source.keys() and len(restored) == 31
    for key, item in source.items():
        assert restored[key] == item, key
    big = ddb.get_item(TableName="dst", Key={"pk": {"S": "big"}, "sk": {"B": NON_UTF8}})["Item"]
    assert len(big["blob"]["B"]) == 390_000
    assert restored[("e3", bytes([0xFF, 3]))]["n_neg_exp"] == {
        "N": "-1.2345678901234567890123456789012345678E-130"
    }
    assert limiter.acquired == 31 and limiter.succeeded == 31 and limiter.throttled == 0


class DynamoDBProxy:
    """A real HTTP endpoint in front of the local one (see the module docstring).

    ``before(n, body)`` may return ``(status, answer_body)`` to answer without forwarding;
    ``after(n, body, answer)`` may return a changed answer. ``n`` counts requests from 1.
    """

    def __init__(self, upstream: str, secrets: dict[str, str]) -> None:
        self.upstream = urlsplit(upstream)
        self.secrets = secrets  # access key -> secret key: what the signature is checked against
        self.requests: list[tuple[dict[str, str], bytes]] = []
        self.bad_signatures: list[str] = []
        self.connections = 0
        self.absolute_form = 0
        self.in_flight = self.max_in_flight = 0
        self.delay = 0.0
        self.bad_crc_calls: set[int] = set()
        self.close_silently = False
        self.chunked = False
        self.before: Callable[[int, bytes], tuple[int, bytes] | None] | None = None
        self.after: Callable[[int, bytes, bytes], bytes | None] | None = None
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with proxy.lock:
                    proxy.connections += 1

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with proxy.lock:
                    proxy.requests.append((headers, body))
                    n = len(proxy.requests)
                    proxy.in_flight += 1
                    proxy.max_in_flight = max(proxy.max_in_flight, proxy.in_flight)
                # As an HTTP proxy it gets the absolute URL ("POST http://host:port/ HTTP/1.1").
                path = urlsplit(self.path).path or "/" if self.path.startswith("http") else self.path
                with proxy.lock:
                    proxy.absolute_form += self.path.startswith("http")
                try:
                    problem = proxy.signature_problem(headers, body, path)
                    if problem:
                        proxy.bad_signatures.append(problem)
                    time.sleep(proxy.delay)
                    answer = proxy.before(n, body) if proxy.before else None
                    status, out = answer if answer else proxy.forward(headers, body)
                    if answer is None and proxy.after:
                        out = proxy.after(n, body, out) or out
                finally:
                    with proxy.lock:
                        proxy.in_flight -= 1
                crc = zlib.crc32(out) ^ (1 if n in proxy.bad_crc_calls else 0)
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("x-amz-crc32", str(crc))
                if proxy.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    half = len(out) // 2
                    for part in (out[:half], out[half:], b""):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                else:
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                if proxy.close_silently:  # as a server closing an idle kept-alive connection does
                    self.close_connection = True

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def forward(self, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        try:
            keep = {k: v for k, v in headers.items() if k not in ("host", "connection")}
            connection.request("POST", "/", body=body, headers=keep)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()

    def signature_problem(self, headers: dict[str, str], body: bytes, path: str) -> str | None:
        """Recompute the request's SigV4 signature with botocore's signer; None when it matches."""
        auth = headers.get("authorization", "")
        m = re.fullmatch(
            r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
            r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})",
            auth,
        )
        if not m:
            return f"malformed Authorization header {auth!r}"
        access_key, _, region, service, signed, signature = m.groups()
        if access_key not in self.secrets:
            return f"unknown access key {access_key}"
        names = signed.split(";")
        missing = [n for n in names if n not in headers]
        if missing:
            return f"signed headers {missing} were not sent"
        request = AWSRequest(
            method="POST",
            url=f"http://{headers['host']}{path}",
            data=body,
            headers={n: headers[n] for n in names},
        )
        request.context["timestamp"] = headers["x-amz-date"]
        credentials = Credentials(access_key, self.secrets[access_key], headers.get("x-amz-security-token"))
        signer = SigV4Auth(credentials, service, region)
        expected = signer.signature(
            signer.string_to_sign(request, signer.canonical_request(request)), request
        )
        if expected != signature:
            return f"signature mismatch for {access_key}"
        if "x-amz-target" not in names or "host" not in names:
            return f"SignedHeaders {signed} leave out host or x-amz-target"
        return None

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(aws):
    p = DynamoDBProxy(
        os.environ["AWS_ENDPOINT_URL"], {os.environ["AWS_ACCESS_KEY_ID"]: os.environ["AWS_SECRET_ACCESS_KEY"]}
    )
    yield p
    p.stop()


def _via(proxy: DynamoDBProxy, session: boto3.session.Session | None = None, **config: object) -> object:
    """A DynamoDB client whose endpoint is the proxy (as AWS_ENDPOINT_URL would make it)."""
    return (session or boto3.session.Session()).client(
        "dynamodb", endpoint_url=proxy.url, config=client_config(**config)
    )


def _report_unprocessed(proxy: DynamoDBProxy, ddb, table: str, how_many: int, times: int | None) -> None:
    """After a real BatchWriteItem, delete ``how_many`` of its items again and list them (their wire
    JSON, as sent) in ``UnprocessedItems``, exactly as DynamoDB reports items it did not write."""

    def after(n: int, body: bytes, answer: bytes) -> bytes | None:
        if times is not None and n > times:
            return None
        requests = json.loads(body)["RequestItems"][table][:how_many]
        for request in requests:
            ddb.delete_item(TableName=table, Key={"pk": {"S": request["PutRequest"]["Item"]["pk"]["S"]}})
        return json.dumps({"UnprocessedItems": {table: requests}}).encode()

    proxy.after = after


def test_requests_are_signed_as_botocore_signs_them_on_kept_alive_connections(setup, proxy):
    ddb, _ = setup
    create_table(ddb, "dst", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    writer = BatchWriter(_via(proxy), "dst")
    for i in range(6):
        writer.write_lines([b'{"Item":{"pk":{"S":"s%d"}}}' % i], source="f-sig")
    assert len(proxy.requests) == 6 and proxy.bad_signatures == []
    assert proxy.connections == 1  # one kept-alive connection for the six calls (single thread)
    headers = proxy.requests[0][0]
    assert headers["x-amz-target"] == "DynamoDB_20120810.BatchWriteItem"
    assert headers["x-amz-security-token"] == os.environ["AWS_SESSION_TOKEN"]
    assert len(scan_all(ddb, "dst")) == 6
    # The check is real: the same requests do not verify against another secret.
    proxy.secrets = {k: "not-the-secret" for k in proxy.secrets}
    assert (
        proxy.signature_problem(headers, proxy.requests[0][1], "/")
        == f"signature mismatch for {os.environ['AWS_ACCESS_KEY_ID']}"
    )


def test_refreshable_credentials_are_fetched_per_call_and_an_expired_token_is_retried(setup, proxy):
    ddb, _ = setup
    create_table(ddb, "dst", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    issued: list[str] = []

    def refresh() -> dict:
        issued.append(f"AKIDROTATED{len(issued)}")
        proxy.secrets[issued[-1]] = f"secret-{len(issued)}"
        # Inside the refresh window: each get_frozen_credentials() renews them (as near expiry).
        expiry = datetime.now(UTC) + timedelta(minutes=12)
        return {
            "access_key": issued[-1],
            "secret_key": proxy.secrets[issued[-1]],
            "token": "t",
            "expiry_time": expiry.isoformat(),
        }

    botocore_session = botocore.session.get_session()
    botocore_session._credentials = RefreshableCredentials.create_from_metadata(refresh(), refresh, "test")
    client = _via(proxy, boto3.session.Session(botocore_session=botocore_session))
    expired = json.dumps(
        {
            "__type": "com.amazon.coral.service#ExpiredTokenException",
            "message": "The security token included in the request is expired",
        }
    ).encode()
    proxy.before = lambda n, body: (400, expired) if n == 1 else None
    writer = BatchWriter(client, "dst", base_delay=0.001)
    writer.write_lines([b'{"Item":{"pk":{"S":"r1"}}}'], source="f-cred")
    used = [re.search(r"Credential=([^/]+)/", h["authorization"]).group(1) for h, _ in proxy.requests]
    assert len(used) == 2 and used[0] != used[1] and set(used) <= set(issued)
    assert proxy.bad_signatures == []
    assert set(scan_all(ddb, "dst")) == {("r1",)}

    proxy.before = lambda n, body: (400, expired)
    with pytest.raises(
        WriteError,
        match=r"1 items for table dst from data file f-cred were not written: ExpiredTokenException",
    ):
        writer.write_lines([b'{"Item":{"pk":{"S":"r2"}}}'], source="f-cred")


def test_unprocessed_items_are_resent_exactly(setup, proxy):
    ddb, s3 = setup
    items = {f"u{i}": every_type_item(f"u{i}") for i in range(10)}
    create_table(ddb, "src", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    create_table(ddb, "dst", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    put_items(ddb, "src", list(items.values()))
    lines = _export_lines(ddb, s3, "src")

    _report_unprocessed(proxy, ddb, "dst", how_many=4, times=1)
    limiter = CountingLimiter()
    writer = BatchWriter(_via(proxy), "dst", rate_limiter=limiter, base_delay=0.01)
    assert writer.write_lines(lines, source="file-u") == 10
    assert len(proxy.requests) == 2  # the batch, then the re-send of the 4 unprocessed items
    assert len(json.loads(proxy.requests[1][1])["RequestItems"]["dst"]) == 4
    assert limiter.throttled == 1 and limiter.succeeded == 10
    assert scan_all(ddb, "dst") == scan_all(ddb, "src")


def test_items_still_unprocessed_at_the_deadline_fail_loudly(setup, proxy):
    ddb, s3 = setup
    create_table(ddb, "src", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    create_table(ddb, "dst", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    put_items(ddb, "src", [every_type_item(f"d{i}") for i in range(5)])
    lines = _export_lines(ddb, s3, "src")

    _report_unprocessed(proxy, ddb, "dst", how_many=2, times=None)
    writer = BatchWriter(_via(proxy), "dst", deadline_seconds=0.5, base_delay=0.01, max_delay=0.05)
    with pytest.raises(
        WriteError, match=r"2 items for table dst from data file file-d were still unprocessed"
    ) as err:
        writer.write_lines(lines, source="file-d")
    assert err.value.failed_items == 2
    assert len(scan_all(ddb, "dst")) == 3


@pytest.mark.parametrize(
    "status, code",
    [
        (400, "ProvisionedThroughputExceededException"),
        (400, "ThrottlingException"),
        (500, "InternalServerError"),
        (503, "ServiceUnavailable"),
    ],
)
def test_throttling_and_server_errors_are_retried_with_backoff(setup, proxy, status, code):
    ddb, _ = setup
    create_table(ddb, "dst", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    answer = json.dumps(
        {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": "slow down"}
    ).encode()
    proxy.before = lambda n, body: (status, answer) if n <= 2 else None
    limiter, slept = CountingLimiter(), []
    writer = BatchWriter(_via(proxy), "dst", rate_limiter=limiter, sleep=slept.append)
    assert (
        writer.write_lines([b'{"Item":{"pk":{"S":"t1"}}}', b'{"Item":{"pk":{"S":"t2"}}}'], source="f-t") == 2
    )
    assert len(proxy.requests) == 3 and len(slept) == 2
    assert limiter.throttled == (2 if code.endswith(("ExceededException", "ThrottlingException")) else 0)
    assert limiter.acquired == 6 and limiter.succeeded == 2
    assert set(scan_all(ddb, "dst")) == {("t1",), ("t2",)}

    proxy.before = lambda n, body: (status, answer)
    writer = BatchWriter(_via(proxy), "dst", deadline_seconds=0.3, base_delay=0.01, max_delay=0.05)
    with pytest.raises(
        WriteError,
        match=rf"1 items for table dst from data file f-t could not be written before the retry deadline .*last error {code}",
    ) as err:
        writer.write_lines([b'{"Item":{"pk":{"S":"t3"}}}'], source="f-t")
    assert err.value.failed_items == 1


def test_a_damaged_response_is_detected_by_its_crc32_and_the_batch_sent_again(setup, proxy):
    ddb, _ = setup
    create_table(ddb, "dst", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    proxy.bad_crc_calls = {1}
    slept: list[float] = []
    writer = BatchWriter(_via(proxy), "dst", sleep=slept.append)
    assert writer.write_lines([b'{"Item":{"pk":{"S":"c1"}}}'], source="f-c") == 1
    assert len(proxy.requests) == 2 and len(slept) == 1
    assert set(scan_all(ddb, "dst")) == {("c1",)}


def test_access_denied_fails_at_once_naming_the_table_and_file(setup, proxy):
    denied = json.dumps(
        {
            "__type": "com.amazon.coral.service#AccessDeniedException",
            "Message": "User is not authorized to perform: dynamodb:BatchWriteItem",
        }
    ).encode()
    proxy.before = lambda n, body: (400, denied)
    writer = BatchWriter(_via(proxy), "dst", sleep=lambda s: None)
    with pytest.raises(
        WriteError,
        match=r"writing 1 items to table dst from data file f-a failed: AccessDeniedException: User is not authorized",
    ):
        writer.write_lines([b'{"Item":{"pk":{"S":"a"}}}'], source="f-a")
    assert len(proxy.requests) == 1


@pytest.mark.parametrize("mode", ["close_silently", "chunked"])
def test_connections_closed_while_idle_and_chunked_answers_are_handled(setup, proxy, mode):
    ddb, _ = setup
    create_table(ddb, "dst", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    setattr(proxy, mode, True)
    slept: list[float] = []
    writer = BatchWriter(_via(proxy), "dst", sleep=slept.append)
    for i in range(4):
        assert writer.write_lines([b'{"Item":{"pk":{"S":"k%d"}}}' % i], source="f-k") == 1
    assert len(proxy.requests) == 4 and slept == []  # a stale connection is reopened, not backed off
    assert proxy.connections == (4 if mode == "close_silently" else 1)
    assert len(scan_all(ddb, "dst")) == 4


def test_validation_error_names_the_table_and_the_file(setup):
    ddb, s3 = setup
    create_table(ddb, "src", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    create_table(ddb, "other-keys", RANGE_TABLE_KEYS, RANGE_TABLE_ATTRS)
    put_items(ddb, "src", [every_type_item("v1")])
    lines = _export_lines(ddb, s3, "src")
    writer = BatchWriter(make_client("dynamodb"), "other-keys")
    with pytest.raises(
        WriteError, match=r"DynamoDB rejected a batch of 1 items for table other-keys from data file f-v"
    ) as err:
        writer.write_lines(lines, source="f-v")
    assert err.value.failed_items == 1
    assert scan_all(ddb, "other-keys") == {}


def test_write_data_file_sends_batches_concurrently_and_has_resume_seams(setup, proxy):
    ddb, s3 = setup
    export_layout.configure(items_per_file=200)
    create_table(ddb, "src", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    create_table(ddb, "dst", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    put_items(ddb, "src", [every_type_item(f"w{i:03d}") for i in range(130)])
    backup = export_table(ddb, s3, BUCKET, "src", "2026-01-15")
    export = read_export(s3, BUCKET, backup.export_manifest_key)
    data_file = next(f for f in export.files if f.item_count)

    client = _via(proxy)
    proxy.delay = 0.1  # keeps each request in flight a little, so overlap is observable
    done_calls = []
    writer = BatchWriter(client, "dst")
    skipped = write_data_file(
        s3,
        writer,
        BUCKET,
        data_file,
        export.summary.export_arn,
        table="dst",
        max_workers=4,
        completed_files={data_file.key},
        on_file_done=lambda *a: done_calls.append(a),
    )
    assert skipped.skipped and scan_all(ddb, "dst") == {} and done_calls == []

    so_far: list[int] = []
    result = write_data_file(
        s3,
        writer,
        BUCKET,
        data_file,
        export.summary.export_arn,
        table="dst",
        max_workers=4,
        on_file_done=lambda *a: done_calls.append(a),
        on_progress=so_far.append,
        progress_seconds=0.0,
    )
    assert (result.items_read, result.items_written) == (130, 130)
    assert done_calls == [("dst", data_file.key, 130)]
    # Items written so far, as the file is written: acknowledged items only, never more than read.
    assert so_far == sorted(so_far) and so_far[-1] < 130 and any(0 < n < 130 for n in so_far), so_far
    assert proxy.max_in_flight >= 2  # batches really were in flight together
    assert proxy.bad_signatures == []
    assert scan_all(ddb, "dst") == scan_all(ddb, "src")


def test_an_unreachable_endpoint_fails_the_batch_with_its_count(setup):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{port}",
        config=client_config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1),
    )
    writer = BatchWriter(client, "dst", deadline_seconds=0.3, base_delay=0.01, max_delay=0.05)
    line = b'{"Item":{"pk":{"S":"a"}}}'
    with pytest.raises(
        WriteError, match=r"3 items for table dst from data file f-net could not be sent"
    ) as err:
        writer.write_lines([line, line, line], source="f-net")
    assert err.value.failed_items == 3


def test_through_an_http_proxy_batches_go_through_botocores_session_still_concurrently(setup, proxy):
    ddb, s3 = setup
    export_layout.configure(items_per_file=200)
    create_table(ddb, "src", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    create_table(ddb, "dst", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    put_items(ddb, "src", [every_type_item(f"p{i:03d}") for i in range(120)])
    backup = export_table(ddb, s3, BUCKET, "src", "2026-01-15")
    export = read_export(s3, BUCKET, backup.export_manifest_key)
    data_file = next(f for f in export.files if f.item_count)

    # The DynamoDB endpoint is moto itself; the forwarding endpoint is configured as the HTTP proxy.
    client = boto3.client("dynamodb", config=client_config(proxies={"http": proxy.url}))
    writer = BatchWriter(client, "dst", base_delay=0.001)
    assert not writer.transport.direct
    proxy.delay = 0.1
    throttled = json.dumps(
        {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "slow"}
    ).encode()
    proxy.before = lambda n, body: (400, throttled) if n == 2 else None
    result = write_data_file(
        s3, writer, BUCKET, data_file, export.summary.export_arn, table="dst", max_workers=3
    )
    assert (result.items_read, result.items_written) == (120, 120)
    assert len(proxy.requests) == 6 and proxy.absolute_form == 6  # 5 batches + the throttled one again
    assert proxy.max_in_flight >= 2 and proxy.bad_signatures == []
    assert scan_all(ddb, "dst") == scan_all(ddb, "src")
