"""Fixes for moto bugs that make the local endpoint differ from AWS where this toolkit depends on it.

moto evaluates a ProjectionExpression by turning each item into Python values with boto3's
``TypeDeserializer`` and back with ``TypeSerializer``. Both use boto3's DYNAMODB_CONTEXT, which
raises ``decimal.Underflow`` on legal DynamoDB numbers with 38 significant digits near 1E-130 (and
would rewrite a number's text, e.g. "1.50" to "1.5"). moto then answers HTTP 500 to a Scan that
AWS serves. Here numbers keep their exact text through moto's projection.

moto also accepts writes DynamoDB refuses, which a restore must be tested against: an item whose
attribute is a key of a secondary index with another type than the index's (DynamoDB: "Type mismatch
for Index Key"), an empty string or binary as an index key, and an empty set anywhere in an item.
Here ``Table.put_item`` (which PutItem and BatchWriteItem both reach) refuses them as DynamoDB does.

moto's threaded server also evaluates a conditional write's condition and applies its change without
a lock, so two concurrent conditional writes to one item can both succeed, which DynamoDB never
allows (a condition is checked and applied atomically per item). Tests that race Lambda instances on
one state item (exactly one claims a restore) flaked on that. Here the backend's writes run one at a
time.
"""

from __future__ import annotations

import functools
import threading
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_installed = False


class ExactNumber(Decimal):
    """A number that remembers the text DynamoDB was given."""

    text: str

    def __new__(cls, text: str) -> ExactNumber:
        number = super().__new__(cls, text)
        number.text = text
        return number


class _ExactDeserializer(TypeDeserializer):
    def _deserialize_n(self, value: str) -> ExactNumber:
        return ExactNumber(value)

    def _deserialize_ns(self, value: list[str]) -> set[ExactNumber]:
        return {ExactNumber(v) for v in value}


class _ExactSerializer(TypeSerializer):
    def _serialize_n(self, value: Any) -> str:
        if isinstance(value, ExactNumber):
            return value.text
        return super()._serialize_n(value)


_SET_NAMES = {"SS": "string", "NS": "number", "BS": "binary"}


def _empty_set(value: Any) -> str | None:
    """The type of the first empty set in an attribute value (nested ones included), or None."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((kind, inner),) = value.items()
    if kind in _SET_NAMES and inner == []:
        return kind
    if kind == "L" and isinstance(inner, list):
        return next((found for v in inner if (found := _empty_set(v))), None)
    if kind == "M" and isinstance(inner, dict):
        return next((found for v in inner.values() if (found := _empty_set(v))), None)
    return None


def _refuse_what_dynamodb_refuses(table: Any, item_attrs: dict[str, Any]) -> None:
    from moto.dynamodb.exceptions import MockValidationException

    for value in item_attrs.values():
        kind = _empty_set(value)
        if kind:
            raise MockValidationException(
                f"One or more parameter values were invalid: An {_SET_NAMES[kind]} set  may not be empty"
            )
    types = {a["AttributeName"]: a["AttributeType"] for a in table.attr}
    for index in [*table.global_indexes, *table.indexes]:
        for name in index.schema_key_attrs:
            value = item_attrs.get(name)
            if not isinstance(value, dict) or len(value) != 1 or name not in types:
                continue
            ((actual, raw),) = value.items()
            if actual != types[name]:
                raise MockValidationException(
                    "One or more parameter values were invalid: Type mismatch for Index Key "
                    f"{name} Expected: {types[name]} Actual: {actual} IndexName: {index.name}"
                )
            if raw in ("", b""):
                raise MockValidationException(
                    "One or more parameter values are not valid. A value specified for a secondary index "
                    f"key is not supported. The AttributeValue for a key attribute cannot contain an empty "
                    f"string value. IndexName: {index.name}, IndexKey: {name}"
                )


def _serialized(method: Any, lock: Any) -> Any:
    @functools.wraps(method)
    def serialized(*args: Any, **kwargs: Any) -> Any:
        with lock:
            return method(*args, **kwargs)

    return serialized


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import dynamo_type
    from moto.dynamodb.models.table import Table

    dynamo_type.deserializer = _ExactDeserializer()
    dynamo_type.serializer = _ExactSerializer()

    from moto.dynamodb.models import DynamoDBBackend

    writes = threading.RLock()
    for name in ("put_item", "update_item", "delete_item", "transact_write_items"):
        setattr(DynamoDBBackend, name, _serialized(getattr(DynamoDBBackend, name), writes))

    original_put_item = Table.put_item

    def put_item(self: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        _refuse_what_dynamodb_refuses(self, item_attrs)
        return original_put_item(self, item_attrs, *args, **kwargs)

    Table.put_item = put_item  # type: ignore[method-assign]
    _installed = True
