"""Reference lines for the restore's read path, in items/s per core, over a generated export:

* ``gzip -dc FILE | wc -l``: the physical floor for this data (CPU of gzip + wc + the shell);
* gzip decompression + line splitting in Python (zlib, 1 MiB chunks, as a streaming reader does);
* ``json.loads`` of each line;
* an ION export's line turned into its DYNAMODB_JSON line (what ION adds per item);
* botocore's own request serialization of BatchWriteItem (25 items a request), without and with
  its parameter validation: what any boto3-based writer pays per item before a byte is sent.

Every figure is items / CPU-seconds of the process doing the work (single-threaded, so ~1 core).
Phase 2 adds the job's own read → validate → batch path next to these.

    python -m benchmarks.bench_read_floor --export .bench/exports/items-50000
"""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.measure import Result, since, snapshot, table

CHUNK = 1 << 18
MAX_OUT = 1 << 20
BATCH = 25


def data_files(export_root: Path) -> list[Path]:
    """Every ``data/*.json.gz`` under a generated export (in manifest-files.json order per export)."""
    files: list[Path] = []
    for listing in sorted(export_root.rglob("manifest-files.json")):
        entries = listing.read_text().splitlines()
        if not entries:
            continue
        # data/<file> sits beside manifest-files.json: strip the export folder's key to find the bucket root.
        export_key = Path(json.loads(entries[0])["dataFileS3Key"]).parent.parent
        bucket_root = listing.parent.parents[len(export_key.parts) - 1]
        for line in entries:
            files.append(bucket_root / json.loads(line)["dataFileS3Key"])
    if not files:
        raise SystemExit(
            f"no manifest-files.json under {export_root}; generate one with benchmarks.generate_export"
        )
    return files


def gzip_wc_floor(files: list[Path]) -> Result:
    """``gzip -dc FILE | wc -l`` per file; CPU of the child processes."""
    start = snapshot()
    lines = 0
    for path in files:
        out = subprocess.run(
            ["sh", "-c", 'gzip -dc "$1" | wc -l', "sh", str(path)], check=True, capture_output=True, text=True
        )
        lines += int(out.stdout.strip())
    return since(start, "gzip -dc | wc -l", lines, children=True)


def iter_lines(path: Path | str, inflate: Any = zlib) -> Iterator[bytes]:
    """Lines of one gzip file, decompressed incrementally (multi-member safe). At most ``CHUNK``
    compressed and ``MAX_OUT`` decompressed bytes are held at once, whatever the file's size.
    ``inflate``: zlib, or a module with its ``decompressobj`` (``isal.isal_zlib``)."""
    tail = b""
    with open(path, "rb") as raw:
        decompressor = inflate.decompressobj(31)
        pending = b""
        while True:
            if not pending:
                pending = raw.read(CHUNK)
                if not pending:
                    break
            data = decompressor.decompress(pending, MAX_OUT)
            pending = decompressor.unconsumed_tail
            if decompressor.eof:
                pending = decompressor.unused_data + pending
                decompressor = inflate.decompressobj(31)  # the next gzip member, if any
            if data:
                parts = (tail + data).split(b"\n")
                tail = parts.pop()
                yield from parts
        tail += decompressor.flush()
    if tail:
        yield tail


def python_gunzip_split(
    files: list[Path], inflate: Any = zlib, name: str = "python gzip + split lines"
) -> Result:
    start = snapshot()
    count = 0
    for path in files:
        for _ in iter_lines(path, inflate):
            count += 1
    return since(start, name, count)


def sample_lines(files: list[Path], limit: int) -> list[bytes]:
    lines: list[bytes] = []
    for path in files:
        for line in iter_lines(path):
            lines.append(line)
            if len(lines) >= limit:
                return lines
    return lines


def json_loads_rate(lines: list[bytes]) -> Result:
    loads = json.loads
    start = snapshot()
    for line in lines:
        loads(line)
    return since(start, "json.loads per line", len(lines))


def ion_to_json_rate(lines: list[bytes]) -> Result:
    """An ION export's line turned into the DYNAMODB_JSON line the restore checks and writes
    (``ion_lines.json_line``: amazon.ion's parser, its C extension when built): the per-item cost an
    ION export adds to the read path. The ION lines are written from the same items, untimed."""
    from dynamodb_dr.restore import ion_lines
    from local_aws.ion_export import ion_line

    ion = [ion_line(line).rstrip(b"\n") for line in lines]
    convert = ion_lines.json_line
    start = snapshot()
    for line in ion:
        convert(line)
    engine = "C extension" if ion_lines.C_EXTENSION else "pure Python"
    return since(start, f"ION line -> DYNAMODB_JSON line (amazon.ion, {engine})", len(ion))


def binary_as_bytes(item: dict[str, Any]) -> dict[str, Any]:
    """A marshalled item with its B / BS values as bytes (at any depth), as botocore takes them."""

    def value(v: dict[str, Any]) -> dict[str, Any]:
        ((kind, inner),) = v.items()
        if kind == "B":
            return {"B": base64.b64decode(inner)}
        if kind == "BS":
            return {"BS": [base64.b64decode(x) for x in inner]}
        if kind == "L":
            return {"L": [value(x) for x in inner]}
        if kind == "M":
            return {"M": {k: value(x) for k, x in inner.items()}}
        return v

    return {k: value(v) for k, v in item.items()}


def botocore_serialization(lines: list[bytes], *, validate: bool) -> Result:
    """BatchWriteItem requests of 25 put requests, serialized by the client's own serializer."""
    from botocore.validate import validate_parameters

    from dynamodb_dr.clients import make_client

    client = make_client("dynamodb", region_name="us-east-1")
    operation = client.meta.service_model.operation_model("BatchWriteItem")
    serializer = client._serializer
    # Outside the timed part. An export's B/BS values are base64 text; botocore base64-encodes blobs
    # itself, so a boto3 writer must hand it bytes (passing the text would double-encode them).
    items = [binary_as_bytes(json.loads(line)["Item"]) for line in lines]
    batches = [
        {"RequestItems": {"bench-restore": [{"PutRequest": {"Item": i}} for i in items[k : k + BATCH]]}}
        for k in range(0, len(items), BATCH)
    ]
    start = snapshot()
    for params in batches:
        if validate:
            validate_parameters(params, operation.input_shape)
        serializer.serialize_to_request(params, operation)
    name = "botocore serialize BatchWriteItem" + (" + validation" if validate else "")
    return since(start, name, len(items))


def run(export_root: Path, *, sample: int = 100_000) -> list[Result]:
    files = data_files(export_root)
    results = [gzip_wc_floor(files), python_gunzip_split(files)]
    lines = sample_lines(files, sample)
    results.append(json_loads_rate(lines))
    results.append(ion_to_json_rate(lines))
    results.append(botocore_serialization(lines, validate=False))
    results.append(botocore_serialization(lines, validate=True))
    try:
        from isal import isal_zlib
    except ImportError:
        return results
    results.append(python_gunzip_split(files, isal_zlib, "python gzip + split lines, isal (ISA-L) inflate"))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--export", type=Path, required=True, help="directory written by generate_export")
    parser.add_argument("--sample", type=int, default=100_000, help="lines used for json.loads / botocore")
    args = parser.parse_args(argv)
    results = run(args.export, sample=args.sample)
    print(table(results, reference=results[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
