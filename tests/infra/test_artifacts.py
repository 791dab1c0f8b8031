"""`make package` builds what Terraform deploys: every path Terraform names exists in the build,
handlers and scripts are where Terraform says, every module a component imports is inside its
artifact, and the build is reproducible (same sources -> same bytes; changed source -> new bytes)."""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from code_calls import analyze
from components import COMPONENTS, GLUE_LIBRARY, GLUE_LIBRARY_ARGUMENT, Component
from terraform_model import EXAMPLE, ROOT, TfModule, unquote


def _load_package_script():
    spec = importlib.util.spec_from_file_location("package_script", ROOT / "scripts" / "package.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


package = _load_package_script()


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("build") / "dist"
    package.build(out)
    return out


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


def artifact_paths() -> dict[str, str]:
    """Module argument -> path under dist/ that infra/envs/example passes to it."""
    out = {}
    for name, call in TfModule(EXAMPLE).module_calls().items():
        for argument, value in call.items():
            if argument.endswith("_path"):
                match = re.fullmatch(r"\$\{local\.artifacts_dir\}/(.+)", unquote(value))
                assert match, f"module.{name}.{argument} = {value}: artifacts must come from local.artifacts_dir"
                out[argument] = match[1]
    return out


def test_every_artifact_terraform_names_is_built(dist: Path) -> None:
    paths = artifact_paths()
    assert paths, "the example root passes no artifact to any module"
    for argument, relative in paths.items():
        assert (dist / relative).is_file(), f"Terraform's {argument} points at dist/{relative}, which make package does not build"
    for component in COMPONENTS:
        assert paths[component.artifact_argument] == component.artifact, f"{component.name} is deployed from the wrong artifact"
    assert paths[GLUE_LIBRARY_ARGUMENT] == GLUE_LIBRARY
    local = unquote(TfModule(EXAMPLE).locals()["artifacts_dir"])
    assert "../../../dist" in local, "the default artifacts_dir must be the repository's dist/ (make package's output)"


def _module_files(component: Component) -> set[str]:
    files = set()
    for name in analyze(component.entry_path).modules:
        base = ROOT.joinpath(*name.split("."))
        path = base / "__init__.py" if base.is_dir() else base.with_suffix(".py")
        files.add(path.relative_to(ROOT).as_posix())
    return files


@pytest.mark.parametrize("component", [c for c in COMPONENTS if c.function], ids=lambda c: c.name)
def test_lambda_zip_has_the_handler_terraform_names_and_every_module_it_imports(dist: Path, component: Component) -> None:
    function = component.tf.resources("aws_lambda_function")[component.function]
    handler = unquote(function["handler"])
    module_name, _, function_name = handler.rpartition(".")
    with zipfile.ZipFile(dist / component.artifact) as archive:
        names = set(archive.namelist())
        handler_file = module_name.replace(".", "/") + ".py"
        assert handler_file in names, f"handler {handler}: {handler_file} is not in {component.artifact}"
        tree = ast.parse(archive.read(handler_file))
        assert function_name in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}, f"{handler_file} has no {function_name}"
        assert archive.read(handler_file) == component.entry_path.read_bytes()
        missing = _module_files(component) - names
        assert not missing, f"{component.artifact} lacks modules its handler imports: {sorted(missing)}"
        assert not [n for n in names if n.startswith(("local_aws/", "tests/")) or "__pycache__" in n or n.endswith(".pyc")]


def test_glue_script_and_library_are_where_the_job_looks(dist: Path) -> None:
    component = next(c for c in COMPONENTS if c.glue_job)
    tf = component.tf
    job = tf.resources("aws_glue_job")[component.glue_job]
    locals_ = {k: unquote(v) for k, v in tf.locals().items()}
    script_key = locals_["script_key"].replace("${var.artifacts_prefix}", unquote(tf.variables()["artifacts_prefix"]["default"]))
    assert job["command"][0]["script_location"] == "${local.script_uri}" and locals_["script_uri"].endswith("/${local.script_key}")
    assert script_key.rpartition("/")[2] == Path(component.artifact).name
    assert unquote(job["default_arguments"])["--extra-py-files"] == "${local.library_uri}"
    assert locals_["library_key"].rpartition("/")[2] == Path(GLUE_LIBRARY).name
    objects = tf.resources("aws_s3_object")
    assert objects["script"]["key"] == "${local.script_key}" and objects["library"]["key"] == "${local.library_key}"

    assert (dist / component.artifact).read_bytes() == component.entry_path.read_bytes()
    tree = ast.parse(component.entry_path.read_text())
    assert "main" in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    with zipfile.ZipFile(dist / GLUE_LIBRARY) as archive:
        names = set(archive.namelist())
    missing = _module_files(component) - names
    assert not missing, f"{GLUE_LIBRARY} lacks modules the Glue script imports: {sorted(missing)}"


def test_package_is_reproducible(dist: Path, tmp_path: Path) -> None:
    again = tmp_path / "dist"
    package.build(again)
    assert _digests(again) == _digests(dist)
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
    (root / "dynamodb_dr" / "config.py").write_text((root / "dynamodb_dr" / "config.py").read_text() + "\n# changed\n")
    package.build(root / "dist", root=root)
    after = _digests(root / "dist")
    changed = {name for name in before if before[name] != after[name]}
    assert changed >= {c.artifact for c in COMPONENTS if c.function} | {GLUE_LIBRARY}
    glue_script = next(c for c in COMPONENTS if c.glue_job).artifact
    assert glue_script not in changed  # the Glue script itself did not change
