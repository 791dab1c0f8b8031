"""Write a realistic DynamoDB export, in the exact AWS layout, of a chosen size, plus a backup manifest.

Into a local directory that mirrors the bucket (the S3 key of every file is its path under it)::

    OUT/PREFIX/DATE/manifest.json                                     dynamodb_dr.backup_manifest.BackupManifest
    OUT/PREFIX/DATE/TABLE/AWSDynamoDB/<ExportId>/_started
    OUT/PREFIX/DATE/TABLE/AWSDynamoDB/<ExportId>/manifest-summary.json (+ .checksum)
    OUT/PREFIX/DATE/TABLE/AWSDynamoDB/<ExportId>/manifest-files.json   (+ .checksum)
    OUT/PREFIX/DATE/TABLE/AWSDynamoDB/<ExportId>/data/<random>.json.gz

Items are ~1 KB of mixed types (S, N, B, BOOL, NULL, SS, NS, L, M nested two levels deep) from a few
templates with varied values, keyed ``pk`` (S, HASH) + ``sk`` (N, RANGE). Files are written by a
process pool, one gzip member per file (as AWS writes them). ``--upload BUCKET`` then copies the tree
to S3 on whatever endpoint ``AWS_ENDPOINT_URL`` names. ``--file-bytes`` writes ONE data file of a
given uncompressed size instead (the memory benchmark's 10 MB / 1 GB files).

    python -m benchmarks.generate_export --items 50000
    python -m benchmarks.generate_export --file-bytes 1GB --out .bench/exports/one-1gb
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gzip
import hashlib
import json
import os
import random
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from dynamodb_dr.backup_manifest import COMPLETED, BackupManifest, TableBackup, export_prefix

DEFAULT_ITEMS = 1_000_000
DEFAULT_ITEMS_PER_FILE = 10_000
DEFAULT_TABLE = "bench-restore"
DEFAULT_PREFIX = "native-exports"
DEFAULT_DATE = "2026-01-01"
DEFAULT_BUCKET = "dynamodb-dr-bench"
REGION = "us-east-1"
ACCOUNT = "123456789012"

KEY_SCHEMA = [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
ATTRIBUTE_DEFINITIONS = [
    {"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "N"},
]
TABLE_DEFINITION = {
    "KeySchema": KEY_SCHEMA,
    "AttributeDefinitions": ATTRIBUTE_DEFINITIONS,
    "BillingMode": "PAY_PER_REQUEST",
}

WORDS = (
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
    "mike",
    "november",
    "oscar",
    "papa",
    "quebec",
    "romeo",
    "sierra",
    "tango",
    "uniform",
    "victor",
    "whiskey",
    "xray",
    "yankee",
    "zulu",
    "amber",
    "basalt",
    "cobalt",
    "dune",
    "ember",
    "fjord",
    "glacier",
    "harbor",
    "island",
    "jasper",
    "kelp",
    "lagoon",
    "meadow",
    "nectar",
    "orchid",
    "pebble",
    "quartz",
    "river",
    "spruce",
    "tundra",
    "umber",
    "valley",
    "willow",
    "yarrow",
    "zephyr",
)
STATUSES = ("PENDING", "PAID", "SHIPPED", "DELIVERED", "RETURNED", "CANCELLED")
CITIES = ("Lisbon", "Oslo", "Osaka", "Austin", "Lagos", "Lima", "Perth", "Quebec", "Seoul", "Turin")

# Lines exactly as an export writes them (no spaces): {"Item":{...}}. Values are filled in by _line.
ORDER = (
    '{"Item":{"pk":{"S":"%(pk)s"},"sk":{"N":"%(sk)d"},"entity":{"S":"order"},"status":{"S":"%(status)s"},'
    '"total":{"N":"%(price)s"},"paid":{"BOOL":%(flag)s},"coupon":{"NULL":true},"tags":{"SS":[%(tags)s]},'
    '"scores":{"NS":[%(nums)s]},"signature":{"B":"%(blob)s"},'
    '"lines":{"L":[%(lines)s]},'
    '"shipTo":{"M":{"street":{"S":"%(w1)s %(w2)s street %(n1)d"},"city":{"S":"%(city)s"},'
    '"zip":{"S":"%(zip)05d"},"geo":{"M":{"lat":{"N":"%(lat)s"},"lon":{"N":"%(lon)s"}}}}},'
    '"note":{"S":"%(text)s"}}}\n'
)
PROFILE = (
    '{"Item":{"pk":{"S":"%(pk)s"},"sk":{"N":"%(sk)d"},"entity":{"S":"profile"},"name":{"S":"%(w1)s %(w2)s"},'
    '"age":{"N":"%(n1)d"},"balance":{"N":"%(price)s"},"verified":{"BOOL":%(flag)s},"deletedAt":{"NULL":true},'
    '"roles":{"SS":[%(tags)s]},"logins":{"NS":[%(nums)s]},"avatar":{"B":"%(blob)s"},'
    '"preferences":{"M":{"theme":{"S":"%(w3)s"},"alerts":{"BOOL":%(flag)s},'
    '"limits":{"M":{"daily":{"N":"%(n2)d"},"weekly":{"N":"%(n1)d%(n2)d"}}},"langs":{"L":[{"S":"%(w2)s"},{"S":"%(w3)s"}]}}},'
    '"history":{"L":[%(lines)s]},"bio":{"S":"%(text)s"}}}\n'
)
EVENT = (
    '{"Item":{"pk":{"S":"%(pk)s"},"sk":{"N":"%(sk)d"},"entity":{"S":"event"},"kind":{"S":"%(status)s"},'
    '"at":{"N":"17%(n2)08d"},"ok":{"BOOL":%(flag)s},"empty":{"NULL":true},"labels":{"SS":[%(tags)s]},'
    '"samples":{"NS":[%(nums)s]},"payload":{"B":"%(blob)s"},'
    '"attrs":{"M":{"source":{"S":"%(w1)s.%(w2)s"},"region":{"S":"%(city)s"},"retries":{"N":"%(n1)d"},'
    '"trace":{"M":{"id":{"S":"%(zip)05d-%(n2)d"},"sampled":{"BOOL":%(flag)s}}}}},'
    '"steps":{"L":[%(lines)s]},"message":{"S":"%(text)s"}}}\n'
)
TEMPLATES = (ORDER, PROFILE, EVENT)


def _line(rng: random.Random, index: int) -> str:
    words = rng.sample(WORDS, 12)
    lines = ",".join(
        f'{{"M":{{"sku":{{"S":"{words[k]}-{rng.randrange(10_000)}"}},"qty":{{"N":"{rng.randrange(1, 9)}"}},'
        f'"price":{{"N":"{rng.randrange(500)}.{rng.randrange(100):02d}"}},'
        f'"gift":{{"BOOL":{"true" if rng.random() < 0.2 else "false"}}}}}}}'
        for k in range(rng.randrange(2, 5))
    )
    values = {
        # Spread keys like real ones (not sequential), still unique by construction.
        "pk": f"{(index * 2654435761) % 4294967296:08x}#{index}",
        "sk": index % 97,
        "status": rng.choice(STATUSES),
        "price": f"{rng.randrange(100_000)}.{rng.randrange(100):02d}",
        "flag": "true" if rng.random() < 0.5 else "false",
        "tags": ",".join(f'"{w}"' for w in words[: rng.randrange(1, 5)]),
        "nums": ",".join(f'"{n}"' for n in rng.sample(range(-500, 100_000), rng.randrange(1, 6))),
        "blob": base64.b64encode(rng.randbytes(rng.randrange(48, 160))).decode("ascii"),
        "lines": lines,
        "w1": words[5],
        "w2": words[6],
        "w3": words[7],
        "n1": rng.randrange(1, 120),
        "n2": rng.randrange(100_000),
        "city": rng.choice(CITIES),
        "zip": rng.randrange(100_000),
        "lat": f"{rng.uniform(-90, 90):.6f}",
        "lon": f"{rng.uniform(-180, 180):.6f}",
        "text": " ".join(rng.choices(WORDS, k=rng.randrange(25, 55))),
    }
    return TEMPLATES[index % len(TEMPLATES)] % values


def _random_name(rng: random.Random) -> str:
    return base64.b32encode(rng.randbytes(16)).decode("ascii").rstrip("=").lower()


@dataclass(frozen=True)
class FileSpec:
    path: str
    key: str
    first_index: int
    item_count: int | None
    """Items to write; None = write until ``target_bytes`` of uncompressed lines."""
    target_bytes: int | None
    seed: int


@dataclass(frozen=True)
class WrittenFile:
    key: str
    item_count: int
    md5_base64: str
    etag: str
    uncompressed_bytes: int
    compressed_bytes: int


def write_data_file(spec: FileSpec) -> WrittenFile:
    """One ``data/<random>.json.gz`` (a single gzip member), streamed: memory stays flat at 1 GB."""
    rng = random.Random(spec.seed)
    count = written = 0
    buffer: list[str] = []
    with open(spec.path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as out:
        while (spec.item_count is not None and count < spec.item_count) or (
            spec.target_bytes is not None and written < spec.target_bytes
        ):
            line = _line(rng, spec.first_index + count)
            buffer.append(line)
            count += 1
            written += len(line)
            if len(buffer) >= 2000:
                out.write("".join(buffer).encode("ascii"))
                buffer.clear()
        if buffer:
            out.write("".join(buffer).encode("ascii"))
    digest = hashlib.md5()
    with open(spec.path, "rb") as stored:
        for chunk in iter(lambda: stored.read(1 << 20), b""):
            digest.update(chunk)
    return WrittenFile(
        key=spec.key,
        item_count=count,
        md5_base64=base64.b64encode(digest.digest()).decode("ascii"),
        etag=digest.hexdigest(),
        uncompressed_bytes=written,
        compressed_bytes=os.path.getsize(spec.path),
    )


@dataclass(frozen=True)
class GeneratedExport:
    root: Path
    """The directory that mirrors the bucket."""
    bucket: str
    manifest_key: str
    summary_key: str
    manifest_files_key: str
    data_files: tuple[Path, ...]
    item_count: int
    uncompressed_bytes: int
    compressed_bytes: int
    table_name: str
    backup_date: str
    s3_prefix: str


def _iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _write(root: Path, key: str, body: bytes) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)


def generate_export(
    out: Path,
    *,
    items: int = DEFAULT_ITEMS,
    items_per_file: int = DEFAULT_ITEMS_PER_FILE,
    file_bytes: int | None = None,
    file_items: Sequence[int] | None = None,
    table_name: str = DEFAULT_TABLE,
    s3_prefix: str = DEFAULT_PREFIX,
    backup_date: str = DEFAULT_DATE,
    bucket: str = DEFAULT_BUCKET,
    workers: int | None = None,
    seed: int = 1,
    progress: bool = True,
) -> GeneratedExport:
    """Write the export under ``out`` (emptied first if it holds a previous export): ``items`` in files
    of ``items_per_file``, or ONE file of ``file_bytes``, or one file per count in ``file_items``
    (0: an empty data file, as real exports have for empty partitions)."""
    if out.exists() and any(out.iterdir()):
        if not (out / s3_prefix).exists():
            raise SystemExit(f"{out} is not empty and holds no previous benchmark export; pick another --out")
        import shutil

        shutil.rmtree(out)
    rng = random.Random(seed)
    started = datetime.now(UTC)
    export_id = f"{int(started.timestamp() * 1000):014d}-{rng.getrandbits(32):08x}"
    table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table_name}"
    export_arn = f"{table_arn}/export/{export_id}"
    table_prefix = export_prefix(s3_prefix, backup_date, table_name)
    base = f"{table_prefix}/AWSDynamoDB/{export_id}"
    (out / base / "data").mkdir(parents=True)
    _write(out, f"{base}/_started", b"")

    if file_bytes is not None:
        specs = [FileSpec("", "", 0, None, file_bytes, seed)]
    elif file_items is not None:  # one data file per count, in this order (0: an empty data file)
        specs, first = [], 0
        for count in file_items:
            specs.append(FileSpec("", "", first, count, None, seed * 1_000_003 + first))
            first += count
    else:
        specs = []
        for first in range(0, items, items_per_file):
            specs.append(
                FileSpec("", "", first, min(items_per_file, items - first), None, seed * 1_000_003 + first)
            )
    specs = [
        FileSpec(str(out / key), key, s.first_index, s.item_count, s.target_bytes, s.seed)
        for s in specs
        for key in [f"{base}/data/{_random_name(rng)}.json.gz"]
    ]
    workers = workers or os.cpu_count() or 1
    results: list[WrittenFile] = []
    t0 = time.monotonic()
    with ProcessPoolExecutor(max_workers=min(workers, len(specs))) as pool:
        for done in pool.map(write_data_file, specs):
            results.append(done)
            if progress and (len(results) % max(1, len(specs) // 20) == 0 or len(results) == len(specs)):
                so_far = sum(r.item_count for r in results)
                print(
                    f"  {len(results)}/{len(specs)} files, {so_far:,} items, "
                    f"{so_far / max(time.monotonic() - t0, 1e-9):,.0f} items/s",
                    file=sys.stderr,
                    flush=True,
                )

    manifest_files = "".join(
        json.dumps(
            {"itemCount": r.item_count, "md5Checksum": r.md5_base64, "etag": r.etag, "dataFileS3Key": r.key},
            separators=(",", ":"),
        )
        + "\n"
        for r in results
    ).encode("utf-8")
    files_key = f"{base}/manifest-files.json"
    _write(out, files_key, manifest_files)
    _write(out, f"{base}/manifest-files.checksum", hashlib.md5(manifest_files).hexdigest().encode())
    total_items = sum(r.item_count for r in results)
    billed = sum(r.uncompressed_bytes for r in results)
    ended = datetime.now(UTC)
    summary = {
        "version": "2020-06-30",
        "exportArn": export_arn,
        "startTime": _iso(started),
        "endTime": _iso(ended),
        "tableArn": table_arn,
        "tableId": f"{rng.getrandbits(128):032x}",
        "exportTime": _iso(started),
        "s3Bucket": bucket,
        "s3Prefix": table_prefix,
        "s3SseAlgorithm": "AES256",
        "s3SseKmsKeyId": None,
        "manifestFilesS3Key": files_key,
        "billedSizeBytes": billed,
        "itemCount": total_items,
        "outputFormat": "DYNAMODB_JSON",
        "outputView": "NEW_IMAGE",
        "exportType": "FULL_EXPORT",
    }
    summary_body = json.dumps(summary, separators=(",", ":")).encode("utf-8")
    summary_key = f"{base}/manifest-summary.json"
    _write(out, summary_key, summary_body)
    _write(out, f"{base}/manifest-summary.checksum", hashlib.md5(summary_body).hexdigest().encode())

    table = TableBackup(
        table_name=table_name,
        status=COMPLETED,
        table_arn=table_arn,
        export_arn=export_arn,
        export_s3_prefix=table_prefix,
        client_token=f"bench-{export_id}",
        export_time=summary["exportTime"],
        start_time=summary["startTime"],
        end_time=summary["endTime"],
        item_count=total_items,
        billed_size_bytes=billed,
        export_manifest_key=summary_key,
        manifest_files_key=files_key,
        table_definition=TABLE_DEFINITION,
    )
    manifest = BackupManifest(
        backup_date=backup_date,
        environment="bench",
        s3_bucket=bucket,
        s3_prefix=s3_prefix,
        tables={table_name: table},
    )
    _write(out, manifest.key, manifest.to_json())
    return GeneratedExport(
        root=out,
        bucket=bucket,
        manifest_key=manifest.key,
        summary_key=summary_key,
        manifest_files_key=files_key,
        data_files=tuple(Path(s.path) for s in specs),
        item_count=total_items,
        uncompressed_bytes=billed,
        compressed_bytes=sum(r.compressed_bytes for r in results),
        table_name=table_name,
        backup_date=backup_date,
        s3_prefix=s3_prefix,
    )


def upload(export: GeneratedExport, s3: object, bucket: str | None = None) -> int:
    """Copy every file under ``export.root`` to ``bucket`` with its relative path as the key."""
    bucket = bucket or export.bucket
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):  # type: ignore[attr-defined]
        s3.create_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    count = 0
    for path in sorted(p for p in export.root.rglob("*") if p.is_file()):
        s3.upload_file(str(path), bucket, path.relative_to(export.root).as_posix())  # type: ignore[attr-defined]
        count += 1
    return count


def parse_size(value: str) -> int:
    """``10MB``, ``1GB``, ``1500000`` → bytes (decimal units, as the issue states sizes)."""
    text = value.strip().upper().removesuffix("B")
    scale = {"K": 10**3, "M": 10**6, "G": 10**9}.get(text[-1:], 1)
    try:
        return int(float(text[:-1] if scale > 1 else text) * scale)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a size; expected e.g. 10MB or 1GB") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=DEFAULT_ITEMS, help="items in the export (default 1M)")
    parser.add_argument("--items-per-file", type=int, default=DEFAULT_ITEMS_PER_FILE)
    parser.add_argument("--file-bytes", type=parse_size, help="write ONE data file of this uncompressed size")
    parser.add_argument(
        "--out", type=Path, help="directory mirroring the bucket (default .bench/exports/<size>)"
    )
    parser.add_argument("--table", default=DEFAULT_TABLE)
    parser.add_argument("--prefix", default=DEFAULT_PREFIX)
    parser.add_argument("--backup-date", default=DEFAULT_DATE)
    parser.add_argument("--bucket", default=DEFAULT_BUCKET, help="bucket named in the manifests")
    parser.add_argument("--upload", action="store_true", help="copy to --bucket on AWS_ENDPOINT_URL's S3")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    name = f"one-{args.file_bytes}b" if args.file_bytes else f"items-{args.items}"
    out = args.out or Path(".bench/exports") / name
    t0 = time.monotonic()
    export = generate_export(
        out,
        items=args.items,
        items_per_file=args.items_per_file,
        file_bytes=args.file_bytes,
        table_name=args.table,
        s3_prefix=args.prefix,
        backup_date=args.backup_date,
        bucket=args.bucket,
        workers=args.workers,
        seed=args.seed,
    )
    elapsed = time.monotonic() - t0
    print(
        f"wrote {export.item_count:,} items in {len(export.data_files)} data files under {export.root} "
        f"({export.uncompressed_bytes / 1e6:,.1f} MB uncompressed, {export.compressed_bytes / 1e6:,.1f} MB gzip, "
        f"{export.uncompressed_bytes / max(export.item_count, 1):,.0f} B/item) in {elapsed:.1f}s"
    )
    print(f"backup manifest: {export.root / export.manifest_key}")
    if args.upload:
        from dynamodb_dr.clients import make_client

        count = upload(export, make_client("s3"), args.bucket)
        print(f"uploaded {count} objects to s3://{args.bucket}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
