"""The writer's signer produces exactly the headers botocore's ``SigV4Auth.add_auth`` produces."""

from __future__ import annotations

import datetime

import pytest
from botocore import auth as botocore_auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import NoCredentialsError

from dynamodb_dr.restore.writer.signing import BatchWriteSigner

HEADERS = {
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": "DynamoDB_20120810.BatchWriteItem",
    "User-Agent": "dynamodb-dr/test  botocore/x raw-batch-write",
}
BODY = b'{"RequestItems":{"t":[{"PutRequest":{"Item":{"pk":{"S":"\xc3\xa9"}}}}]}}'


def botocore_headers(url, credentials, when, region="us-east-1", body=BODY, monkeypatch=None):
    monkeypatch.setattr(botocore_auth, "get_current_datetime", lambda: when)
    request = AWSRequest(method="POST", url=url, data=body, headers=dict(HEADERS))
    SigV4Auth(credentials, "dynamodb", region).add_auth(request)
    return {
        name: request.headers[name]
        for name in ("X-Amz-Date", "X-Amz-Security-Token", "Authorization")
        if name in request.headers
    }


@pytest.mark.parametrize(
    "url",
    [
        "https://dynamodb.eu-west-1.amazonaws.com",
        "https://dynamodb.eu-west-1.amazonaws.com:443/",
        "http://127.0.0.1:8000",
        "http://localhost:80",
        "https://vpce-1a2b.dynamodb.us-east-1.vpce.amazonaws.com/",
    ],
)
@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzE//token+with/slashes=="])
def test_headers_equal_botocore_add_auth(monkeypatch, url, token):
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
    signer = BatchWriteSigner(url, "dynamodb", "eu-west-1", HEADERS)
    for when in (
        datetime.datetime(2026, 11, 22, 23, 59, 59, tzinfo=datetime.UTC),
        datetime.datetime(2026, 11, 23, 0, 0, 0, tzinfo=datetime.UTC),  # a new day: a new signing key
    ):
        expected = botocore_headers(url, credentials, when, "eu-west-1", monkeypatch=monkeypatch)
        got = dict(signer.sign(BODY, credentials, when.strftime("%Y%m%dT%H%M%SZ")))
        assert {k: got[k] for k in expected} == expected
        assert set(got) == set(HEADERS) | set(expected)
        assert all(got[k] == v for k, v in HEADERS.items())


def test_rotated_credentials_are_used_at_once(monkeypatch):
    url = "https://dynamodb.us-east-1.amazonaws.com"
    signer = BatchWriteSigner(url, "dynamodb", "us-east-1", HEADERS)
    when = datetime.datetime(2026, 11, 22, 12, 0, 0, tzinfo=datetime.UTC)
    for n in range(12):  # more than the key cache holds
        credentials = Credentials(f"ASIA{n}", f"secret-{n}", f"token-{n}")
        expected = botocore_headers(url, credentials, when, monkeypatch=monkeypatch)
        got = dict(signer.sign(BODY, credentials, "20261122T120000Z"))
        assert got["Authorization"] == expected["Authorization"]


def test_current_time_is_used_when_none_is_given():
    signer = BatchWriteSigner("http://127.0.0.1:1", "dynamodb", "us-east-1", HEADERS)
    before = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
    stamp = dict(signer.sign(BODY, Credentials("a", "b")))["X-Amz-Date"]
    after = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%S")
    assert before <= stamp[:-1] <= after and stamp.endswith("Z")


def test_missing_credentials_raise_botocores_error():
    with pytest.raises(NoCredentialsError):
        BatchWriteSigner("http://127.0.0.1:1", "dynamodb", "us-east-1", HEADERS).sign(BODY, None)


def test_headers_the_signer_owns_cannot_be_fixed():
    with pytest.raises(ValueError, match="x-amz-date"):
        BatchWriteSigner("http://127.0.0.1:1", "dynamodb", "us-east-1", {**HEADERS, "X-Amz-Date": "x"})
