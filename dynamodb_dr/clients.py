"""The one place that builds AWS clients.

Every module takes its clients as arguments; entry points build them here, with one shared
botocore ``Config`` (adaptive retries, timeouts, a user agent naming the project). Endpoints come
from the standard ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>`` variables that botocore
honours itself, so no code here or elsewhere knows whether it talks to AWS or to a local endpoint.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from dynamodb_dr import USER_AGENT

DEFAULT_CONFIG = Config(
    user_agent_extra=USER_AGENT,
    retries={"mode": "adaptive", "max_attempts": 10},
    connect_timeout=10,
    read_timeout=60,
    tcp_keepalive=True,
)


def client_config(**overrides: Any) -> Config:
    """The shared config, optionally merged with overrides (e.g. ``max_pool_connections``)."""
    return DEFAULT_CONFIG.merge(Config(**overrides)) if overrides else DEFAULT_CONFIG


def make_client(
    service: str,
    *,
    session: boto3.session.Session | None = None,
    region_name: str | None = None,
    config: Config | None = None,
) -> Any:
    """A low-level client for ``service`` with the project's shared configuration."""
    session = session or boto3.session.Session()
    # The service is a plain str here (boto3-stubs types each literal name); callers annotate the
    # client they get where its type matters.
    return session.client(service, region_name=region_name, config=config or DEFAULT_CONFIG)  # type: ignore[call-overload]
