"""The reader's gzip checks hold with either inflate engine (ISA-L's and zlib's)."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from dynamodb_dr.errors import ExportDataError
from dynamodb_dr.restore import inflate
from dynamodb_dr.restore.export_reader import DataFile, iter_items

ROOT = Path(__file__).resolve().parents[2]
LINES = [b'{"Item":{"pk":{"S":"k%05d"},"pad":{"S":"%s"}}}' % (i, b"x" * (i % 300)) for i in range(3000)]
CONTENT = b"\n".join(LINES) + b"\n"


def _engines() -> list[str]:
    try:
        import isal  # noqa: F401
    except ImportError:
        return ["zlib"]
    return ["isal", "zlib"]


@pytest.fixture(params=_engines())
def engine(request):
    with inflate.engine(request.param) as description:
        assert description.startswith(request.param)
        yield request.param


def _read(tmp_path, blob: bytes, item_count: int = 0) -> list[bytes]:
    path = tmp_path / "f.json.gz"
    path.write_bytes(blob)
    return list(iter_items(str(path), DataFile(key="data/f.json.gz", item_count=item_count, md5=""), "arn:x"))


def test_whole_and_multi_member_files_read_the_same(tmp_path, engine):
    assert _read(tmp_path, gzip.compress(CONTENT)) == LINES
    half = len(CONTENT) // 2
    cut = CONTENT.index(b"\n", half) + 1
    assert _read(tmp_path, gzip.compress(CONTENT[:cut]) + gzip.compress(CONTENT[cut:]) + b"\0" * 8) == LINES


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda gz: gz[: len(gz) // 2], "the gzip stream is truncated"),
        (lambda gz: gz[:-8] + bytes([gz[-8] ^ 1]) + gz[-7:], "not a valid gzip stream"),  # CRC-32
        (lambda gz: gz[:-4] + bytes([gz[-4] ^ 1]) + gz[-3:], "not a valid gzip stream"),  # length
        (lambda gz: gz[:200] + bytes([gz[200] ^ 0x55]) + gz[201:], "not a valid gzip stream"),
    ],
    ids=["truncated", "crc32", "length", "flipped-byte"],
)
def test_damage_is_an_export_data_error_naming_the_file(tmp_path, engine, damage, message):
    with pytest.raises(ExportDataError, match=rf"data/f\.json\.gz.*{message}|{message}.*data/f\.json\.gz"):
        _read(tmp_path, damage(gzip.compress(CONTENT)), item_count=len(LINES))


def test_zlib_can_be_forced():
    code = "from dynamodb_dr.restore import inflate; print(inflate.ENGINE)"
    env = {"DYNAMODB_DR_INFLATE": "zlib", "PYTHONPATH": str(ROOT)}
    forced = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert forced.stdout.startswith("zlib ")


def test_the_engine_is_restored_after_the_block_and_unknown_names_are_refused():
    before = inflate.ENGINE
    with inflate.engine("zlib"):
        assert inflate.ENGINE.startswith("zlib ")
    assert before == inflate.ENGINE
    with pytest.raises(ValueError, match="use isal or zlib"), inflate.engine("gzip"):
        pass
