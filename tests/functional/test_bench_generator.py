"""The benchmark's export generator writes what the restore side reads: the AWS layout, base64 MD5s,
true item counts, one ``{"Item":{...}}`` JSON object a line, and a backup manifest the library reads."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json

from benchmarks.generate_export import generate_export, upload
from dynamodb_dr.backup_manifest import BACKUP_COMPLETE, read_manifest
from dynamodb_dr.clients import make_client


def test_generated_export_uploads_in_the_aws_layout_and_matches_its_manifests(aws, tmp_path):
    export = generate_export(tmp_path / "exp", items=2500, items_per_file=1000, workers=1, progress=False)
    s3 = make_client("s3")
    upload(export, s3)

    stored = read_manifest(s3, export.bucket, export.s3_prefix, export.backup_date).manifest
    assert stored.status == BACKUP_COMPLETE
    table = stored.tables["bench-restore"]
    assert table.item_count == 2500
    assert table.table_definition["KeySchema"][0] == {"AttributeName": "pk", "KeyType": "HASH"}

    summary = json.loads(s3.get_object(Bucket=export.bucket, Key=table.export_manifest_key)["Body"].read())
    assert summary["itemCount"] == 2500 and summary["outputFormat"] == "DYNAMODB_JSON"
    assert summary["manifestFilesS3Key"] == table.manifest_files_key
    base = table.export_manifest_key.rsplit("/", 1)[0]
    s3.head_object(Bucket=export.bucket, Key=f"{base}/_started")

    entries = [
        json.loads(line)
        for line in s3.get_object(Bucket=export.bucket, Key=table.manifest_files_key)["Body"]
        .read()
        .splitlines()
    ]
    assert [e["itemCount"] for e in entries] == [1000, 1000, 500]
    keys, types, sizes = set(), set(), []
    for entry in entries:
        assert entry["dataFileS3Key"].startswith(f"{base}/data/") and entry["dataFileS3Key"].endswith(
            ".json.gz"
        )
        body = s3.get_object(Bucket=export.bucket, Key=entry["dataFileS3Key"])["Body"].read()
        assert base64.b64encode(hashlib.md5(body).digest()).decode() == entry["md5Checksum"]
        assert hashlib.md5(body).hexdigest() == entry["etag"]
        lines = gzip.decompress(body).splitlines()
        assert len(lines) == entry["itemCount"]
        for line in lines:
            assert line.startswith(b'{"Item":{') and line.endswith(b"}}")
            item = json.loads(line)["Item"]
            keys.add((item["pk"]["S"], item["sk"]["N"]))
            types.update(t for value in item.values() for t in value)
            sizes.append(len(line))
    assert len(keys) == 2500  # every item has its own primary key
    assert types == {"S", "N", "B", "BOOL", "NULL", "SS", "NS", "L", "M"}
    assert 800 <= sum(sizes) / len(sizes) <= 1400  # ~1 KB items


def test_single_file_mode_writes_one_data_file_of_the_requested_size(tmp_path):
    export = generate_export(tmp_path / "one", file_bytes=300_000, workers=1, progress=False)
    assert len(export.data_files) == 1
    data = gzip.decompress(export.data_files[0].read_bytes())
    assert 300_000 <= len(data) < 300_000 + 2_000
    entry = json.loads((export.root / export.manifest_files_key).read_text())
    assert entry["itemCount"] == data.count(b"\n") == export.item_count
