"""How much client CPU one signed BatchWriteItem call costs on each way of signing and sending it,
into the HTTP sink (``benchmarks.http_sink``): the measurement behind the writer's transport.

Each row sends the same 25-item body (~26 KB) ``--calls`` times from one thread and divides the
thread's CPU time by the calls:

* signing alone: botocore's ``SigV4Auth.add_auth`` on an ``AWSRequest`` (what botocore does per call)
  and the writer's ``BatchWriteSigner`` (a ``SigV4Auth`` that keeps what repeats), request bytes included;
* the writer's pipeline (``WritePipeline``, 4 requests in flight from one thread) and its transport
  one call at a time (``SignedTransport.send``: one ``sendall``, the answer read by Content-Length,
  crc32 checked);
* http.client kept-alive connection, urllib3 connection pool, botocore's own HTTP session (each with
  the writer's signed headers);
* the whole botocore call path: ``client.batch_write_item`` with the body swapped in before the call.

    python -m benchmarks.bench_transport --calls 2000
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from benchmarks.bench_job import BotocoreCallPath
from benchmarks.http_sink import http_sink
from dynamodb_dr.clients import make_client
from dynamodb_dr.restore.writer import BatchWriter, batch_body

LINE = b'{"Item":{"pk":{"S":"' + b"a" * 1000 + b'"}}}'


def run(calls: int) -> list[tuple[str, float]]:
    body = batch_body("bench", [LINE] * 25)
    names = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    saved = {k: os.environ.get(k) for k in names}
    rows: list[tuple[str, float]] = []
    with http_sink() as sink:
        # The sink checks no signature: any credentials do, but there must be some (and a region).
        os.environ.update(
            {
                "AWS_ENDPOINT_URL_DYNAMODB": sink.url,
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
        )
        try:
            writer = BatchWriter(make_client("dynamodb"), "bench")
            transport = writer.transport
            url = urlsplit(sink.url)
            pool = urllib3.HTTPConnectionPool(url.hostname, url.port, maxsize=1)
            connection = http.client.HTTPConnection(url.hostname, url.port)
            botocore_http = transport._http  # the client's own session, as the proxy fallback uses

            def headers() -> dict[str, str]:
                return dict(transport.signed_request(body).headers.items())

            def via_http_client() -> Any:
                connection.request("POST", "/", body=body, headers=headers())
                return json.loads(connection.getresponse().read())

            def via_urllib3() -> Any:
                return json.loads(pool.urlopen("POST", "/", body=body, headers=headers(), retries=False).data)

            def via_botocore_session() -> Any:
                return json.loads(botocore_http.send(transport.signed_request(body).prepare()).content)

            call_path = BotocoreCallPath(make_client("dynamodb"), "bench")
            lines = [LINE] * 25

            def stock_sigv4() -> Any:
                request = AWSRequest(
                    method="POST", url=transport.endpoint_url, data=body, headers=dict(fixed)
                )
                SigV4Auth(transport.credentials(), transport.signing_name, transport.region).add_auth(request)
                return request

            open_pipeline: list[Any] = []

            def pipelined() -> None:
                if not open_pipeline:
                    open_pipeline.append(writer.pipeline("bench", max_in_flight=4))
                open_pipeline[0].submit(lines)

            def finish() -> None:  # every answer read, inside the timing
                if open_pipeline:
                    open_pipeline.pop().finish()

            fixed = transport.signer.fixed_headers
            paths: list[tuple[str, Callable[[], Any]]] = [
                ("sign: botocore SigV4Auth.add_auth", stock_sigv4),
                (
                    "sign: BatchWriteSigner + request bytes (the writer's)",
                    lambda: transport.request_bytes(body),
                ),
                ("the writer's pipeline, 4 in flight (WritePipeline)", pipelined),
                ("raw kept-alive socket, one at a time (SignedTransport.send)", lambda: transport.send(body)),
                ("http.client kept-alive connection", via_http_client),
                ("urllib3 connection pool", via_urllib3),
                ("botocore HTTP session", via_botocore_session),
                ("botocore call path (client.batch_write_item)", lambda: call_path._send_via_client(body)),
            ]
            for name, send in paths:
                send()  # connect outside the timing
                finish()
                started = time.thread_time()
                for _ in range(calls):
                    send()
                finish()
                rows.append((name, (time.thread_time() - started) / calls * 1e6))
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    return rows


def report(rows: list[tuple[str, float]]) -> str:
    lines = ["| way of sending one 25-item call | client CPU per call | per item |", "|---|---:|---:|"]
    lines += [f"| {name} | {us:,.0f} µs | {us / 25:,.1f} µs |" for name, us in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args(argv)
    print(report(run(args.calls)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
