"""Keep glibc's allocator from handing the reader's buffers back to the kernel between chunks.

Streaming a data file allocates and frees buffers of about a megabyte over and over (each
decompressed chunk, the pending text, the request bodies). glibc's defaults move its mmap threshold
up to the largest buffer freed, then trim the heap top back to the kernel whenever more than twice
that is free, so every chunk's buffers come back as fresh pages: measured, ~0.3 page faults per
item and up to 40% of the write path's CPU in the kernel, varying run to run
(docs/benchmarks.md). Fixing both thresholds keeps those pages in the process: faults drop to ~0.01
per item.

The cost is memory the process keeps after a large file: at most ``TRIM_THRESHOLD`` of free heap
(Spark executors are long-lived and run the next task with it). Anything other than glibc (macOS,
musl) is left alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import platform
import threading

logger = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024
"""Buffers below this come from the heap: every buffer of the read path (a decompressed chunk is 1
MiB, a line at most 2 MiB). 32 MiB is glibc's upper bound for it on 64-bit."""
TRIM_THRESHOLD = 128 * 1024 * 1024
"""Free heap above this is given back to the kernel."""

_lock = threading.Lock()
_state: dict[str, bool] = {}


def tune_for_streaming() -> bool:
    """Set glibc's mmap and trim thresholds once per process; True when they are set."""
    with _lock:
        if "tuned" in _state:
            return _state["tuned"]
        tuned = False
        if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                tuned = bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
                    libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
                )
            except (OSError, AttributeError) as exc:
                logger.debug("mallopt not available: %s", exc)
        _state["tuned"] = tuned
        return tuned
