"""The BatchWriteItem body is built from export lines byte for byte."""

from __future__ import annotations

import json

import pytest

from dynamodb_dr.errors import ExportDataError
from dynamodb_dr.restore.export_reader import DataFile, check_line
from dynamodb_dr.restore.writer import MAX_BATCH_ITEMS, batch_body

LINE_A = b'{"Item":{"pk":{"S":"a"},"n":{"N":"-1.2345678901234567890123456789012345678E-130"}}}'
LINE_B = b'{"Item":{"pk":{"S":"\xc3\xbc"},"b":{"B":"//4AgA=="}}}'


def test_body_is_the_lines_wrapped_in_put_requests():
    body = batch_body("orders", [LINE_A, LINE_B])
    assert body == (
        b'{"RequestItems":{"orders":[{"PutRequest":' + LINE_A + b'},{"PutRequest":' + LINE_B + b"}]}}"
    )
    parsed = json.loads(body)
    puts = parsed["RequestItems"]["orders"]
    assert puts[0]["PutRequest"]["Item"]["n"] == {"N": "-1.2345678901234567890123456789012345678E-130"}
    assert puts[1]["PutRequest"]["Item"]["b"] == {"B": "//4AgA=="}


def test_table_name_is_json_escaped():
    body = batch_body('we"ird', [LINE_A])
    assert json.loads(body)["RequestItems"].keys() == {'we"ird'}


@pytest.mark.parametrize("count", [0, MAX_BATCH_ITEMS + 1])
def test_batch_size_is_bounded(count):
    with pytest.raises(ValueError, match="1 to 25"):
        batch_body("t", [LINE_A] * count)


def test_line_check_accepts_items_and_rejects_anything_else():
    data_file = DataFile(key="p/AWSDynamoDB/x/data/f.json.gz", item_count=1, md5="x")
    assert check_line(LINE_A + b"\r\n", data_file, "arn:x", 1) == LINE_A
    for bad in (b'{"Keys":{"pk":{"S":"a"}}}', b"[1,2]", b'{"Item":{"pk":{"S":"a"}}},'):
        with pytest.raises(
            ExportDataError, match=r"data file p/AWSDynamoDB/x/data/f.json.gz of export arn:x: line 7"
        ):
            check_line(bad, data_file, "arn:x", 7)


def test_line_check_accepts_any_valid_json_item_object():
    """Files not written by AWS (console copies, other tools) may carry whitespace."""
    data_file = DataFile(key="p/AWSDynamoDB/x/data/f.json.gz", item_count=1, md5="x")
    for spaced in (
        b'{"Item" : {"pk": {"S": "a"}}}',
        b'  {\t"Item":{"pk":{"S":"a"} } }  ',
        b'{"Item":{"pk":{"S":"a"}} }',
    ):
        assert check_line(spaced, data_file, "arn:x", 1) == spaced.strip()
        body = batch_body("t", [spaced.strip()])
        assert json.loads(body)["RequestItems"]["t"][0]["PutRequest"]["Item"] == {"pk": {"S": "a"}}
    for bad in (b'{"Item" : {"pk": {"S": "a"}}', b'{"Item" : {"pk": {"S": "a"}}, "x": 1}', b'{"Item": []}'):
        with pytest.raises(ExportDataError, match="line 3"):
            check_line(bad, data_file, "arn:x", 3)
