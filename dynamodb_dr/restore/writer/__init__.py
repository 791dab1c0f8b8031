"""The restore's one door to DynamoDB's BatchWriteItem: ``BatchWriter``, type-exact, on a lean signed
transport.

An export line ``{"Item":{...}}`` is exactly a PutRequest's value, so the request body is built by
byte concatenation and never goes through Python values (a ``B`` with non-UTF-8 bytes, a 38-digit
``N`` or a nested ``BS`` stay exactly as exported).

Why not send it through ``client.batch_write_item``: measured (docs/benchmarks.md), botocore's
per-call machinery (event hooks, endpoint rules, parameter validation, serialization, its HTTP
layers, response parsing) costs ~30 µs of client CPU per item at 25 items a call, six times the
whole read path. So the body goes out on a lean path built from the client's own parts:

* signed (SigV4) by ``dynamodb_dr.restore.writer.signing.BatchWriteSigner``, a ``botocore.auth.SigV4Auth`` that
  keeps what repeats between calls (its output is tested equal to ``SigV4Auth.add_auth``'s), with
  the client's credential provider chain; credentials are frozen per call
  (``get_frozen_credentials()``), so refreshable credentials (a Glue job role, assumed roles) keep
  working over a long restore;
* sent to the endpoint the client resolved (``client.meta.endpoint_url``, which honours
  ``AWS_ENDPOINT_URL``) on kept-alive connections, with the client's TLS verification and timeouts
  (through the client's own pooled HTTP session when a proxy or a client certificate is configured);
* ``WritePipeline`` keeps several requests in flight from the one thread that reads the data file
  (``poll`` on the connections), so no answer is handed between threads;
* the small JSON answer is parsed here, after checking its ``x-amz-crc32`` as botocore does.

Retries are the writer's (the client's retry handler is not on this path). ``retry.decide`` is the
policy, pure: throttling, transient errors and 5xx, a bad response checksum, an expired token
(credentials fetched again) and connection errors are retried with exponential backoff and full
jitter until the batch's deadline (applied by ``pipeline``). ``UnprocessedItems`` come back as wire
JSON and are re-sent as they came (``json.dumps``: exact). Anything else (``ValidationException``,
access denied, ...) fails at once with the table and the data file named. An item that cannot be
written raises ``WriteError`` with the count: nothing is ever dropped.

The modules: ``body`` (request bodies), ``http`` (the kept-alive connection), ``signing`` (SigV4),
``transport`` (signed requests to the client's endpoint), ``pipeline`` (batches in flight, retries
applied), ``retry`` (the policy), ``botocore_private`` (every botocore private name used, with the
tested botocore range). ``check_transport(client)`` runs on the driver before any stage: a botocore
outside the tested range, or one that moved a name, fails the job at start.
"""

from __future__ import annotations

from typing import Any

from dynamodb_dr.restore.writer import botocore_private
from dynamodb_dr.restore.writer.body import MAX_BATCH_ITEMS, batch_body, requests_body
from dynamodb_dr.restore.writer.pipeline import BatchWriter, NoRateLimiter, RateLimiter, WritePipeline
from dynamodb_dr.restore.writer.transport import SignedTransport


def check_transport(client: Any) -> SignedTransport:
    """Check, on the driver before any stage, that the writer can be built on this botocore from
    ``client`` (a DynamoDB client like the tasks'): the tested botocore range, every private name it
    uses, and one transport built. Raises ``botocore_private.UnsupportedBotocoreError`` (a
    DynamoDBDRError naming the range and the fix)."""
    botocore_private.check(client)
    return SignedTransport(client)


__all__ = [
    "MAX_BATCH_ITEMS",
    "BatchWriter",
    "NoRateLimiter",
    "RateLimiter",
    "SignedTransport",
    "WritePipeline",
    "batch_body",
    "check_transport",
    "requests_body",
]
