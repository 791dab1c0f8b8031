"""`make package` builds what Terraform deploys: every path Terraform names exists in the build,
handlers and scripts are where Terraform says, every module a component imports is inside its
artifact, and the build is reproducible (same sources -> same bytes; changed source -> new bytes)."""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
import re
import shutil
import sys
import zipfile
from pathlib import Path

import pytest
from code_calls import analyze
from components import COMPONENTS, GLUE_LIBRARY, GLUE_LIBRARY_ARGUMENT, Component
from terraform_model import (
    EXAMPLE,
    ROOT,
    Conditional,
    TfModule,
    default_arguments,
    policy_statements,
    unquote,
)


def _load_package_script():
    spec = importlib.util.spec_from_file_location("package_script", ROOT / "scripts" / "package.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


package = _load_package_script()

# The pin, restated here so a changed pin in scripts/package.py is a deliberate two-place edit.
PINNED_ISAL = "isal-1.9.1-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl"
PINNED_ISAL_SHA256 = "a5b2f93fc39b8be92c6547965143094ee4d6a5543ef2d762a0edb6f06201feb5"
PINNED_MSGSPEC = (
    "msgspec-0.23.0-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl"
)
PINNED_MSGSPEC_SHA256 = "2e514e5b2a23e376f545f4962834b7312d9400705627c53330116b46daddfbe3"
PINNED_SDK = {
    "boto3-1.44.8-py3-none-any.whl": "099caf21553bbbfef118904aa02fadb8776a534704cf00bede0ed9f29a4da88e",
    "botocore-1.44.8-py3-none-any.whl": "76342a76c338701db80dcb8afe1c9bd079283d6fffbb9d881442abb02a215043",
    "s3transfer-0.19.3-py3-none-any.whl": "24eb7535804306355e31c952a90022bf5b2f9d760f9a11062c7493a217c08553",
}
PINNED_ION = {
    "amazon_ion-0.15.0-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl": (
        "931f123887e0caae04bb8e52cff13be09a9a7f90c9fc62ce2e5788ba80f1ebcf"
    ),
    "jsonconversion-2.0.0-py3-none-any.whl": "adfd131ff48b9e61d6a115b650306735cc71d55a210fe961e5daea9f9043f4b5",
}
PINNED_WHEELS = sorted([PINNED_ISAL, PINNED_MSGSPEC, *PINNED_SDK, *PINNED_ION])


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("build") / "dist"
    package.build(out)
    return out


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def artifact_paths() -> dict[str, str]:
    """Module argument -> path under dist/ that infra/envs/example passes to it."""
    out = {}
    for name, call in TfModule(EXAMPLE).module_calls().items():
        for argument, value in call.items():
            if argument.endswith("_path"):
                match = re.fullmatch(r"\$\{local\.artifacts_dir\}/(.+)", unquote(value))
                assert match, (
                    f"module.{name}.{argument} = {value}: artifacts must come from local.artifacts_dir"
                )
                out[argument] = match[1]
    return out


def test_every_artifact_terraform_names_is_built(dist: Path) -> None:
    paths = artifact_paths()
    assert paths, "the example root passes no artifact to any module"
    for argument, relative in paths.items():
        assert (dist / relative).is_file(), (
            f"Terraform's {argument} points at dist/{relative}, which make package does not build"
        )
    for component in COMPONENTS:
        assert paths[component.artifact_argument] == component.artifact, (
            f"{component.name} is deployed from the wrong artifact"
        )
    assert paths[GLUE_LIBRARY_ARGUMENT] == GLUE_LIBRARY
    local = unquote(TfModule(EXAMPLE).locals()["artifacts_dir"])
    assert "../../../dist" in local, (
        "the default artifacts_dir must be the repository's dist/ (make package's output)"
    )


def _module_files(component: Component) -> set[str]:
    files = set()
    for name in analyze(component.entry_path).modules:
        base = ROOT.joinpath(*name.split("."))
        path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        files.add(path.relative_to(ROOT).as_posix())
    return files


@pytest.mark.parametrize("component", [c for c in COMPONENTS if c.lambda_call], ids=lambda c: c.name)
def test_lambda_zip_has_the_handler_terraform_names_and_every_module_it_imports(
    dist: Path, component: Component
) -> None:
    function, call = component.function, component.call
    assert call
    # The zip the example passes reaches the function unchanged: example -> module -> lambda_function.
    assert function["filename"] == "${var.package_path}"
    assert function["source_code_hash"] == "${filebase64sha256(var.package_path)}"
    assert call.bind(function["filename"]) == f"${{var.{component.artifact_argument}}}", (
        f"{call} must deploy the zip the example passes as {component.artifact_argument}"
    )
    handler = unquote(function["handler"])
    module_name, _, function_name = handler.rpartition(".")
    with zipfile.ZipFile(dist / component.artifact) as archive:
        names = set(archive.namelist())
        handler_file = module_name.replace(".", "/") + ".py"
        assert handler_file in names, f"handler {handler}: {handler_file} is not in {component.artifact}"
        tree = ast.parse(archive.read(handler_file))
        assert function_name in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}, (
            f"{handler_file} has no {function_name}"
        )
        assert archive.read(handler_file) == component.entry_path.read_bytes()
        missing = _module_files(component) - names
        assert not missing, f"{component.artifact} lacks modules its handler imports: {sorted(missing)}"
        assert not [
            n
            for n in names
            if n.startswith(("local_aws/", "tests/")) or "__pycache__" in n or n.endswith(".pyc")
        ]


def test_glue_script_and_library_are_where_the_job_looks(dist: Path) -> None:
    component = next(c for c in COMPONENTS if c.glue_job)
    tf = component.tf
    job = tf.resources("aws_glue_job")[component.glue_job]
    locals_ = {k: unquote(v) for k, v in tf.locals().items()}
    script_key = locals_["script_key"].replace(
        "${var.artifacts_prefix}", unquote(tf.variables()["artifacts_prefix"]["default"])
    )
    assert job["command"][0]["script_location"] == "${local.script_uri}" and locals_["script_uri"].endswith(
        "/${local.script_key}"
    )
    assert script_key.rpartition("/")[2] == Path(component.artifact).name
    assert default_arguments(tf, job)["--extra-py-files"] == "${local.library_uri}"
    assert locals_["library_key"].rpartition("/")[2] == Path(GLUE_LIBRARY).name
    objects = tf.resources("aws_s3_object")
    assert (
        objects["script"]["key"] == "${local.script_key}"
        and objects["library"]["key"] == "${local.library_key}"
    )

    assert (dist / component.artifact).read_bytes() == component.entry_path.read_bytes()
    tree = ast.parse(component.entry_path.read_text())
    assert "main" in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    with zipfile.ZipFile(dist / GLUE_LIBRARY) as archive:
        names = set(archive.namelist())
    missing = _module_files(component) - names
    assert not missing, f"{GLUE_LIBRARY} lacks modules the Glue script imports: {sorted(missing)}"


def _example_wheel_paths(dist: Path) -> list[str]:
    """infra/envs/example's python_wheel_paths, evaluated against the build in ``dist``: the
    fileset() of *.whl under local.glue_wheels_dir, which must be dist/glue/wheels."""
    example = TfModule(EXAMPLE)
    call = example.module_calls()["glue_restore"]
    assert (
        call["python_wheel_paths"]
        == '${[for name in sort(fileset(local.glue_wheels_dir, "*.whl")) : "${local.glue_wheels_dir}/${name}"]}'
    )
    assert unquote(example.locals()["glue_wheels_dir"]) == "${local.artifacts_dir}/" + package.GLUE_WHEELS_DIR
    return sorted(p.name for p in (dist / package.GLUE_WHEELS_DIR).glob("*.whl"))


def test_build_has_the_pinned_glue_wheel(dist: Path) -> None:
    wheels = dist / package.GLUE_WHEELS_DIR
    assert sorted(p.name for p in wheels.iterdir()) == PINNED_WHEELS
    assert hashlib.sha256((wheels / PINNED_ISAL).read_bytes()).hexdigest() == PINNED_ISAL_SHA256
    assert (wheels / PINNED_ISAL).stat().st_size == 302_176
    with zipfile.ZipFile(wheels / PINNED_ISAL) as wheel:
        names = wheel.namelist()
    assert any(n.startswith("isal/") and n.endswith(".cpython-311-x86_64-linux-gnu.so") for n in names), (
        "not a CPython 3.11 x86_64 build"
    )
    sums = dict(reversed(line.split("  ", 1)) for line in (dist / "SHA256SUMS").read_text().splitlines())
    assert sums[f"{package.GLUE_WHEELS_DIR}/{PINNED_ISAL}"] == PINNED_ISAL_SHA256
    assert hashlib.sha256((wheels / PINNED_MSGSPEC).read_bytes()).hexdigest() == PINNED_MSGSPEC_SHA256
    assert sums[f"{package.GLUE_WHEELS_DIR}/{PINNED_MSGSPEC}"] == PINNED_MSGSPEC_SHA256
    with zipfile.ZipFile(wheels / PINNED_MSGSPEC) as wheel:
        assert any(n.startswith("msgspec/_core.cpython-311-x86_64-linux-gnu") for n in wheel.namelist())


def test_glue_job_installs_the_wheels_the_example_passes(dist: Path) -> None:
    wheel_names = _example_wheel_paths(dist)
    assert wheel_names == PINNED_WHEELS, "the example root must pass the wheels make package built"

    tf = next(c for c in COMPONENTS if c.glue_job).tf
    job = tf.resources("aws_glue_job")["restore"]
    wheel = tf.resources("aws_s3_object")["wheel"]
    assert wheel["for_each"] == "${local.wheel_paths}"
    assert tf.locals()["wheel_paths"] == "${{for path in var.python_wheel_paths : basename(path) => path}}"
    assert wheel["bucket"] == "${var.backup_bucket_name}" and wheel["source"] == "${each.value}"
    prefix = unquote(tf.variables()["artifacts_prefix"]["default"])
    key = unquote(wheel["key"])
    assert key == "${var.artifacts_prefix}/wheels/${each.key}", (
        "pip installs a wheel only under its own file name"
    )
    # What the job is given, evaluated for the example's wheels: one S3 URI per uploaded object.
    argument = default_arguments(tf, job)["--additional-python-modules"]
    assert isinstance(argument, Conditional) and argument.condition == "length(var.python_wheel_paths) > 0"
    assert (
        argument.value
        == 'join(",", [for wheel in aws_s3_object.wheel : "s3://${wheel.bucket}/${wheel.key}"])'
    )
    uris = ",".join(
        f"s3://example-bucket/{key.replace('${var.artifacts_prefix}', prefix).replace('${each.key}', name)}"
        for name in wheel_names
    )
    assert uris == ",".join(f"s3://example-bucket/glue-artifacts/wheels/{name}" for name in PINNED_WHEELS)
    assert "${aws_s3_object.wheel}" in job["depends_on"], (
        "the job must not start before its wheels are uploaded"
    )
    # The job's role reads the artifacts prefix, wheels included, and decrypts them.
    statements = {s.sid: s for s in policy_statements(tf, "glue")}
    assert "${var.backup_bucket_arn}/${var.artifacts_prefix}/*" in statements["ReadTheBackups"].resources
    assert "s3:GetObject" in statements["ReadTheBackups"].actions
    assert (
        wheel["kms_key_id"] == "${var.kms_key_arn}"
        and "kms:Decrypt" in statements["UseTheDeploymentKey"].actions
    )


def test_glue_wheel_is_optional(tmp_path: Path) -> None:
    """--no-glue-wheels: no wheel, no download; the example then passes an empty list."""
    out = tmp_path / "dist"
    package.build(out, glue_wheels=())
    assert not (out / package.GLUE_WHEELS_DIR).exists()
    assert _example_wheel_paths(out) == []
    assert "wheels/" not in (out / "SHA256SUMS").read_text()


def test_glue_wheel_with_a_wrong_digest_is_refused(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / PINNED_ISAL).write_bytes(b"not the wheel")
    out = tmp_path / "dist"
    with pytest.raises(package.PackageError) as error:
        package.build(out, wheel_cache=cache)
    message = str(error.value)
    assert str(cache / PINNED_ISAL) in message and PINNED_ISAL_SHA256 in message
    assert hashlib.sha256(b"not the wheel").hexdigest() in message and "delete the file" in message
    assert not out.exists()


def test_glue_wheel_download_failure_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pip with no index at all (how an offline machine looks to it) fails the build with the fixes."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    cache = tmp_path / "cache"
    with pytest.raises(package.PackageError) as error:
        package.build(tmp_path / "dist", wheel_cache=cache)
    message = str(error.value)
    assert "could not download isal==1.9.1" in message
    assert f"{cache}/" in message and "--no-glue-wheels" in message and PINNED_ISAL_SHA256 in message
    assert list(cache.iterdir()) == [], "a failed download must leave nothing in the cache"


def test_package_is_reproducible(dist: Path, tmp_path: Path) -> None:
    again = tmp_path / "dist"
    package.build(again)
    assert _digests(again) == _digests(dist)
    assert _digests(dist)[f"{package.GLUE_WHEELS_DIR}/{PINNED_ISAL}"] == PINNED_ISAL_SHA256
    with zipfile.ZipFile(dist / COMPONENTS[0].artifact) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {(i.external_attr >> 16) & 0o777 for i in infos} == {0o644}


def test_package_changes_when_a_source_changes(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    for folder in ("dynamodb_dr", "lambdas", "glue_jobs"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    package.build(root / "dist", root=root)
    before = _digests(root / "dist")
    (root / "dynamodb_dr" / "config.py").write_text(
        (root / "dynamodb_dr" / "config.py").read_text() + "\n# changed\n"
    )
    package.build(root / "dist", root=root)
    after = _digests(root / "dist")
    changed = {name for name in before if before[name] != after[name]}
    assert changed >= {c.artifact for c in COMPONENTS if c.lambda_call} | {GLUE_LIBRARY}
    glue_script = next(c for c in COMPONENTS if c.glue_job).artifact
    assert glue_script not in changed  # the Glue script itself did not change


def test_the_sdk_the_writer_is_tested_with_ships_to_glue_and_inside_the_restore_lambda(dist: Path) -> None:
    """The writer refuses a botocore outside its tested range (Glue's and Lambda's own are older):
    the pinned boto3/botocore/s3transfer go to Glue as wheels and into the Restore Lambda's zip."""
    from dynamodb_dr.restore.writer import botocore_private

    wheels = dist / package.GLUE_WHEELS_DIR
    for name, digest in PINNED_SDK.items():
        assert hashlib.sha256((wheels / name).read_bytes()).hexdigest() == digest
    low, high = botocore_private.TESTED_BOTOCORE
    shipped = tuple(int(n) for n in ["1", "44", "8"])
    assert low <= shipped < high, "the shipped botocore must be in the writer's tested range"
    with zipfile.ZipFile(dist / "lambda" / "restore.zip") as restore:
        names = set(restore.namelist())
        version = restore.read("botocore/__init__.py").decode()
    assert {"boto3/__init__.py", "botocore/__init__.py", "s3transfer/__init__.py"} <= names
    assert "__version__ = '1.44.8'" in version
    for other in ("export_backup", "export_monitor", "stream_recovery"):
        with zipfile.ZipFile(dist / "lambda" / f"{other}.zip") as archive:
            assert not any(n.startswith("botocore/") for n in archive.namelist()), other


def test_ion_exports_restore_on_glue_without_pypi(dist: Path) -> None:
    """amazon.ion (its CPython 3.11 x86_64 build) and jsonconversion, its one dependency Glue lacks."""
    wheels = dist / package.GLUE_WHEELS_DIR
    for name, digest in PINNED_ION.items():
        assert hashlib.sha256((wheels / name).read_bytes()).hexdigest() == digest
    ion = next(n for n in PINNED_ION if n.startswith("amazon_ion"))
    with zipfile.ZipFile(wheels / ion) as wheel:
        assert "amazon/_ioncmodule.so" in wheel.namelist()  # the C extension of the cp311 x86_64 build
