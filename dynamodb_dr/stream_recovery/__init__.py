"""Stream-triggered recovery: tell incidents from normal traffic in a DynamoDB stream, repair items
in seconds, start point-in-time or AWS Backup restores, once per incident."""

from dynamodb_dr.stream_recovery.config import Action, StreamRecoverySettings, TablePolicy
from dynamodb_dr.stream_recovery.processor import Clients, Runtime, process_event, runtime_from_env

__all__ = [
    "Action",
    "Clients",
    "Runtime",
    "StreamRecoverySettings",
    "TablePolicy",
    "process_event",
    "runtime_from_env",
]
