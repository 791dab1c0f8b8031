"""The driver's view of files being written (``resume.LiveProgress``), read from a real S3 endpoint.

A data file can hold a whole partition (~10 GB), so the restore's progress log must move within a
file: tasks record the items written so far (``.live``), and the driver adds those of files with no
``.done`` marker yet, for this run only, reading an object again only when its ETag changed.
"""

from __future__ import annotations

import boto3

from dynamodb_dr.restore.export_reader import DataFile
from dynamodb_dr.restore.resume import LiveProgress, ProgressLocation, write_live, write_marker

BUCKET = "live-progress"


def test_files_being_written_count_their_items_so_far_for_this_run_only(aws):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    location = ProgressLocation.for_table(BUCKET, "native-exports", "2026-05-01", "orders", "orders", "arn:x")
    files = [
        DataFile(f"data/{name}.json.gz", count, "md5")
        for name, count in [("a", 1000), ("b", 2000), ("c", 3000), ("d", 4000), ("e", 5000)]
    ]
    a, b, c, d, e = (f.key for f in files)
    write_marker(s3, location, d, 4000, "run-0")  # an earlier attempt wrote d: skipped, not this run's
    live = LiveProgress(s3, location, [f for f in files if f.key != d], "run-1")
    gets: list[str] = []
    s3.meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: gets.append(params["Key"])
    )

    assert live.poll() == (0, 0)
    write_live(s3, location, a, 300, "run-1")  # being written
    write_live(s3, location, b, 700, "run-0")  # left by the killed attempt: written again by this one
    write_live(s3, location, c, 2900, "run-1")
    write_marker(s3, location, c, 3000, "run-1")  # ... and finished: counted once, whole
    assert live.poll() == (1, 3000 + 300)
    assert sorted(gets) == sorted([location.live_key(a), location.live_key(b)])  # no GET for a finished file

    gets.clear()
    assert live.poll() == (1, 3300)
    assert gets == []  # nothing changed, nothing read again
    write_live(s3, location, a, 800, "run-1")
    write_live(s3, location, b, 25, "run-1")  # this run reached b
    assert live.poll() == (1, 3000 + 800 + 25)
    assert sorted(gets) == sorted([location.live_key(a), location.live_key(b)])

    write_marker(s3, location, a, 1000, "run-1")
    assert live.poll() == (2, 3000 + 1000 + 25)
    s3.put_object(Bucket=BUCKET, Key=location.live_key(e), Body=b"not json")  # damaged: counts nothing
    assert live.poll() == (2, 4025)
