"""Build the deployable artifacts into dist/, reproducibly (same sources -> same bytes).

    python scripts/package.py [--out dist]

Writes:
  dist/lambda/<name>.zip        one per folder lambdas/<name>/ that has a handler.py: the folder's
                                .py files at the zip root (Terraform's handler is
                                ``handler.lambda_handler``) plus the dynamodb_dr package.
  dist/glue/restore_job.py      the Glue job's script (Terraform uploads it as script_location).
  dist/glue/dynamodb_dr.zip     the library for ``--extra-py-files``: dynamodb_dr plus any helper
                                module next to the script in glue_jobs/.
  dist/SHA256SUMS               the digest of every file above.

Not bundled: boto3 (both runtimes ship it) and Powertools for AWS Lambda, which comes from the
AWS-published Powertools layer (Terraform variable ``powertools_layer_arn``): AWS builds, versions
and publishes it for every region, and keeping pip out of this build is what makes the zips
byte-for-byte reproducible and small. local_aws/ (the test endpoint) is never shipped.

Reproducible: entries sorted by name, every timestamp fixed at 1980-01-01 00:00:00, permissions fixed
at 0644, fixed compression level, no __pycache__ or .pyc, no directory entries.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = "dynamodb_dr"
GLUE_SCRIPT = "restore_job.py"
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # regular file, rw-r--r--


def library_files(root: Path = ROOT) -> list[tuple[str, Path]]:
    """(name in the archive, source) for every .py file of the dynamodb_dr package."""
    package = root / LIBRARY
    return [(path.relative_to(root).as_posix(), path) for path in _python_files(package)]


def _python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


def write_zip(target: Path, entries: Iterable[tuple[str, Path]]) -> None:
    """A zip whose bytes depend only on the entries' names and contents."""
    target.parent.mkdir(parents=True, exist_ok=True)
    seen: dict[str, Path] = {}
    for name, source in entries:
        if name in seen and seen[name] != source:
            raise SystemExit(f"package: {target.name} would hold {name} twice ({seen[name]} and {source}); rename one")
        seen[name] = source
    with zipfile.ZipFile(target, "w") as archive:
        for name in sorted(seen):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.external_attr = FILE_MODE << 16
            info.create_system = 3  # Unix, so the mode above is honoured on every platform
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, seen[name].read_bytes(), compresslevel=9)


def lambda_names(root: Path = ROOT) -> list[str]:
    return sorted(p.parent.name for p in (root / "lambdas").glob("*/handler.py"))


def build(out: Path, root: Path = ROOT) -> list[Path]:
    """Build every artifact into ``out`` (emptied first). Returns the files written."""
    if out.exists():
        shutil.rmtree(out)
    written: list[Path] = []
    library = library_files(root)
    for name in lambda_names(root):
        folder = root / "lambdas" / name
        handler_files = [(p.relative_to(folder).as_posix(), p) for p in _python_files(folder)]
        target = out / "lambda" / f"{name}.zip"
        write_zip(target, [*handler_files, *library])
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

    sums = out / "SHA256SUMS"
    sums.write_text(
        "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(out).as_posix()}\n" for p in written)
    )
    return [*written, sums]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="output folder (emptied first)")
    args = parser.parse_args(argv)
    for path in build(args.out.resolve()):
        print(path.relative_to(args.out.resolve()).as_posix(), path.stat().st_size, "bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
