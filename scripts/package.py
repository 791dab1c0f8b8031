"""Build the deployable artifacts into dist/, reproducibly (same sources -> same bytes).

    python scripts/package.py [--out dist] [--no-glue-wheels]

Writes:
  dist/lambda/<name>.zip        one per folder lambdas/<name>/ that has a handler.py: the folder's
                                .py files at the zip root (Terraform's handler is
                                ``handler.lambda_handler``) plus the dynamodb_dr package.
  dist/glue/restore_job.py      the Glue job's script (Terraform uploads it as script_location).
  dist/glue/dynamodb_dr.zip     the library for ``--extra-py-files``: dynamodb_dr plus any helper
                                module next to the script in glue_jobs/.
  dist/glue/wheels/<wheel>.whl  the pinned binary wheels the Glue job installs at start with
                                ``--additional-python-modules``: isal, ISA-L's gzip inflate for
                                the export reader (about 2x zlib), and msgspec, the validation
                                stage's line check (about 7x json). Left out with
                                --no-glue-wheels: the job then uses stdlib zlib and json.
  dist/SHA256SUMS               the digest of every file above.

Not bundled: boto3 (both runtimes ship it) and Powertools for AWS Lambda, which comes from the
AWS-published Powertools layer (Terraform variable ``powertools_layer_arn``): AWS builds, versions
and publishes it for every region. Nothing pip resolves goes into the zips, which is what keeps them
byte-for-byte reproducible and small. local_aws/ (the test endpoint) is never shipped.

The one thing pip fetches is each pinned Glue wheel, and only as a file to copy: an exact
``name==version`` for the Glue 5.0 platform (CPython 3.11, manylinux x86_64), ``--no-deps``,
downloaded once into .cache/wheels/ (gitignored; a wheel put there by hand is used as is, so an
offline build works), and checked against the sha256 pinned here before it is copied, so the
wheel's bytes are as fixed as the sources'. A DR restore must not need PyPI: Glue installs the
wheel from the artifacts bucket.

Reproducible: entries sorted by name, every timestamp fixed at 1980-01-01 00:00:00, permissions fixed
at 0644, fixed compression level, no __pycache__ or .pyc, no directory entries.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = "dynamodb_dr"
GLUE_SCRIPT = "restore_job.py"
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # regular file, rw-r--r--
WHEEL_CACHE = ROOT / ".cache" / "wheels"
GLUE_WHEELS_DIR = "glue/wheels"


class PackageError(Exception):
    """A build that cannot go on; the message names the problem and the fix."""


@dataclass(frozen=True)
class PinnedWheel:
    """A binary wheel for the Glue 5.0 job (Python 3.11, x86_64), pinned by file name and digest."""

    requirement: str
    filename: str
    sha256: str


# Glue 5.0: CPython 3.11 on Amazon Linux 2023, x86_64 (glibc 2.34, so manylinux_2_28 wheels install).
GLUE_WHEEL_PLATFORM = (
    "--platform",
    "manylinux2014_x86_64",
    "--python-version",
    "3.11",
    "--implementation",
    "cp",
    "--abi",
    "cp311",
)
# The AWS SDK the restore's writer is tested with (dynamodb_dr.restore.writer.botocore_private's
# TESTED_BOTOCORE): Glue's and the Lambda runtime's own boto3 are older, and the writer refuses to
# start on a botocore outside that range. Shipped to Glue beside the other wheels, and inside the
# Restore Lambda's zip (it runs the same writer).
SDK_WHEELS = (
    PinnedWheel(
        requirement="boto3==1.44.8",
        filename="boto3-1.44.8-py3-none-any.whl",
        sha256="099caf21553bbbfef118904aa02fadb8776a534704cf00bede0ed9f29a4da88e",
    ),
    PinnedWheel(
        requirement="botocore==1.44.8",
        filename="botocore-1.44.8-py3-none-any.whl",
        sha256="76342a76c338701db80dcb8afe1c9bd079283d6fffbb9d881442abb02a215043",
    ),
    PinnedWheel(
        requirement="s3transfer==0.19.3",
        filename="s3transfer-0.19.3-py3-none-any.whl",
        sha256="24eb7535804306355e31c952a90022bf5b2f9d760f9a11062c7493a217c08553",
    ),
)
LAMBDA_VENDORED = {"restore": SDK_WHEELS}
"""Lambdas whose zip carries wheels' contents (the Restore Lambda runs the restore's writer)."""
GLUE_WHEELS = (
    PinnedWheel(
        requirement="isal==1.9.1",
        filename="isal-1.9.1-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl",
        sha256="a5b2f93fc39b8be92c6547965143094ee4d6a5543ef2d762a0edb6f06201feb5",
    ),
    # The validation stage's fast JSON check (dynamodb_dr.restore.item_rules); json without it.
    PinnedWheel(
        requirement="msgspec==0.23.0",
        filename="msgspec-0.23.0-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl",
        sha256="2e514e5b2a23e376f545f4962834b7312d9400705627c53330116b46daddfbe3",
    ),
    # ION exports (dynamodb_dr.restore.ion_lines): amazon.ion with its C extension, and the one
    # package it needs that Glue does not have (numpy, its dependency's, Glue has).
    PinnedWheel(
        requirement="amazon.ion==0.15.0",
        filename="amazon_ion-0.15.0-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl",
        sha256="931f123887e0caae04bb8e52cff13be09a9a7f90c9fc62ce2e5788ba80f1ebcf",
    ),
    PinnedWheel(
        requirement="jsonconversion==2.0.0",
        filename="jsonconversion-2.0.0-py3-none-any.whl",
        sha256="adfd131ff48b9e61d6a115b650306735cc71d55a210fe961e5daea9f9043f4b5",
    ),
    *SDK_WHEELS,
)


def library_files(root: Path = ROOT) -> list[tuple[str, Path]]:
    """(name in the archive, source) for every .py file of the dynamodb_dr package."""
    package = root / LIBRARY
    return [(path.relative_to(root).as_posix(), path) for path in _python_files(package)]


def _python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def write_zip(target: Path, entries: Iterable[tuple[str, Path | bytes]]) -> None:
    """A zip whose bytes depend only on the entries' names and contents (a file, or bytes)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    seen: dict[str, Path | bytes] = {}
    for name, source in entries:
        if name in seen and seen[name] != source:
            raise SystemExit(
                f"package: {target.name} would hold {name} twice ({seen[name]} and {source}); rename one"
            )
        seen[name] = source
    with zipfile.ZipFile(target, "w") as archive:
        for name in sorted(seen):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.external_attr = FILE_MODE << 16
            info.create_system = 3  # Unix, so the mode above is honoured on every platform
            info.compress_type = zipfile.ZIP_DEFLATED
            source = seen[name]
            archive.writestr(
                info, source if isinstance(source, bytes) else source.read_bytes(), compresslevel=9
            )


def lambda_names(root: Path = ROOT) -> list[str]:
    return sorted(p.parent.name for p in (root / "lambdas").glob("*/handler.py"))


def _download(wheel: PinnedWheel, cache: Path) -> None:
    """pip download the wheel into ``cache`` (through a scratch folder, so a failed or unexpected
    download never leaves a file in the cache)."""
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as scratch:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--only-binary=:all:",
            *GLUE_WHEEL_PLATFORM,
            "--no-deps",
        ]
        command += ["--retries", "1", "--disable-pip-version-check", wheel.requirement, "-d", scratch]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PackageError(_download_failed(wheel, cache, str(exc))) from exc
        if result.returncode != 0:
            raise PackageError(
                _download_failed(wheel, cache, (result.stderr or result.stdout).strip()[-1500:])
            )
        got = sorted(p.name for p in Path(scratch).iterdir())
        if got != [wheel.filename]:
            raise PackageError(
                f"package: pip download {wheel.requirement} gave {got}, not the pinned {wheel.filename}; "
                f"update the pin in scripts/package.py (GLUE_WHEELS) if the new file is the one you want"
            )
        os.replace(Path(scratch) / wheel.filename, cache / wheel.filename)


def _download_failed(wheel: PinnedWheel, cache: Path, detail: str) -> str:
    return (
        f"package: could not download {wheel.requirement} for the Glue job ({detail})\n"
        f"Fix: get PyPI reachable and re-run; or put {wheel.filename} (sha256 {wheel.sha256}) into {cache}/ by hand; "
        f"or build without it with --no-glue-wheels (the Glue job then inflates with zlib, about half the read speed)."
    )


def glue_wheel_bytes(wheel: PinnedWheel, cache: Path = WHEEL_CACHE) -> bytes:
    """The pinned wheel's bytes, from the cache (downloaded into it first if missing), checked
    against the pinned sha256."""
    cached = cache / wheel.filename
    if not cached.is_file():
        _download(wheel, cache)
    data = cached.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != wheel.sha256:
        raise PackageError(
            f"package: {cached} has sha256 {actual}, expected {wheel.sha256} (pinned in scripts/package.py); "
            f"delete the file so the next build downloads it again, or fix the pin if the wheel really changed"
        )
    return data


def wheel_entries(data: bytes) -> list[tuple[str, bytes]]:
    """A wheel's files (it is a zip laid out as site-packages), to vendor into a Lambda zip."""
    with zipfile.ZipFile(io.BytesIO(data)) as wheel:
        return [(i.filename, wheel.read(i)) for i in wheel.infolist() if not i.is_dir()]


def build(
    out: Path,
    root: Path = ROOT,
    *,
    glue_wheels: Sequence[PinnedWheel] = GLUE_WHEELS,
    wheel_cache: Path = WHEEL_CACHE,
) -> list[Path]:
    """Build every artifact into ``out`` (emptied first). Returns the files written.

    ``glue_wheels=()`` builds without the Glue job's wheels (--no-glue-wheels)."""
    wheels = [
        (wheel, glue_wheel_bytes(wheel, wheel_cache)) for wheel in glue_wheels
    ]  # fail before touching out
    if out.exists():
        shutil.rmtree(out)
    written: list[Path] = []
    library = library_files(root)
    shipped = {wheel.filename: data for wheel, data in wheels}
    for name in lambda_names(root):
        folder = root / "lambdas" / name
        handler_files: list[tuple[str, Path | bytes]] = [
            (p.relative_to(folder).as_posix(), p) for p in _python_files(folder)
        ]
        vendored = [
            entry
            for wheel in LAMBDA_VENDORED.get(name, ())
            if wheel.filename in shipped
            for entry in wheel_entries(shipped[wheel.filename])
        ]
        target = out / "lambda" / f"{name}.zip"
        write_zip(target, [*handler_files, *library, *vendored])
        written.append(target)

    glue = root / "glue_jobs"
    script = glue / GLUE_SCRIPT
    if script.exists():
        target = out / "glue" / GLUE_SCRIPT
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(script.read_bytes())
        written.append(target)
        helpers = [(p.relative_to(glue).as_posix(), p) for p in _python_files(glue) if p != script]
        target = out / "glue" / f"{LIBRARY}.zip"
        write_zip(target, [*helpers, *library])
        written.append(target)
        for wheel, data in wheels:
            target = out / GLUE_WHEELS_DIR / wheel.filename
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            written.append(target)

    sums = out / "SHA256SUMS"
    sums.write_text(
        "".join(
            f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(out).as_posix()}\n"
            for p in written
        )
    )
    return [*written, sums]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output folder (emptied first)")
    parser.add_argument(
        "--no-glue-wheels",
        action="store_true",
        help="leave out the Glue job's pinned wheels (isal): no download; the job then inflates with zlib",
    )
    args = parser.parse_args(argv)
    out = args.out.resolve()
    try:
        written = build(out, glue_wheels=() if args.no_glue_wheels else GLUE_WHEELS)
    except PackageError as exc:
        print(exc, file=sys.stderr)
        return 2
    for path in written:
        print(path.relative_to(out).as_posix(), path.stat().st_size, "bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
