"""Fixes for moto bugs that make the local endpoint differ from AWS where this toolkit depends on it.

moto evaluates a ProjectionExpression by turning each item into Python values with boto3's
``TypeDeserializer`` and back with ``TypeSerializer``. Both use boto3's DYNAMODB_CONTEXT, which
raises ``decimal.Underflow`` on legal DynamoDB numbers with 38 significant digits near 1E-130 (and
would rewrite a number's text, e.g. "1.50" to "1.5"). moto then answers HTTP 500 to a Scan that
AWS serves. Here numbers keep their exact text through moto's projection.
"""

from __future__ import annotations

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


def install() -> None:
    global _installed
    if _installed:
        return
    from moto.dynamodb.models import dynamo_type

    dynamo_type.deserializer = _ExactDeserializer()
    dynamo_type.serializer = _ExactSerializer()
    _installed = True
