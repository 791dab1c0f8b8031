"""scripts/bootstrap.sh reads the Java version the way each JDK prints it (it installs Java 17 when
the version is below 17)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

BOOTSTRAP = Path(__file__).resolve().parents[2] / "scripts" / "bootstrap.sh"


@pytest.mark.parametrize(
    ("printed", "major"),
    [
        ('openjdk version "1.8.0_392"', "8"),
        ('openjdk version "11.0.21" 2023-10-17', "11"),
        ('openjdk version "17.0.15" 2025-04-15', "17"),
        ('java version "21.0.1" 2023-10-17 LTS', "21"),
    ],
)
def test_java_major_parses_each_jdks_version_line(tmp_path, printed, major):
    fake = tmp_path / "java"
    fake.write_text(f"#!/bin/sh\necho '{printed}' >&2\n")
    fake.chmod(0o755)
    script = f'source <(sed -n "/^java_major()/,/^}}/p" {BOOTSTRAP}); PATH={tmp_path}:$PATH; java_major'
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == major
