"""Gzip inflate for the export reader: ISA-L's (the ``isal`` package) when installed, else zlib's.

Decompression is most of what reading an export costs. ISA-L inflates the same gzip format with the
same checks (the trailer's CRC-32 and length; a truncated stream is seen as not at its end; several
members in one file) at about twice zlib's speed on export data: 1.76 vs 3.84 µs of CPU per ~1.15 KB
line here (docs/benchmarks.md). ``tests/unit/test_inflate.py`` runs the reader's checks through both.

``DYNAMODB_DR_INFLATE=zlib`` forces zlib (to compare, or if ISA-L ever misbehaves on a platform).
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

GZIP_WBITS = 16 + zlib.MAX_WBITS
"""A gzip stream (header and trailer), the largest window."""


def _engine() -> tuple[str, Any, tuple[type[Exception], ...]]:
    if os.environ.get("DYNAMODB_DR_INFLATE", "").strip().lower() != "zlib":
        try:
            import isal
            from isal import isal_zlib
        except ImportError:
            pass
        else:
            return f"isal {isal.__version__}", isal_zlib, (zlib.error, cast(type[Exception], isal_zlib.error))
    return f"zlib {zlib.ZLIB_RUNTIME_VERSION}", zlib, (zlib.error,)


ENGINE, _module, ERRORS = _engine()
"""``ENGINE``: which inflate is used (logged by the job). ``ERRORS``: what a damaged stream raises."""


def gzip_decompressor() -> Any:
    """A decompressor for one gzip member, with zlib's ``decompressobj`` interface (``decompress(data,
    max_length)``, ``unconsumed_tail``, ``unused_data``, ``eof``)."""
    return _module.decompressobj(GZIP_WBITS)


@contextmanager
def engine(name: str) -> Iterator[str]:
    """Use ``name`` ("isal" or "zlib") inside the block (benchmarks and tests compare the two); the
    engine's description."""
    global ENGINE, _module, ERRORS
    saved = ENGINE, _module, ERRORS
    if name == "zlib":
        ENGINE, _module, ERRORS = f"zlib {zlib.ZLIB_RUNTIME_VERSION}", zlib, (zlib.error,)
    elif name == "isal":
        import isal
        from isal import isal_zlib

        ENGINE, _module, ERRORS = (
            f"isal {isal.__version__}",
            isal_zlib,
            (zlib.error, cast(type[Exception], isal_zlib.error)),
        )
    else:
        raise ValueError(f"unknown inflate engine {name!r}: use isal or zlib")
    try:
        yield ENGINE
    finally:
        ENGINE, _module, ERRORS = saved
