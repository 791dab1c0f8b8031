"""glibc's thresholds are set once per process, and streaming a file no longer faults its pages in again."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from dynamodb_dr.restore import malloc

PROBE = r"""
import gzip, os, resource, sys, tempfile
from dynamodb_dr.restore import malloc
from dynamodb_dr.restore.export_reader import DataFile, iter_batches
if sys.argv[1] == "tuned":
    assert malloc.tune_for_streaming() and malloc.tune_for_streaming()
path = os.path.join(tempfile.mkdtemp(), "data.json.gz")
with gzip.open(path, "wb", compresslevel=1) as out:
    for _ in range(20_000):
        out.write(b'{"Item":{"pk":{"S":"%s"}}}\n' % os.urandom(500).hex().encode())
data_file = DataFile(key=path, item_count=0, md5="")
passes = [0, 0]
for n in range(2):  # the second pass: the first one's memory is there to reuse
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for batch in iter_batches(path, data_file, "arn"):
        pass
    passes[n] = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
print(passes[1])
"""


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_tuned_thresholds_stop_the_page_fault_churn():
    def faults(mode: str) -> int:
        out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
        return int(out.stdout)

    default, tuned = faults("default"), faults("tuned")
    assert tuned * 5 < default, (default, tuned)


def test_tuning_is_idempotent_and_never_raises():
    first = malloc.tune_for_streaming()
    assert malloc.tune_for_streaming() is first
