"""Read a table's stream with the DynamoDB Streams API and shape the records as a Lambda event.

Used by the demo and the tests (and handy to replay a stream through the recovery logic by hand):
the records are read back from a real stream, then given the shape an event source mapping delivers.
"""

from __future__ import annotations

from typing import Any

from dynamodb_dr.stream_recovery.records import stream_api_record_to_lambda_record


class StreamReader:
    """Reads every shard of one stream from TRIM_HORIZON; each ``read_new`` returns only records not
    returned before."""

    def __init__(self, streams: Any, stream_arn: str) -> None:
        self.streams = streams
        self.stream_arn = stream_arn
        self._iterators: dict[str, str | None] = {}

    def _shards(self) -> list[str]:
        shards, start = [], None
        while True:
            kwargs: dict[str, Any] = {"StreamArn": self.stream_arn}
            if start:
                kwargs["ExclusiveStartShardId"] = start
            description = self.streams.describe_stream(**kwargs)["StreamDescription"]
            shards += [s["ShardId"] for s in description.get("Shards", [])]
            start = description.get("LastEvaluatedShardId")
            if not start:
                return shards

    def read_new(self) -> list[dict[str, Any]]:
        """New records, as the Streams API returns them (botocore-parsed)."""
        records: list[dict[str, Any]] = []
        for shard in self._shards():
            if shard not in self._iterators:
                self._iterators[shard] = self.streams.get_shard_iterator(
                    StreamArn=self.stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
            iterator = self._iterators[shard]
            while iterator:
                page = self.streams.get_records(ShardIterator=iterator, Limit=1000)
                records += page.get("Records", [])
                iterator = page.get("NextShardIterator")
                if not page.get("Records"):
                    break
            self._iterators[shard] = iterator
        return records

    def read_new_event(self) -> dict[str, Any]:
        """New records as a Lambda DynamoDB Streams event."""
        return {"Records": [stream_api_record_to_lambda_record(r, self.stream_arn) for r in self.read_new()]}
