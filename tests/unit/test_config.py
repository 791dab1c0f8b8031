"""BackupSettings.from_env: every missing or malformed variable fails at start, naming itself."""

from __future__ import annotations

import pytest

from dynamodb_dr.config import BackupSettings
from dynamodb_dr.errors import ConfigError

GOOD = {
    "BACKUP_BUCKET": "acme-dynamodb-backups",
    "ENVIRONMENT": "prod",
    "DYNAMODB_TABLES": '["orders","users.v2","audit_log-2026"]',
}


def settings_with(**changes: str | None) -> BackupSettings:
    env = {**GOOD, **changes}
    return BackupSettings.from_env({k: v for k, v in env.items() if v is not None})


def test_good_environment_is_parsed_and_prefix_defaults():
    settings = settings_with()
    assert settings.backup_bucket == "acme-dynamodb-backups"
    assert settings.environment == "prod"
    assert settings.tables == ("orders", "users.v2", "audit_log-2026")
    assert settings.exports_prefix == "native-exports"


def test_terraform_jsonencode_output_and_a_custom_prefix_are_accepted():
    # jsonencode(["orders", "users"]) writes compact JSON; people also write it with spaces by hand.
    settings = settings_with(DYNAMODB_TABLES='[ "orders", "users" ]', S3_EXPORTS_PREFIX="/dr/exports/")
    assert settings.tables == ("orders", "users")
    assert settings.exports_prefix == "dr/exports"


def test_empty_prefix_falls_back_to_default():
    assert settings_with(S3_EXPORTS_PREFIX="").exports_prefix == "native-exports"


def test_settings_are_frozen():
    settings = settings_with()
    with pytest.raises(AttributeError):
        settings.environment = "dev"  # type: ignore[misc]


@pytest.mark.parametrize("name", ["BACKUP_BUCKET", "ENVIRONMENT", "DYNAMODB_TABLES"])
@pytest.mark.parametrize("value", [None, "", "   "], ids=["unset", "empty", "blank"])
def test_missing_required_variable_is_named(name: str, value: str | None):
    with pytest.raises(ConfigError) as error:
        settings_with(**{name: value})
    message = str(error.value)
    assert name in message
    assert "missing or empty" in message and "expected" in message


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("BACKUP_BUCKET", "Acme_Backups", "not a valid S3 bucket name"),
        ("BACKUP_BUCKET", "s3://acme-backups", "not a valid S3 bucket name"),
        ("BACKUP_BUCKET", "ab", "not a valid S3 bucket name"),
        ("DYNAMODB_TABLES", "orders,users", "not valid JSON"),
        ("DYNAMODB_TABLES", "[orders]", "not valid JSON"),
        ("DYNAMODB_TABLES", "[]", "non-empty JSON array"),
        ("DYNAMODB_TABLES", '"orders"', "non-empty JSON array"),
        ("DYNAMODB_TABLES", '{"orders": 1}', "non-empty JSON array"),
        ("DYNAMODB_TABLES", '["orders", 7]', "not a valid DynamoDB table name"),
        ("DYNAMODB_TABLES", '["ab"]', "not a valid DynamoDB table name"),
        ("DYNAMODB_TABLES", '["orders table"]', "not a valid DynamoDB table name"),
        ("DYNAMODB_TABLES", '["orders","users","orders"]', "more than once: orders"),
        ("S3_EXPORTS_PREFIX", "/", "not a usable S3 key prefix"),
        ("S3_EXPORTS_PREFIX", "   ", "not a usable S3 key prefix"),
        ("S3_EXPORTS_PREFIX", "a//b", "not a usable S3 key prefix"),
        ("INCREMENTAL_EXPORT_MINUTES", "14", "whole minutes from 15 to 1440"),
        ("INCREMENTAL_EXPORT_MINUTES", "1441", "whole minutes from 15 to 1440"),
        ("INCREMENTAL_EXPORT_MINUTES", "15.0", "whole minutes from 15 to 1440"),
        ("INCREMENTAL_EXPORT_MINUTES", "0060", "whole minutes from 15 to 1440"),
        ("INCREMENTAL_EXPORT_MINUTES", "1h", "whole minutes from 15 to 1440"),
        ("INCREMENTAL_EXPORT_VIEW", "NEW_IMAGES", "NEW_AND_OLD_IMAGES or NEW_IMAGE"),
    ],
)
def test_malformed_variable_is_named_with_what_was_expected(name: str, value: str, says: str):
    with pytest.raises(ConfigError) as error:
        settings_with(**{name: value})
    message = str(error.value)
    assert name in message
    assert says in message
