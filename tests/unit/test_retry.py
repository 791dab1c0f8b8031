"""The writer's retry policy, case by case: what each answer or error means for its batch."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from dynamodb_dr.aws_errors import EXPIRED_CREDENTIALS_CODES, THROTTLING_CODES, TRANSIENT_CODES
from dynamodb_dr.errors import WriteError
from dynamodb_dr.restore.writer import retry
from dynamodb_dr.restore.writer.retry import FAIL, RESEND, RETRY, WRITTEN, BatchState, Where, decide

WHERE = Where("orders", "data/abc.json.gz", 300.0)


def _error(code: str, status: int = 400, message: str = "the message") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "BatchWriteItem",
    )


def _put(pk: str) -> dict:
    return {"PutRequest": {"Item": {"pk": {"S": pk}}}}


def test_an_answer_without_unprocessed_items_writes_the_whole_batch():
    assert decide({}, BatchState(25), WHERE) == retry.Decision(WRITTEN, accepted=25)
    assert decide({"UnprocessedItems": {}}, BatchState(7, attempt=3), WHERE) == retry.Decision(
        WRITTEN, accepted=7
    )
    # Another table's unprocessed items are not this batch's (a batch names one table).
    assert decide({"UnprocessedItems": {"other": [_put("x")]}}, BatchState(5), WHERE).action == WRITTEN


def test_unprocessed_items_are_resent_as_returned_and_tell_the_limiter():
    left = [_put("a"), _put("b")]
    decision = decide({"UnprocessedItems": {"orders": left}}, BatchState(25, resends=2), WHERE)
    assert decision.action == RESEND
    assert decision.accepted == 23 and decision.unprocessed == tuple(left)
    assert decision.throttled and not decision.refresh_credentials
    assert decision.backoff_exponent == 2  # grows with the rounds of re-sends, not the error retries
    assert decision.failed_items == 2
    assert (
        "2 items for table orders from data file data/abc.json.gz were still unprocessed" in decision.give_up
    )
    assert "(300s)" in decision.give_up and "NOT written" in decision.give_up


def test_all_unprocessed_accepts_none():
    left = [_put(str(i)) for i in range(25)]
    decision = decide({"UnprocessedItems": {"orders": left}}, BatchState(25), WHERE)
    assert decision.action == RESEND and decision.accepted == 0 and len(decision.unprocessed) == 25


@pytest.mark.parametrize("code", sorted(THROTTLING_CODES))
def test_throttling_is_retried_and_slows_the_limiter(code):
    decision = decide(_error(code), BatchState(25, attempt=4), WHERE)
    assert decision.action == RETRY and decision.throttled and not decision.refresh_credentials
    assert decision.accepted == 0 and decision.backoff_exponent == 4 and decision.failed_items == 25
    assert f"last error {code}" in decision.give_up and "data file data/abc.json.gz" in decision.give_up


@pytest.mark.parametrize("code", sorted(TRANSIENT_CODES))
def test_transient_errors_are_retried_without_slowing_down(code):
    decision = decide(_error(code, status=500 if code.startswith("Internal") else 400), BatchState(10), WHERE)
    assert decision.action == RETRY and not decision.throttled and decision.backoff_exponent == 0
    assert f"last error {code}" in decision.give_up


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_any_5xx_is_retried(status):
    decision = decide(_error(f"HTTP{status}", status=status), BatchState(3, attempt=1), WHERE)
    assert decision.action == RETRY and not decision.throttled and decision.backoff_exponent == 1


def test_no_answer_is_retried_and_names_the_network():
    error = BotoConnectionError(error="ConnectionResetError: reset (http://ddb)")
    decision = decide(error, BatchState(25, attempt=2), WHERE)
    assert decision.action == RETRY and not decision.throttled and decision.backoff_exponent == 2
    assert "could not be sent before the retry deadline (300s)" in decision.give_up
    assert "Check the network path to DynamoDB" in decision.give_up


@pytest.mark.parametrize("code", sorted(EXPIRED_CREDENTIALS_CODES))
def test_an_expired_token_is_retried_with_fresh_credentials_a_few_times(code):
    for expired in range(retry.MAX_EXPIRED_RETRIES):
        decision = decide(_error(code), BatchState(25, attempt=expired, expired=expired), WHERE)
        assert decision.action == RETRY and decision.refresh_credentials and not decision.throttled
        assert "credentials expired and did not renew" in decision.give_up
    decision = decide(_error(code), BatchState(25, expired=retry.MAX_EXPIRED_RETRIES), WHERE)
    assert decision.action == FAIL and decision.failed_items == 25
    assert f"{code}: the message" in decision.message and "session duration" in decision.message


def test_a_validation_error_fails_at_once_naming_the_fix():
    decision = decide(_error("ValidationException", message="Item size has exceeded"), BatchState(25), WHERE)
    assert decision.action == FAIL and decision.failed_items == 25 and not decision.throttled
    assert decision.message == (
        "DynamoDB rejected a batch of 25 items for table orders from data file data/abc.json.gz: Item size "
        "has exceeded. Check that the target table's key schema matches the backup and that no item "
        "exceeds 400 KB."
    )


@pytest.mark.parametrize("code", ["AccessDeniedException", "ResourceNotFoundException", "HTTP403"])
def test_other_errors_fail_at_once(code):
    decision = decide(_error(code), BatchState(4, attempt=1), WHERE)
    assert decision.action == FAIL and decision.failed_items == 4
    assert decision.message == (
        f"writing 4 items to table orders from data file data/abc.json.gz failed: {code}: the message"
    )


def test_no_credentials_fails_at_once():
    decision = decide(WriteError("no AWS credentials found for DynamoDB"), BatchState(9), WHERE)
    assert decision == retry.Decision(FAIL, failed_items=9, message="no AWS credentials found for DynamoDB")


def test_the_policy_is_pure():
    error = _error("ThrottlingException")
    assert decide(error, BatchState(25), WHERE) == decide(error, BatchState(25), WHERE)
