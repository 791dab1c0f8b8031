"""SigV4 for the writer's BatchWriteItem requests: botocore's signer, with what repeats remembered.

Every request a writer sends has the same method, path, query and headers; only the time, the body
and (with refreshable credentials) the keys change. botocore's ``SigV4Auth.add_auth`` rebuilds all of
it on every call: a case-insensitive header map built twice (``headers_to_sign``), the host parsed out
of the URL twice, and the signing key derived again with four HMACs, about 100 µs of CPU per call,
four times the cost of hashing the 26 KB body (``benchmarks/bench_transport.py``).

``BatchWriteSigner`` is a ``SigV4Auth`` (same algorithm, scope, HMAC and payload hash methods,
botocore's own) that:

* forms the canonical path, query string and the constant canonical headers once, with
  ``SigV4Auth``'s own methods, from a prototype request holding the writer's real headers;
* derives the signing key once per (secret key, day) and keeps the last few (credentials rotate);
* formats the timestamp once per second.

``tests/unit/test_signing.py`` checks the headers it produces against ``SigV4Auth.add_auth`` byte for
byte (with and without a session token, http and https, default and explicit ports, day changes), and
the writer's functional tests re-compute every request's signature with botocore on the server side.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import OrderedDict
from hashlib import sha256
from typing import Any, cast
from urllib.parse import urlsplit

from botocore.auth import SIGV4_TIMESTAMP, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.exceptions import NoCredentialsError

from dynamodb_dr.restore.writer import botocore_private

_KEY_CACHE_SIZE = 8


class BatchWriteSigner(SigV4Auth):
    """Signs POST requests to one endpoint whose other headers never change.

    ``sign(body, credentials)`` returns the headers to send, in order: the fixed ones given at
    construction, then ``X-Amz-Date``, ``X-Amz-Security-Token`` (session credentials only) and
    ``Authorization``. ``credentials`` are frozen credentials (``access_key``, ``secret_key``,
    ``token``), fetched by the caller per call so refreshable ones renew. Thread-safe.
    """

    def __init__(
        self, endpoint_url: str, service_name: str, region_name: str, headers: dict[str, str]
    ) -> None:
        super().__init__(cast(Any, None), service_name, region_name)  # credentials come per call
        self.endpoint_url = endpoint_url
        self.host = botocore_private.host_from_url(endpoint_url)
        self.fixed_headers = dict(headers)
        prototype = AWSRequest(method="POST", url=endpoint_url, data=b"", headers=headers)
        self._method = (prototype.method or "POST").upper()
        self._path = botocore_private.normalize_url_path(self, urlsplit(endpoint_url).path)
        self._query = self.canonical_query_string(prototype)
        # The canonical form of the constant headers, by SigV4Auth's own rules (lower-cased names,
        # trimmed values, User-Agent and the like left out, host taken from the URL).
        constant = self.headers_to_sign(prototype)
        for name in ("x-amz-date", "x-amz-security-token", "authorization"):
            if name in constant:
                raise ValueError(f"{name} is set by the signer, not a fixed header")
        canonical = {name: self.canonical_headers(_one(constant, name)) for name in set(constant)}
        self._region, self._service = botocore_private.scope(self)
        self._scope_tail = f"{self._region}/{self._service}/aws4_request"
        # The canonical request as a %-template, for requests without and with a session token:
        # its only variable parts are the time, the token and the payload's hash.
        self._templates: dict[bool, tuple[str, str]] = {}
        for with_token in (False, True):
            lines = {name: line.replace("%", "%%") for name, line in canonical.items()}
            lines["x-amz-date"] = "x-amz-date:%(timestamp)s"
            if with_token:
                lines["x-amz-security-token"] = "x-amz-security-token:%(token)s"
            names = sorted(lines)
            signed_headers = ";".join(names)
            template = "\n".join(
                (
                    self._method,
                    self._path.replace("%", "%%"),
                    self._query.replace("%", "%%"),
                    "\n".join(lines[name] for name in names) + "\n",
                    signed_headers,
                    "%(payload)s",
                )
            )
            self._templates[with_token] = (template, signed_headers)
        self._lock = threading.Lock()
        self._keys: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._second = -1
        self._timestamp = ""

    def _now(self) -> str:
        second = int(time.time())
        if second != self._second:
            # Set together: a racing thread reads either the old pair or the new one's string.
            self._timestamp = time.strftime(SIGV4_TIMESTAMP, time.gmtime(second))
            self._second = second
        return self._timestamp

    def signing_key(self, secret_key: str, datestamp: str) -> bytes:
        """``SigV4Auth.signature``'s key derivation, remembered per (secret key, day)."""
        cache_key = (secret_key, datestamp)
        key = self._keys.get(cache_key)
        if key is None:
            sign = botocore_private.hmac_sha256
            k_date = sign(self, f"AWS4{secret_key}".encode(), datestamp)
            k_region = sign(self, k_date, self._region)
            k_service = sign(self, k_region, self._service)
            key = sign(self, k_service, "aws4_request")
            with self._lock:
                self._keys[cache_key] = key
                while len(self._keys) > _KEY_CACHE_SIZE:
                    self._keys.popitem(last=False)
        return key

    def authorize(self, body: bytes, credentials: Any, timestamp: str | None = None) -> tuple[str, str, str]:
        """(X-Amz-Date, X-Amz-Security-Token or "", Authorization) for a request carrying ``body``."""
        if credentials is None:
            raise NoCredentialsError()
        timestamp = timestamp or self._now()
        datestamp = timestamp[:8]
        token = credentials.token or ""
        template, signed_headers = self._templates[bool(token)]
        canonical_request = template % {
            "timestamp": timestamp,
            "token": botocore_private.header_value(self, token),
            "payload": sha256(body).hexdigest(),
        }
        scope = f"{datestamp}/{self._scope_tail}"
        string_to_sign = (
            f"AWS4-HMAC-SHA256\n{timestamp}\n{scope}\n{sha256(canonical_request.encode()).hexdigest()}"
        )
        signature = hmac.new(
            self.signing_key(credentials.secret_key, datestamp), string_to_sign.encode(), sha256
        ).hexdigest()
        authorization = (
            f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
            f"SignedHeaders={signed_headers}, Signature={signature}"
        )
        return timestamp, token, authorization

    def sign(self, body: bytes, credentials: Any, timestamp: str | None = None) -> list[tuple[str, str]]:
        """The headers for one request carrying ``body``: the fixed ones, then the signer's."""
        timestamp, token, authorization = self.authorize(body, credentials, timestamp)
        headers = list(self.fixed_headers.items())
        headers.append(("X-Amz-Date", timestamp))
        if token:
            headers.append(("X-Amz-Security-Token", token))
        headers.append(("Authorization", authorization))
        return headers


def _one(headers: Any, name: str) -> Any:
    """A header map holding just ``name`` (with all its values), for ``SigV4Auth.canonical_headers``."""
    single = HTTPHeaders()
    for value in headers.get_all(name):
        single[name] = value
    return single
