"""How much client CPU one signed BatchWriteItem call costs on each way of sending it, into the HTTP
sink (``benchmarks.http_sink``): the measurement behind the writer's transport.

Each row sends the same 25-item body (~26 KB) ``--calls`` times from one thread and divides the
thread's CPU time by the calls. Every row but the last signs with ``botocore.auth.SigV4Auth`` (the
"sign only" row is that alone):

* raw kept-alive socket: the writer's transport (``SignedTransport.send``: one ``sendall``, the answer
  read by Content-Length, crc32 checked, JSON parsed);
* http.client kept-alive connection; urllib3 connection pool; botocore's own HTTP session;
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

from benchmarks.bench_job import BotocoreCallPath
from benchmarks.http_sink import http_sink
from dynamodb_dr.batch_writer import BatchWriter, batch_body
from dynamodb_dr.clients import make_client

LINE = b'{"Item":{"pk":{"S":"' + b"a" * 1000 + b'"}}}'


def run(calls: int) -> list[tuple[str, float]]:
    body = batch_body("bench", [LINE] * 25)
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL_DYNAMODB",)}
    rows: list[tuple[str, float]] = []
    with http_sink() as sink:
        os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = sink.url
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
            paths: list[tuple[str, Callable[[], Any]]] = [
                ("SigV4Auth signing only", lambda: transport.signed_request(body)),
                ("raw kept-alive socket (the writer's transport)", lambda: transport.send(body)),
                ("http.client kept-alive connection", via_http_client),
                ("urllib3 connection pool", via_urllib3),
                ("botocore HTTP session", via_botocore_session),
                ("botocore call path (client.batch_write_item)", lambda: call_path.transport.send(body)),
            ]
            for name, send in paths:
                send()  # connect outside the timing
                started = time.thread_time()
                for _ in range(calls):
                    send()
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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    print(report(run(args.calls)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
