"""Every botocore private name the writer uses, in one place, with the botocore range it is tested on.

The writer sends BatchWriteItem on its own lean path (see the package docstring) built from a
client's parts, and some of those parts are private in botocore:

* ``client._get_credentials()``: the client's credential provider chain (refreshable credentials);
* ``client._endpoint.http_session``: its pooled HTTP session (proxies, client certificates) and that
  session's ``_verify`` (TLS verification: a CA bundle path, or False);
* ``botocore.auth._host_from_url``: the Host header SigV4 signs (default ports left out);
* ``SigV4Auth._sign``, ``_normalize_url_path``, ``_header_value``, ``_region_name``,
  ``_service_name``: the signer's HMAC, canonical path and header rules, and its scope.

A botocore release may move any of them. ``check()`` (run by ``writer.check_transport`` on the
driver before any stage) fails the job at start, naming the installed version, the tested range and
the fix, when botocore is outside ``TESTED_BOTOCORE`` or one of the names is gone: not inside every
Spark task after the validation stage. Widen the range only after ``tests/unit/test_signing.py``,
``tests/unit/test_botocore_private.py`` and ``tests/functional/test_batch_writer.py`` pass on the
new release.
"""

from __future__ import annotations

import re
from typing import Any, cast

import botocore
import botocore.auth
from botocore.auth import SigV4Auth

from dynamodb_dr.errors import DynamoDBDRError

TESTED_BOTOCORE = ((1, 44, 0), (1, 45, 0))
"""botocore versions the writer is tested on: from the first (included) to the second (excluded)."""

_CLIENT_NAMES = ("_get_credentials", "_endpoint")
_SIGV4_NAMES = ("_sign", "_normalize_url_path", "_header_value")


class UnsupportedBotocoreError(DynamoDBDRError):
    """The installed botocore is not one the writer is tested on, or moved a name it relies on."""


def _range() -> str:
    low, high = (".".join(map(str, v)) for v in TESTED_BOTOCORE)
    return f">={low},<{high}"


def _fix() -> str:
    return (
        f"install a botocore in the tested range ({_range()}, e.g. pip install 'botocore{_range()}'), or "
        "widen dynamodb_dr.restore.writer.botocore_private.TESTED_BOTOCORE after the writer's tests pass "
        "on this release"
    )


def parse_version(version: str) -> tuple[int, int, int]:
    """``"1.44.8"`` -> ``(1, 44, 8)`` (a suffix such as ``.dev0`` or ``rc1`` is ignored)."""
    parts = [int(m) for m in re.findall(r"\d+", version)[:3]]
    if not parts:
        raise UnsupportedBotocoreError(f"cannot read the botocore version {version!r}; {_fix()}")
    major, minor, patch = [*parts, 0, 0, 0][:3]
    return major, minor, patch


def check_version(version: str | None = None) -> None:
    """Raise ``UnsupportedBotocoreError`` when ``version`` (the installed botocore's by default) is
    outside ``TESTED_BOTOCORE``."""
    version = botocore.__version__ if version is None else version
    low, high = TESTED_BOTOCORE
    if not low <= parse_version(version) < high:
        raise UnsupportedBotocoreError(
            f"botocore {version} is installed; the restore's writer relies on botocore private names "
            f"and is tested on botocore{_range()}: {_fix()}"
        )


def check_names(client: Any) -> None:
    """Raise ``UnsupportedBotocoreError`` when a name this module reads is gone."""
    missing = [f"client.{name}" for name in _CLIENT_NAMES if not hasattr(client, name)]
    if hasattr(client, "_endpoint") and not hasattr(client._endpoint, "http_session"):
        missing.append("client._endpoint.http_session")
    missing += [f"SigV4Auth.{name}" for name in _SIGV4_NAMES if not callable(getattr(SigV4Auth, name, None))]
    if not callable(getattr(botocore.auth, "_host_from_url", None)):
        missing.append("botocore.auth._host_from_url")
    probe = SigV4Auth(cast(Any, None), "dynamodb", "us-east-1")
    missing += [f"SigV4Auth.{name}" for name in ("_region_name", "_service_name") if not hasattr(probe, name)]
    if missing:
        raise UnsupportedBotocoreError(
            f"botocore {botocore.__version__} no longer has {', '.join(missing)}, which the restore's "
            f"writer relies on: {_fix()}"
        )


def check(client: Any) -> None:
    """The version, then the names (a version in range with a name gone is still refused)."""
    check_version()
    check_names(client)


# --- the accesses ---------------------------------------------------------------------------------


def client_credentials(client: Any) -> Any:
    """The client's credentials (refreshable ones renew on ``get_frozen_credentials()``), or None."""
    return client._get_credentials()


def client_http_session(client: Any) -> Any:
    """The client's own pooled HTTP session (knows proxies and client certificates)."""
    return client._endpoint.http_session


def http_session_verify(http_session: Any) -> Any:
    """The session's TLS verification: True, False or a CA bundle path."""
    return getattr(http_session, "_verify", True)


def host_from_url(url: str) -> str:
    """The Host header value SigV4 signs for ``url`` (lower case, default port left out)."""
    return botocore.auth._host_from_url(url)  # type: ignore[attr-defined]


def hmac_sha256(signer: SigV4Auth, key: bytes, message: str) -> bytes:
    """``SigV4Auth._sign``: HMAC-SHA256 of ``message`` under ``key`` (digest)."""
    return signer._sign(key, message)  # type: ignore[attr-defined]


def normalize_url_path(signer: SigV4Auth, path: str) -> str:
    """``SigV4Auth._normalize_url_path``: the canonical path."""
    return signer._normalize_url_path(path)  # type: ignore[attr-defined]


def header_value(signer: SigV4Auth, value: str) -> str:
    """``SigV4Auth._header_value``: a header value trimmed as SigV4 canonicalizes it."""
    return signer._header_value(value)  # type: ignore[attr-defined]


def scope(signer: SigV4Auth) -> tuple[str, str]:
    """(region, service) the signer signs for."""
    return signer._region_name, signer._service_name  # type: ignore[attr-defined]
