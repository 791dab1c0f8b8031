"""Domain errors. Every message names the problem and, where there is one, the fix."""

from __future__ import annotations


class DynamoDBDRError(Exception):
    """Base class of every error this toolkit raises on purpose."""


class ConfigError(DynamoDBDRError):
    """A configuration value (environment variable or job argument) is missing or malformed."""


class ManifestError(DynamoDBDRError):
    """A backup manifest is missing, unreadable or inconsistent."""


class BackupNotFoundError(ManifestError):
    """No backup exists for the requested date (or no COMPLETE one for ``latest``)."""


class ConcurrentUpdateError(DynamoDBDRError):
    """Someone else replaced an object between our read and our conditional write."""


class ExportDataError(DynamoDBDRError):
    """An export's data file does not match its manifest (checksum, item count, gzip stream)."""


class TargetTableError(DynamoDBDRError):
    """A restore target is missing, not ACTIVE or has a different key schema than the backup."""


class WriteError(DynamoDBDRError):
    """Items could not be written to DynamoDB within the retry deadline."""

    def __init__(self, message: str, *, failed_items: int = 0, items_written: int = 0) -> None:
        super().__init__(message)
        self.failed_items = failed_items
        self.items_written = items_written
        """Items the same write had written before it failed (set by the writer when it gives up)."""
