"""The local AWS endpoint (moto server + AWS export layout) in a SEPARATE process, so a benchmark
counts the client's CPU apart from the server's (read from /proc for the server's pid).

    with local_endpoint() as endpoint:      # sets AWS_ENDPOINT_URL & co. in os.environ
        ... endpoint.cpu_seconds() ...

``AWS_ENDPOINT_URL`` already set (and ``BENCH_USE_ENV_ENDPOINT=1``) uses that endpoint instead, and
server CPU is then not counted.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from benchmarks.measure import process_cpu_seconds

# Run in the child: start the server, print its URL, serve until stdin closes.
_SERVER = """
import sys
from local_aws import start_local_aws
local = start_local_aws(apply_env=False)
print(local.endpoint_url, flush=True)
sys.stdin.read()
local.stop()
"""


@dataclass
class Endpoint:
    url: str
    pid: int | None
    """The server's process id, or None for an endpoint this benchmark did not start."""

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.pid) if self.pid else float("nan")

    def reset(self) -> None:
        """Forget every table and bucket (between the paths of one run)."""
        import requests

        requests.post(f"{self.url}/moto-api/reset", timeout=60).raise_for_status()


def _client_env(url: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


@contextmanager
def local_endpoint() -> Iterator[Endpoint]:
    if os.environ.get("BENCH_USE_ENV_ENDPOINT") == "1" and os.environ.get("AWS_ENDPOINT_URL"):
        yield Endpoint(os.environ["AWS_ENDPOINT_URL"], None)
        return
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
    )
    saved = {k: os.environ.get(k) for k in _client_env("")}
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http"):
            raise RuntimeError(f"the local endpoint did not start (exit code {process.poll()})")
        os.environ.pop("AWS_PROFILE", None)
        os.environ.update(_client_env(url))
        yield Endpoint(url, process.pid)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        # Its state is in memory only: stop it at once rather than wait for idle keep-alive connections.
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdin:
            process.stdin.close()
        if process.stdout:
            process.stdout.close()
