"""A minimal DynamoDB-shaped HTTP sink in its own process: it answers every BatchWriteItem at once
with ``{"UnprocessedItems":{}}`` (and its ``x-amz-crc32``), keeps connections alive as DynamoDB does,
and counts the PutRequests it received.

It isolates the writing client's own CPU per item from the local emulator's: moto spends ~1 ms of
CPU per item on the same two cores and closes every connection (HTTP/1.0), which both inflate the
client's CPU (new connection per call, caches cold after each switch to the server). Nothing is
stored: the item-exact checks are the functional tests' and the end-to-end runs' (against moto).

    with http_sink() as sink:   # sink.url, sink.items(), sink.cpu_seconds()
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests

from benchmarks.measure import process_cpu_seconds

_SERVER = r"""
import asyncio, json, os, sys, zlib
BODY = b'{"UnprocessedItems":{}}'
HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-RequestId: sink\r\n"
        b"x-amz-crc32: " + str(zlib.crc32(BODY)).encode() + b"\r\nContent-Length: " + str(len(BODY)).encode() + b"\r\n\r\n")
counts = {"items": 0, "calls": 0}
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length) if length else b""
            if head.startswith(b"GET /count"):
                out = json.dumps(counts).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: " + str(len(out)).encode() + b"\r\n\r\n" + out)
            else:
                counts["items"] += body.count(b'{"PutRequest":')
                counts["calls"] += 1
                writer.write(HEAD + BODY)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print("http://127.0.0.1:%d" % server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    os._exit(0)  # stdin closed: the benchmark is done; open keep-alive connections go with the process
asyncio.run(main())
"""


@dataclass
class Sink:
    url: str
    pid: int

    def counts(self) -> dict[str, int]:
        return requests.get(f"{self.url}/count", timeout=10).json()

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.pid)


@contextmanager
def http_sink() -> Iterator[Sink]:
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"the HTTP sink did not start (exit code {process.poll()})")
        yield Sink(url, process.pid)
    finally:
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()
