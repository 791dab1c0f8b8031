"""Settings of the stream recovery Lambda, read once from the environment and validated at start.

Environment variables (Terraform sets exactly these):

``PROTECTED_TABLES`` (required)
    JSON object, table name -> policy. Example::

        {"orders": {"action": "item_repair", "protected_attributes": ["price", "status"]},
         "ledger": {"action": "pitr_restore", "burst_threshold": 50}}

    Policy keys: ``action`` (required): ``item_repair`` | ``pitr_restore`` | ``aws_backup_restore`` |
    ``alert_only``; ``protected_attributes`` (list of attribute names, default none): a MODIFY that
    removes or changes one is an incident (protect only attributes that never change legitimately);
    ``burst_threshold`` (int, default ``BURST_THRESHOLD``): the fewest REMOVE/MODIFY records in one
    incident window that can be a burst; ``burst_factor`` (number, default 5): a window is a burst when
    it holds at least this many times the table's baseline (the median of its previous 10 windows);
    ``user_deletes_are_incidents`` (bool, default true): every REMOVE made by a user (not TTL) is an
    incident; ``home_region`` (region name): for a global table, the one region whose Lambda may repair
    items (item repair is refused on a global table without it); ``dry_run`` (bool, default false):
    detect and announce, including the repairs and restores that would be made, but write nothing.
``INCIDENT_STATE_TABLE`` (required)
    The small DynamoDB table (partition key ``pk``, type S; TTL attribute ``expires_at``) that holds
    incident state, burst counters and repair markers.
``SNS_TOPIC_ARN`` (optional)
    Every incident is announced on this topic.
``INCIDENT_WINDOW_SECONDS`` (optional, default 60, 1-3600)
    Records of one table within this window belong to the same incident.
``BURST_THRESHOLD`` (optional, default 100, 2-5000)
    The default ``burst_threshold`` of every protected table.
``BACKUP_VAULT_NAME`` (optional)
    Only recovery points in this AWS Backup vault are used by ``aws_backup_restore``.
``BACKUP_RESTORE_ROLE_ARN`` (required when a table uses ``aws_backup_restore``)
    The IAM role AWS Backup assumes to restore.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dynamodb_dr.config import parse_table_name
from dynamodb_dr.errors import ConfigError

PROTECTED_TABLES = "PROTECTED_TABLES"
INCIDENT_STATE_TABLE = "INCIDENT_STATE_TABLE"
SNS_TOPIC_ARN = "SNS_TOPIC_ARN"
INCIDENT_WINDOW_SECONDS = "INCIDENT_WINDOW_SECONDS"
BURST_THRESHOLD = "BURST_THRESHOLD"
BACKUP_VAULT_NAME = "BACKUP_VAULT_NAME"
BACKUP_RESTORE_ROLE_ARN = "BACKUP_RESTORE_ROLE_ARN"

ENV_NAMES = (
    PROTECTED_TABLES,
    INCIDENT_STATE_TABLE,
    SNS_TOPIC_ARN,
    INCIDENT_WINDOW_SECONDS,
    BURST_THRESHOLD,
    BACKUP_VAULT_NAME,
    BACKUP_RESTORE_ROLE_ARN,
)

DEFAULT_INCIDENT_WINDOW_SECONDS = 60
DEFAULT_BURST_THRESHOLD = 100
MAX_BURST_THRESHOLD = 5000  # the burst counter item keeps one short string per record: stays far below 400 KB
# "{table}-recovery-yyyymmddThhmmss" must still be a valid table name (255 characters at most).
RECOVERY_SUFFIX_LENGTH = len("-recovery-20260101T000000")

SNS_TOPIC_RE = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$")
ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
VAULT_RE = re.compile(r"^[a-zA-Z0-9\-_]{2,50}$")
_POLICY_KEYS = {
    "action",
    "protected_attributes",
    "burst_threshold",
    "burst_factor",
    "user_deletes_are_incidents",
    "home_region",
    "dry_run",
}
DEFAULT_BURST_FACTOR = 5.0
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")


class Action(StrEnum):
    ITEM_REPAIR = "item_repair"
    PITR_RESTORE = "pitr_restore"
    AWS_BACKUP_RESTORE = "aws_backup_restore"
    ALERT_ONLY = "alert_only"


@dataclass(frozen=True)
class TablePolicy:
    table_name: str
    action: Action
    protected_attributes: frozenset[str] = frozenset()
    burst_threshold: int = DEFAULT_BURST_THRESHOLD
    user_deletes_are_incidents: bool = True
    burst_factor: float = DEFAULT_BURST_FACTOR
    home_region: str | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class StreamRecoverySettings:
    tables: Mapping[str, TablePolicy]
    state_table: str
    incident_window_seconds: int = DEFAULT_INCIDENT_WINDOW_SECONDS
    sns_topic_arn: str | None = None
    backup_vault_name: str | None = None
    backup_restore_role_arn: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StreamRecoverySettings:
        env = os.environ if env is None else env
        window = _int(env, INCIDENT_WINDOW_SECONDS, DEFAULT_INCIDENT_WINDOW_SECONDS, 1, 3600)
        default_threshold = _int(env, BURST_THRESHOLD, DEFAULT_BURST_THRESHOLD, 2, MAX_BURST_THRESHOLD)
        tables = parse_protected_tables(_required(env, PROTECTED_TABLES, _TABLES_EXAMPLE), default_threshold)
        state_table = parse_table_name(
            _required(env, INCIDENT_STATE_TABLE, "the name of the incident state table"),
            source=INCIDENT_STATE_TABLE,
        )
        if state_table in tables:
            raise ConfigError(
                f"{INCIDENT_STATE_TABLE}={state_table!r} is also listed in {PROTECTED_TABLES}; "
                "use a separate table for incident state"
            )
        topic = _optional(env, SNS_TOPIC_ARN)
        if topic is not None and not SNS_TOPIC_RE.match(topic):
            raise ConfigError(
                f"{SNS_TOPIC_ARN}={topic!r} is not an SNS topic ARN; expected e.g. "
                "arn:aws:sns:us-east-1:123456789012:dr-incidents, or leave it unset"
            )
        vault = _optional(env, BACKUP_VAULT_NAME)
        if vault is not None and not VAULT_RE.match(vault):
            raise ConfigError(
                f"{BACKUP_VAULT_NAME}={vault!r} is not a backup vault name (2-50 of a-z, A-Z, 0-9, '-', '_')"
            )
        role = _optional(env, BACKUP_RESTORE_ROLE_ARN)
        if role is not None and not ROLE_ARN_RE.match(role):
            raise ConfigError(
                f"{BACKUP_RESTORE_ROLE_ARN}={role!r} is not an IAM role ARN; expected e.g. "
                "arn:aws:iam::123456789012:role/dynamodb-dr-backup-restore"
            )
        backup_tables = sorted(t for t, p in tables.items() if p.action is Action.AWS_BACKUP_RESTORE)
        if backup_tables and role is None:
            raise ConfigError(
                f"{BACKUP_RESTORE_ROLE_ARN} is missing but {PROTECTED_TABLES} gives these tables the action "
                f"aws_backup_restore: {', '.join(backup_tables)}; set it to the role AWS Backup assumes to restore"
            )
        return cls(
            tables=tables,
            state_table=state_table,
            incident_window_seconds=window,
            sns_topic_arn=topic,
            backup_vault_name=vault,
            backup_restore_role_arn=role,
        )


_TABLES_EXAMPLE = 'a JSON object of table -> policy, e.g. {"orders": {"action": "item_repair"}}'


def _required(env: Mapping[str, str], name: str, expected: str) -> str:
    value = (env.get(name) or "").strip()
    if not value:
        raise ConfigError(f"environment variable {name} is missing or empty; expected {expected}")
    return value


def _optional(env: Mapping[str, str], name: str) -> str | None:
    value = (env.get(name) or "").strip()
    return value or None


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _optional(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number; expected {low}-{high}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value} is out of range; expected {low}-{high}")
    return value


def parse_protected_tables(value: str, default_threshold: int) -> dict[str, TablePolicy]:
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{PROTECTED_TABLES} is not valid JSON ({exc.msg}); expected {_TABLES_EXAMPLE}"
        ) from None
    if not isinstance(parsed, dict) or not parsed:
        raise ConfigError(f"{PROTECTED_TABLES} must be a non-empty JSON object; expected {_TABLES_EXAMPLE}")
    return {name: _policy(name, spec, default_threshold) for name, spec in parsed.items()}


def _policy(name: str, spec: Any, default_threshold: int) -> TablePolicy:
    source = f"{PROTECTED_TABLES}[{name!r}]"
    parse_table_name(name, source=PROTECTED_TABLES)
    if not isinstance(spec, dict):
        raise ConfigError(f'{source} must be an object such as {{"action": "item_repair"}}, not {spec!r}')
    unknown = sorted(set(spec) - _POLICY_KEYS)
    if unknown:
        raise ConfigError(f"{source} has unknown keys {unknown}; allowed: {sorted(_POLICY_KEYS)}")
    try:
        action = Action(str(spec.get("action")))
    except ValueError:
        raise ConfigError(
            f"{source}.action={spec.get('action')!r} is not an action; expected one of "
            f"{', '.join(a.value for a in Action)}"
        ) from None
    if action is Action.PITR_RESTORE and len(name) + RECOVERY_SUFFIX_LENGTH > 255:
        raise ConfigError(
            f"{source}: the name is too long for a recovery table '{name}-recovery-<time>' (255 characters at "
            "most); use action aws_backup_restore or alert_only for this table"
        )
    attributes = spec.get("protected_attributes", [])
    if not isinstance(attributes, list) or not all(isinstance(a, str) and a for a in attributes):
        raise ConfigError(f'{source}.protected_attributes must be a list of attribute names, e.g. ["price"]')
    threshold = spec.get("burst_threshold", default_threshold)
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, int)
        or not 2 <= threshold <= MAX_BURST_THRESHOLD
    ):
        raise ConfigError(
            f"{source}.burst_threshold={threshold!r} must be a whole number 2-{MAX_BURST_THRESHOLD}"
        )
    user_deletes = spec.get("user_deletes_are_incidents", True)
    if not isinstance(user_deletes, bool):
        raise ConfigError(f"{source}.user_deletes_are_incidents={user_deletes!r} must be true or false")
    factor = spec.get("burst_factor", DEFAULT_BURST_FACTOR)
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not 1.5 <= factor <= 1000:
        raise ConfigError(f"{source}.burst_factor={factor!r} must be a number 1.5-1000")
    home_region = spec.get("home_region")
    if home_region is not None and not (isinstance(home_region, str) and REGION_RE.match(home_region)):
        raise ConfigError(f"{source}.home_region={home_region!r} must be a region name such as us-east-1")
    dry_run = spec.get("dry_run", False)
    if not isinstance(dry_run, bool):
        raise ConfigError(f"{source}.dry_run={dry_run!r} must be true or false")
    return TablePolicy(
        table_name=name,
        action=action,
        protected_attributes=frozenset(attributes),
        burst_threshold=threshold,
        user_deletes_are_incidents=user_deletes,
        burst_factor=float(factor),
        home_region=home_region,
        dry_run=dry_run,
    )
