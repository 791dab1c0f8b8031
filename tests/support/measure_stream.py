"""Measure the data-file read path: memory stays flat whatever the file size.

    .venv/bin/python tests/support/measure_stream.py [items] [line_bytes]

Writes a gzip data file of ``items`` export lines (streaming, two gzip members), then runs
``export_reader.iter_items`` over it and prints items/s, MB/s and the peak RSS growth.
"""

from __future__ import annotations

import gzip
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from dynamodb_dr.restore.export_reader import DataFile, iter_items


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    items = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
    line_bytes = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    pad = "x" * max(0, line_bytes - 80)
    fd, path = tempfile.mkstemp(suffix=".json.gz")
    os.close(fd)
    try:
        half = items // 2
        with open(path, "wb") as raw:
            for start, stop in ((0, half), (half, items)):  # two gzip members, as concatenated exports can be
                with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1) as out:
                    for i in range(start, stop):
                        out.write(
                            b'{"Item":{"pk":{"S":"k%d"},"n":{"N":"%d"},"p":{"S":"%s"}}}\n'
                            % (i, i, pad.encode())
                        )
        size = os.path.getsize(path)
        before = peak_rss_mb()
        started = time.perf_counter()
        count = sum(1 for _ in iter_items(path, DataFile(key=path, item_count=items, md5=""), "arn:measure"))
        seconds = time.perf_counter() - started
        assert count == items, count
        print(
            f"items={count} uncompressed_mb={items * line_bytes / 1e6:.0f} compressed_mb={size / 1e6:.1f} "
            f"seconds={seconds:.2f} items_per_s={count / seconds:,.0f} "
            f"uncompressed_mb_per_s={items * line_bytes / 1e6 / seconds:.0f} "
            f"peak_rss_before_mb={before:.0f} peak_rss_after_mb={peak_rss_mb():.0f}"
        )
    finally:
        os.unlink(path)


if __name__ == "__main__":
    main()
