"""``export_reader.iter_batches``: the chunk-at-once line check gives what checking each line gives."""

from __future__ import annotations

import gzip
import json
import random

import pytest

from dynamodb_dr.errors import ExportDataError
from dynamodb_dr.restore import export_reader
from dynamodb_dr.restore.export_reader import DataFile, check_line, iter_batches, iter_items


def _file(tmp_path, content: bytes) -> tuple[str, DataFile]:
    path = tmp_path / "data.json.gz"
    path.write_bytes(gzip.compress(content))
    return str(path), DataFile(key="data/x.json.gz", item_count=0, md5="")


def _reference(content: bytes) -> list[bytes]:
    """One line at a time, as the reader did before chunks were checked at once."""
    data_file = DataFile(key="ref", item_count=0, md5="")
    return [
        check_line(line, data_file, "arn", n)
        for n, line in enumerate((x for x in content.split(b"\n") if x.strip()), 1)
    ]


def _line(rng: random.Random, n: int) -> bytes:
    value = "".join(rng.choice('ab"\\{}\n:,é') for _ in range(rng.randint(0, 40)))
    return b'{"Item":{"pk":{"S":%s},"n":{"N":"%d"}}}' % (json.dumps(value).encode(), n)


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    # Decompressed chunks of a few hundred bytes: lines straddle chunk ends everywhere.
    monkeypatch.setattr(export_reader, "MAX_DECOMPRESSED_CHUNK", 257)
    monkeypatch.setattr(export_reader, "CHUNK_SIZE", 101)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("size", [1, 7, 25])
def test_batches_hold_every_line_in_order_in_full_batches(tmp_path, seed, size):
    rng = random.Random(seed)
    lines = [_line(rng, n) for n in range(rng.randint(0, 300))]
    separators = [b"\n"] * len(lines)
    if seed % 2:  # what the slow path is for: CRLF, blank lines, padding
        for i in rng.sample(range(len(lines)), k=len(lines) // 5):
            separators[i] = rng.choice([b"\r\n", b"\n\n", b" \n", b"\n   \n"])
    content = b"".join(line + sep for line, sep in zip(lines, separators, strict=True))
    if seed == 4 and content:
        content = content.rstrip(b"\n")  # no final newline
    path, data_file = _file(tmp_path, content)
    batches = list(iter_batches(path, data_file, "arn", size=size))
    assert [line for batch in batches for line in batch] == _reference(content) == lines
    assert all(len(batch) == size for batch in batches[:-1]) and all(0 < len(b) <= size for b in batches)
    assert list(iter_items(path, data_file, "arn")) == lines


@pytest.mark.parametrize(
    "bad",
    [b'{"Item":{"pk":{"S":"x"}', b'{"Itemz":{"pk":{"S":"x"}}}', b"[1,2]", b'{"Item":{}'],
)
def test_a_bad_line_anywhere_is_named_by_its_number(tmp_path, bad):
    rng = random.Random(1)
    lines = [_line(rng, n) for n in range(120)]
    lines[77] = bad
    path, data_file = _file(tmp_path, b"\n".join(lines) + b"\n")
    with pytest.raises(ExportDataError, match=r"line 78 is not an"):
        list(iter_batches(path, data_file, "arn"))


def test_smallest_item_passes_and_batch_size_must_be_positive(tmp_path):
    path, data_file = _file(tmp_path, b'{"Item":{}}\n{"Item":{}}\n')
    assert list(iter_batches(path, data_file, "arn")) == [[b'{"Item":{}}', b'{"Item":{}}']]
    with pytest.raises(ValueError, match="at least 1"):
        list(iter_batches(path, data_file, "arn", size=0))


def test_an_overlong_line_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(export_reader, "MAX_LINE_BYTES", 1000)
    path, data_file = _file(tmp_path, b'{"Item":{"a":{"S":"' + b"x" * 5000 + b'"}}}\n')
    with pytest.raises(ExportDataError, match="line 1 is longer than 1000 bytes"):
        list(iter_batches(path, data_file, "arn"))
