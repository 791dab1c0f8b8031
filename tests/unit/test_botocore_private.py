"""The writer's start-up check: a botocore outside the tested range, or one that moved a private name
the writer uses, fails clearly (the range and the fix named) before any stage."""

from __future__ import annotations

import boto3
import botocore
import botocore.client
import pytest
from botocore.auth import SigV4Auth

from dynamodb_dr.restore.writer import SignedTransport, botocore_private, check_transport
from dynamodb_dr.restore.writer.botocore_private import UnsupportedBotocoreError


@pytest.fixture
def client():
    return boto3.client(
        "dynamodb",
        region_name="eu-west-1",
        endpoint_url="http://127.0.0.1:1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
    )


def test_the_installed_botocore_is_in_the_tested_range(client):
    botocore_private.check_version()  # the venv's botocore is the one the tests run on
    assert isinstance(check_transport(client), SignedTransport)


@pytest.mark.parametrize("version", ["1.43.9", "1.45.0", "2.0.0", "1.35.1"])
def test_a_botocore_outside_the_tested_range_is_refused_naming_the_range_and_the_fix(version):
    with pytest.raises(UnsupportedBotocoreError) as raised:
        botocore_private.check_version(version)
    message = str(raised.value)
    assert f"botocore {version} is installed" in message
    assert "tested on botocore>=1.44.0,<1.45.0" in message
    assert "pip install 'botocore>=1.44.0,<1.45.0'" in message and "TESTED_BOTOCORE" in message


@pytest.mark.parametrize("version", ["1.44.0", "1.44.8", "1.44.99.dev0"])
def test_versions_in_the_range_pass(version):
    botocore_private.check_version(version)


def test_the_start_up_check_refuses_the_installed_release_when_it_is_outside_the_range(client, monkeypatch):
    monkeypatch.setattr(botocore, "__version__", "1.46.0")
    with pytest.raises(UnsupportedBotocoreError, match=r"botocore 1.46.0 is installed"):
        check_transport(client)


def test_a_moved_client_name_is_named(client, monkeypatch):
    monkeypatch.delattr(botocore.client.BaseClient, "_get_credentials")
    with pytest.raises(UnsupportedBotocoreError) as raised:
        check_transport(client)
    assert "no longer has client._get_credentials" in str(raised.value)
    assert ">=1.44.0,<1.45.0" in str(raised.value)


def test_a_moved_signer_name_is_named(client, monkeypatch):
    monkeypatch.delattr(SigV4Auth, "_normalize_url_path")
    monkeypatch.delattr(botocore.auth, "_host_from_url")
    with pytest.raises(UnsupportedBotocoreError) as raised:
        check_transport(client)
    assert "SigV4Auth._normalize_url_path" in str(raised.value)
    assert "botocore.auth._host_from_url" in str(raised.value)


def test_the_accesses_read_the_clients_own_parts(client):
    assert botocore_private.client_credentials(client).access_key == "k"
    unverified = boto3.client(
        "dynamodb", region_name="eu-west-1", endpoint_url="https://127.0.0.1:1", verify=False
    )
    assert botocore_private.http_session_verify(botocore_private.client_http_session(unverified)) is False
    assert botocore_private.host_from_url("https://Dynamodb.eu-west-1.amazonaws.com:443/") == (
        "dynamodb.eu-west-1.amazonaws.com"
    )
    assert botocore_private.host_from_url("http://127.0.0.1:8000") == "127.0.0.1:8000"
    signer = SigV4Auth(None, "dynamodb", "eu-west-1")
    assert botocore_private.scope(signer) == ("eu-west-1", "dynamodb")
    assert botocore_private.header_value(signer, "  a   b ") == "a b"
    assert botocore_private.normalize_url_path(signer, "") == "/"
