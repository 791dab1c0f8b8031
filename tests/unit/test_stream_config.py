"""Stream recovery settings: every bad value fails at start, naming the variable and what it expects."""

from __future__ import annotations

import json

import pytest

from dynamodb_dr.errors import ConfigError
from dynamodb_dr.stream_recovery import config as cfg
from dynamodb_dr.stream_recovery.config import Action, StreamRecoverySettings

GOOD = {
    cfg.PROTECTED_TABLES: json.dumps(
        {
            "orders": {"action": "item_repair", "protected_attributes": ["price"], "burst_threshold": 20},
            "ledger": {"action": "pitr_restore"},
        }
    ),
    cfg.INCIDENT_STATE_TABLE: "dr-incidents",
}


def test_defaults_and_per_table_policies():
    settings = StreamRecoverySettings.from_env(GOOD)
    assert settings.incident_window_seconds == 60
    assert settings.sns_topic_arn is None
    orders, ledger = settings.tables["orders"], settings.tables["ledger"]
    assert (orders.action, orders.protected_attributes, orders.burst_threshold) == (
        Action.ITEM_REPAIR,
        frozenset({"price"}),
        20,
    )
    assert (ledger.action, ledger.burst_threshold, ledger.user_deletes_are_incidents) == (
        Action.PITR_RESTORE,
        100,
        True,
    )


def test_default_burst_threshold_comes_from_its_variable():
    settings = StreamRecoverySettings.from_env(
        {**GOOD, cfg.BURST_THRESHOLD: "7", cfg.INCIDENT_WINDOW_SECONDS: "30"}
    )
    assert settings.tables["ledger"].burst_threshold == 7
    assert settings.tables["orders"].burst_threshold == 20
    assert settings.incident_window_seconds == 30


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({cfg.PROTECTED_TABLES: ""}, r"PROTECTED_TABLES is missing or empty"),
        ({cfg.PROTECTED_TABLES: "{orders"}, r"PROTECTED_TABLES is not valid JSON"),
        ({cfg.PROTECTED_TABLES: "[]"}, r"PROTECTED_TABLES must be a non-empty JSON object"),
        (
            {cfg.PROTECTED_TABLES: '{"orders": {"action": "restore"}}'},
            r"PROTECTED_TABLES\['orders'\]\.action='restore' is not an action; expected one of item_repair",
        ),
        ({cfg.PROTECTED_TABLES: '{"orders": {}}'}, r"PROTECTED_TABLES\['orders'\]\.action=None"),
        ({cfg.PROTECTED_TABLES: '{"o": {"action": "alert_only"}}'}, r"not a valid DynamoDB table name"),
        (
            {cfg.PROTECTED_TABLES: '{"orders": {"action": "alert_only", "treshold": 3}}'},
            r"unknown keys \['treshold'\]",
        ),
        (
            {cfg.PROTECTED_TABLES: '{"orders": {"action": "alert_only", "burst_threshold": 1}}'},
            r"burst_threshold=1 must be a whole number 2-5000",
        ),
        (
            {cfg.PROTECTED_TABLES: '{"orders": {"action": "alert_only", "protected_attributes": "price"}}'},
            r"protected_attributes must be a list",
        ),
        (
            {
                cfg.PROTECTED_TABLES: '{"orders": {"action": "alert_only", "user_deletes_are_incidents": "no"}}'
            },
            r"user_deletes_are_incidents='no' must be true or false",
        ),
        (
            {cfg.PROTECTED_TABLES: json.dumps({"t" * 240: {"action": "pitr_restore"}})},
            r"too long for a recovery table",
        ),
        (
            {cfg.PROTECTED_TABLES: '{"orders": {"action": "alert_only", "burst_factor": 1}}'},
            r"burst_factor=1 must be a number 1.5-1000",
        ),
        (
            {cfg.PROTECTED_TABLES: '{"orders": {"action": "item_repair", "home_region": "Ireland"}}'},
            r"home_region='Ireland' must be a region name such as us-east-1",
        ),
        (
            {cfg.PROTECTED_TABLES: '{"orders": {"action": "item_repair", "dry_run": "yes"}}'},
            r"dry_run='yes' must be true or false",
        ),
        ({cfg.INCIDENT_STATE_TABLE: ""}, r"INCIDENT_STATE_TABLE is missing or empty"),
        (
            {cfg.INCIDENT_STATE_TABLE: "orders"},
            r"INCIDENT_STATE_TABLE='orders' is also listed in PROTECTED_TABLES",
        ),
        (
            {cfg.INCIDENT_WINDOW_SECONDS: "1m"},
            r"INCIDENT_WINDOW_SECONDS='1m' is not a whole number; expected 1-3600",
        ),
        ({cfg.INCIDENT_WINDOW_SECONDS: "0"}, r"INCIDENT_WINDOW_SECONDS=0 is out of range"),
        ({cfg.BURST_THRESHOLD: "100000"}, r"BURST_THRESHOLD=100000 is out of range; expected 2-5000"),
        ({cfg.SNS_TOPIC_ARN: "dr-incidents"}, r"SNS_TOPIC_ARN='dr-incidents' is not an SNS topic ARN"),
        ({cfg.BACKUP_VAULT_NAME: "a vault"}, r"BACKUP_VAULT_NAME='a vault' is not a backup vault name"),
        (
            {cfg.BACKUP_RESTORE_ROLE_ARN: "dr-role"},
            r"BACKUP_RESTORE_ROLE_ARN='dr-role' is not an IAM role ARN",
        ),
        (
            {cfg.PROTECTED_TABLES: '{"orders": {"action": "aws_backup_restore"}}'},
            r"BACKUP_RESTORE_ROLE_ARN is missing but PROTECTED_TABLES gives these tables the action "
            r"aws_backup_restore: orders",
        ),
    ],
)
def test_bad_values_name_the_variable_and_the_fix(changes, message):
    with pytest.raises(ConfigError, match=message):
        StreamRecoverySettings.from_env({**GOOD, **changes})


def test_optional_values_are_accepted():
    settings = StreamRecoverySettings.from_env(
        {
            **GOOD,
            cfg.PROTECTED_TABLES: '{"orders": {"action": "aws_backup_restore"}}',
            cfg.SNS_TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:dr-incidents",
            cfg.BACKUP_VAULT_NAME: "dr-vault",
            cfg.BACKUP_RESTORE_ROLE_ARN: "arn:aws:iam::123456789012:role/dr/backup-restore",
        }
    )
    assert settings.sns_topic_arn == "arn:aws:sns:eu-west-1:123456789012:dr-incidents"
    assert settings.backup_vault_name == "dr-vault"
    assert settings.backup_restore_role_arn == "arn:aws:iam::123456789012:role/dr/backup-restore"


def test_global_table_and_dry_run_keys_are_parsed():
    settings = StreamRecoverySettings.from_env(
        {
            **GOOD,
            cfg.PROTECTED_TABLES: json.dumps(
                {
                    "orders": {
                        "action": "item_repair",
                        "home_region": "eu-west-1",
                        "dry_run": True,
                        "burst_factor": 3,
                    }
                }
            ),
        }
    )
    orders = settings.tables["orders"]
    assert (orders.home_region, orders.dry_run, orders.burst_factor) == ("eu-west-1", True, 3.0)
    ledger = StreamRecoverySettings.from_env(GOOD).tables["ledger"]
    assert (ledger.home_region, ledger.dry_run, ledger.burst_factor) == (None, False, 5.0)
