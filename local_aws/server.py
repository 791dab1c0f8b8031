"""Start a moto server on a free loopback port and point the standard AWS variables at it."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from local_aws import (
    clock,
    contributor_insights,
    export_layout,
    moto_fixes,
    pitr_window,
    table_import,
    write_history,
)

LOCAL_REGION = "us-east-1"
LOCAL_ACCOUNT_ID = "123456789012"  # moto's default account

# Every variable a boto3/botocore client (in this process, in Spark's Python workers and in any
# subprocess) reads to find its endpoint, region and credentials.
_ENV_KEYS = (
    "AWS_ENDPOINT_URL",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


@dataclass
class LocalAWS:
    """A running local endpoint. ``env`` holds the variables that point clients at it."""

    endpoint_url: str
    region: str = LOCAL_REGION
    account_id: str = LOCAL_ACCOUNT_ID
    _server: object = field(default=None, repr=False)
    _saved_env: dict[str, str | None] = field(default_factory=dict, repr=False)

    @property
    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            # No profile or config file from the machine may leak into a local run.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }

    def apply_env(self) -> None:
        """Set the variables in this process (inherited by Spark workers and subprocesses)."""
        self._saved_env = {k: os.environ.get(k) for k in _ENV_KEYS}
        os.environ.pop("AWS_PROFILE", None)
        os.environ.update(self.env)

    def restore_env(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def reset(self) -> None:
        """Forget every resource (tables, buckets, exports, write history) while keeping the server
        up, and put the endpoint's clock back to real time."""
        import requests

        requests.post(f"{self.endpoint_url}/moto-api/reset", timeout=30).raise_for_status()
        export_layout.reset()
        write_history.reset()
        clock.reset()
        table_import.reset()
        contributor_insights.reset()

    def stop(self) -> None:
        self.restore_env()
        if self._server is not None:
            self._server.stop()  # type: ignore[attr-defined]
            self._server = None


def start_local_aws(
    *, apply_env: bool = True, export_settings: Mapping[str, object] | None = None
) -> LocalAWS:
    """Start moto's server on 127.0.0.1 at a free port, with exports in the real AWS layout."""
    from moto.server import ThreadedMotoServer

    export_layout.install(**dict(export_settings or {}))
    write_history.install()  # before moto_fixes: its write lock then covers the recording too
    moto_fixes.install()
    pitr_window.install()  # the PITR window moves with the endpoint's clock, as on AWS
    table_import.install()
    contributor_insights.install()
    # werkzeug logs every request at INFO; keep the demo's and the tests' output readable.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    local = LocalAWS(endpoint_url=f"http://{host}:{port}", _server=server)
    if apply_env:
        local.apply_env()
    return local


@contextmanager
def local_aws(**kwargs: object) -> Iterator[LocalAWS]:
    local = start_local_aws(**kwargs)  # type: ignore[arg-type]
    try:
        yield local
    finally:
        local.stop()
