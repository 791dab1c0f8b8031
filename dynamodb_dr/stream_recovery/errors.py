"""Errors of the stream recovery Lambda. Every message names the problem and the fix."""

from __future__ import annotations

from dynamodb_dr.errors import DynamoDBDRError


class StreamRecordError(DynamoDBDRError):
    """A stream record is malformed or lacks what its table's action needs (it is reported for retry)."""


class RecoveryActionError(DynamoDBDRError):
    """A recovery action (repair, restore, announcement) could not be carried out."""


class IncidentStateError(DynamoDBDRError):
    """The incident state table is missing or holds something unexpected."""
