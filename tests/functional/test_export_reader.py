"""Reading real exports (AWS layout, local endpoint): manifests, checksums, gzip, item counts."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json

import boto3
import pytest

from dynamodb_dr.errors import ExportDataError
from dynamodb_dr.restore.export_reader import DataFile, iter_items, read_export, spooled, validate_data_file
from local_aws import export_layout
from tests.support.backups import create_table, data_files, export_table, put_items
from tests.support.items import HASH_TABLE_ATTRS, HASH_TABLE_KEYS, simple_item

BUCKET = "reader-bucket"


@pytest.fixture
def exported(aws):
    export_layout.configure(items_per_file=4, empty_files=1)
    ddb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    create_table(ddb, "reader-table", HASH_TABLE_KEYS, HASH_TABLE_ATTRS)
    put_items(ddb, "reader-table", [simple_item(f"k{i}", i) for i in range(10)])
    backup = export_table(ddb, s3, BUCKET, "reader-table", "2026-01-15")
    return s3, backup


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _replace_file(s3, key: str, data: bytes, manifest_files_key: str | None = None) -> None:
    """Overwrite a data file; with ``manifest_files_key``, also patch its md5Checksum to match."""
    s3.put_object(Bucket=BUCKET, Key=key, Body=data)
    if manifest_files_key:
        entries = [
            json.loads(x)
            for x in s3.get_object(Bucket=BUCKET, Key=manifest_files_key)["Body"].read().splitlines()
        ]
        for entry in entries:
            if entry["dataFileS3Key"] == key:
                entry["md5Checksum"] = _md5(data)
        s3.put_object(
            Bucket=BUCKET, Key=manifest_files_key, Body="\n".join(json.dumps(e) for e in entries).encode()
        )


def test_reads_manifests_and_every_data_file(exported):
    s3, backup = exported
    export = read_export(s3, BUCKET, backup.export_manifest_key)
    assert export.summary.export_arn == backup.export_arn and export.summary.item_count == 10
    assert [f.item_count for f in export.files] == [4, 4, 2, 0]
    seen = []
    for data_file in export.files:
        check = validate_data_file(s3, BUCKET, data_file, export.summary.export_arn)
        assert check.items == data_file.item_count and check.compressed_bytes > 0
        with spooled(s3, BUCKET, data_file, export.summary.export_arn) as (path, _):
            seen += [json.loads(line)["Item"]["pk"]["S"] for line in iter_items(path, data_file, "arn")]
    assert sorted(seen) == sorted(f"k{i}" for i in range(10))


def test_multi_member_gzip_and_missing_final_newline_are_read(exported):
    s3, backup = exported
    entry = data_files(s3, BUCKET, backup)[0]
    original = gzip.decompress(
        s3.get_object(Bucket=BUCKET, Key=entry["dataFileS3Key"])["Body"].read()
    ).splitlines()
    data = gzip.compress(b"\n".join(original[:2]) + b"\n") + gzip.compress(b"\n".join(original[2:]))
    _replace_file(s3, entry["dataFileS3Key"], data, backup.manifest_files_key)
    export = read_export(s3, BUCKET, backup.export_manifest_key)
    first = next(f for f in export.files if f.key == entry["dataFileS3Key"])
    assert validate_data_file(s3, BUCKET, first, export.summary.export_arn).items == 4


def test_md5_mismatch_names_the_file_and_export(exported):
    s3, backup = exported
    key = data_files(s3, BUCKET, backup)[1]["dataFileS3Key"]
    _replace_file(s3, key, gzip.compress(b'{"Item":{"pk":{"S":"evil"}}}\n'))
    export = read_export(s3, BUCKET, backup.export_manifest_key)
    bad = next(f for f in export.files if f.key == key)
    with pytest.raises(ExportDataError) as err:
        validate_data_file(s3, BUCKET, bad, export.summary.export_arn)
    message = str(err.value)
    assert key in message and backup.export_arn in message and "does not match md5Checksum" in message
    assert "restore another backup date" in message


def test_truncated_gzip_is_caught_even_with_a_matching_md5(exported):
    s3, backup = exported
    key = data_files(s3, BUCKET, backup)[0]["dataFileS3Key"]
    whole = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    _replace_file(s3, key, whole[: len(whole) - 12], backup.manifest_files_key)
    export = read_export(s3, BUCKET, backup.export_manifest_key)
    bad = next(f for f in export.files if f.key == key)
    with pytest.raises(ExportDataError, match=r"gzip stream is truncated") as err:
        validate_data_file(s3, BUCKET, bad, export.summary.export_arn)
    assert key in str(err.value) and backup.export_arn in str(err.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"Item":{"pk":{"S":"a"}}}\n{"Keys":{"pk":{"S":"b"}}}\n', r"line 2 is not an \{\"Item\""),
        (b'{"Item":{"pk":{"S":"a"}}}\n', r"holds 1 items but manifest-files.json says itemCount=4"),
        (b"not gzip at all", r"not a valid gzip stream"),
    ],
)
def test_bad_content_is_an_export_data_error(exported, content, message):
    s3, backup = exported
    key = data_files(s3, BUCKET, backup)[0]["dataFileS3Key"]
    body = content if content.startswith(b"not gzip") else gzip.compress(content)
    _replace_file(s3, key, body, backup.manifest_files_key)
    export = read_export(s3, BUCKET, backup.export_manifest_key)
    bad = next(f for f in export.files if f.key == key)
    with pytest.raises(ExportDataError, match=message):
        validate_data_file(s3, BUCKET, bad, export.summary.export_arn)


def test_summary_and_file_list_must_agree(exported):
    s3, backup = exported
    summary = json.loads(s3.get_object(Bucket=BUCKET, Key=backup.export_manifest_key)["Body"].read())
    summary["itemCount"] = 11
    s3.put_object(Bucket=BUCKET, Key=backup.export_manifest_key, Body=json.dumps(summary).encode())
    with pytest.raises(
        ExportDataError, match=r"itemCount=11 but manifest-files.json lists 10 items in 4 files"
    ):
        read_export(s3, BUCKET, backup.export_manifest_key)


def test_missing_data_file_and_unknown_format_are_clear(exported):
    s3, backup = exported
    export = read_export(s3, BUCKET, backup.export_manifest_key)
    gone = DataFile(key="native-exports/nowhere.json.gz", item_count=1, md5="x")
    with pytest.raises(
        ExportDataError, match=r"data file s3://reader-bucket/native-exports/nowhere.json.gz does not exist"
    ):
        validate_data_file(s3, BUCKET, gone, export.summary.export_arn)
    summary = json.loads(s3.get_object(Bucket=BUCKET, Key=backup.export_manifest_key)["Body"].read())
    summary["outputFormat"] = "CSV"
    s3.put_object(Bucket=BUCKET, Key=backup.export_manifest_key, Body=json.dumps(summary).encode())
    with pytest.raises(
        ExportDataError, match=r"is in CSV format; the restore reads DYNAMODB_JSON and ION exports"
    ):
        read_export(s3, BUCKET, backup.export_manifest_key)


def test_the_write_stage_reads_only_the_version_the_validation_stage_checked(exported):
    s3, backup = exported
    export = read_export(s3, BUCKET, backup.export_manifest_key)
    data_file = export.files[0]
    arn = export.summary.export_arn
    check = validate_data_file(s3, BUCKET, data_file, arn)
    assert check.etag
    with spooled(s3, BUCKET, data_file, arn, verified_etag=check.etag) as (path, size):
        assert len(list(iter_items(path, data_file, arn))) == data_file.item_count == 4
        assert size == check.compressed_bytes

    # Replaced after validation, manifest patched to match: only the pinned version tells.
    _replace_file(
        s3,
        data_file.key,
        gzip.compress(b'{"Item":{"pk":{"S":"not-exported"}}}\n' * 4),
        export.summary.manifest_files_key,
    )
    changed = r"changed after the validation stage checked it \(ETag .*re-run the restore"
    with (
        pytest.raises(ExportDataError, match=changed),
        spooled(s3, BUCKET, data_file, arn, verified_etag=check.etag),
    ):
        pass
