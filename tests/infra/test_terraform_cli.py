"""The real Terraform CLI over infra/: `terraform fmt -check`, and for every module and the example
root `terraform init -backend=false` + `terraform validate`, then `terraform test` of the example
root (infra/envs/example/tests/*.tftest.hcl: a plan with a mocked AWS provider).

No network: the AWS provider comes from a local filesystem mirror (TF_PLUGIN_MIRROR, or a
``tf-plugins`` folder at /opt or another top-level folder, holding registry.terraform.io/hashicorp/aws).
The tests write their own CLI configuration (that mirror, and a per-user plugin cache so the
provider is not copied into every working directory) and give it to the terraform processes only.
They run on a copy of infra/ in a temporary folder, so no .terraform folder or lock file is left in
the checkout. Without terraform or the mirror they skip, saying which is missing."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from terraform_model import EXAMPLE, INFRA, MODULES

AWS_PROVIDER = Path("registry.terraform.io") / "hashicorp" / "aws"
# mock_provider's override_during (values of computed attributes already at plan) came in 1.9.
TERRAFORM_TEST_MIN_VERSION = (1, 9)
ROOTS = [*sorted(p for p in MODULES.iterdir() if p.is_dir()), EXAMPLE]


def _id(folder: Path) -> str:
    return str(folder.relative_to(INFRA))


def find_mirror() -> Path | None:
    """The filesystem mirror holding the AWS provider: TF_PLUGIN_MIRROR, else /*/tf-plugins."""
    configured = os.environ.get("TF_PLUGIN_MIRROR")
    candidates = [Path(configured)] if configured else sorted(Path("/").glob("*/tf-plugins"))
    return next((c for c in candidates if (c / AWS_PROVIDER).is_dir()), None)


@dataclass(frozen=True)
class Terraform:
    binary: str
    version: tuple[int, int, int]
    env: dict[str, str]
    copy: Path
    """A copy of infra/, where init writes .terraform and the lock files."""

    def run(self, folder: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.binary, f"-chdir={folder}", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def in_copy(self, folder: Path) -> Path:
        return self.copy / folder.relative_to(INFRA)


def _output(result: subprocess.CompletedProcess[str]) -> str:
    return (result.stdout + result.stderr)[-6000:]


@pytest.fixture(scope="session")
def terraform(tmp_path_factory: pytest.TempPathFactory) -> Terraform:
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("terraform is not on PATH: install Terraform >= 1.9 to run the Terraform CLI tests")
    mirror = find_mirror()
    if mirror is None:
        pytest.skip(
            f"no provider mirror with {AWS_PROVIDER} (set TF_PLUGIN_MIRROR or put one at /opt/tf-plugins): "
            "Terraform cannot install the AWS provider without the network"
        )
    cache = (
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dynamodb-dr" / "terraform-plugins"
    )
    cache.mkdir(parents=True, exist_ok=True)
    work = tmp_path_factory.mktemp("terraform")
    config = work / "terraform.rc"
    config.write_text(
        f'plugin_cache_dir = "{cache}"\n\n'
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f'    path    = "{mirror}"\n'
        '    include = ["registry.terraform.io/hashicorp/aws"]\n'
        "  }\n"
        "}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    env.update(TF_CLI_CONFIG_FILE=str(config), TF_IN_AUTOMATION="1", TF_INPUT="0", CHECKPOINT_DISABLE="1")
    version = subprocess.run([binary, "version"], env=env, capture_output=True, text=True, check=True)
    match = re.search(r"Terraform v(\d+)\.(\d+)\.(\d+)", version.stdout)
    assert match, f"cannot read terraform's version from {version.stdout!r}"
    copy = work / "infra"
    shutil.copytree(INFRA, copy, ignore=shutil.ignore_patterns(".terraform", ".terraform.lock.hcl"))
    return Terraform(binary, (int(match[1]), int(match[2]), int(match[3])), env, copy)


@dataclass(frozen=True)
class Steps:
    """What terraform answered in one folder (None: the step did not run)."""

    init: subprocess.CompletedProcess[str]
    validate: subprocess.CompletedProcess[str] | None
    test: subprocess.CompletedProcess[str] | None = None


def _can_run_terraform_test(terraform: Terraform) -> bool:
    return terraform.version[:2] >= TERRAFORM_TEST_MIN_VERSION


@pytest.fixture(scope="session")
def steps(terraform: Terraform) -> dict[Path, Steps]:
    """init once per folder and session, then validate, and for the example root terraform test; the
    folders two at a time (2 cores), the example first (it has the most to do). The example's init
    runs alone, before the others: it fills the plugin cache, which Terraform does not lock against
    two inits writing it at once."""

    def init(folder: Path) -> subprocess.CompletedProcess[str]:
        return terraform.run(terraform.in_copy(folder), "init", "-backend=false", "-input=false", "-no-color")

    def run(folder: Path, done: subprocess.CompletedProcess[str] | None = None) -> Steps:
        copy = terraform.in_copy(folder)
        done = done or init(folder)
        if done.returncode != 0:
            return Steps(done, None)
        validate = terraform.run(copy, "validate", "-no-color")
        if folder != EXAMPLE or not _can_run_terraform_test(terraform):
            return Steps(done, validate)
        test = terraform.run(copy, "test", "-var-file=example.tfvars", "-no-color")
        return Steps(done, validate, test)

    example_init = init(EXAMPLE)
    with ThreadPoolExecutor(max_workers=2) as pool:
        example = pool.submit(run, EXAMPLE, example_init)
        modules = pool.map(run, [r for r in ROOTS if r != EXAMPLE])
        return {
            **dict(zip([r for r in ROOTS if r != EXAMPLE], modules, strict=True)),
            EXAMPLE: example.result(),
        }


def test_terraform_fmt_check() -> None:
    """The real `terraform fmt` over all of infra/ (the .tftest.hcl files included): needs no provider."""
    binary = shutil.which("terraform")
    if binary is None:
        pytest.skip("terraform is not on PATH: install Terraform >= 1.9 to run the Terraform CLI tests")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
    result = subprocess.run(
        [binary, "fmt", "-check", "-recursive", "-diff", "-no-color", str(INFRA)],
        env={**env, "TF_CLI_CONFIG_FILE": os.devnull, "CHECKPOINT_DISABLE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (
        f"terraform fmt -check -recursive infra (fix: terraform fmt -recursive infra):\n{_output(result)}"
    )


@pytest.mark.parametrize("folder", ROOTS, ids=_id)
def test_terraform_init_and_validate(steps: dict[Path, Steps], folder: Path) -> None:
    done = steps[folder]
    assert done.init.returncode == 0, f"terraform init -backend=false in {_id(folder)}:\n{_output(done.init)}"
    assert done.validate is not None
    assert done.validate.returncode == 0, f"terraform validate in {_id(folder)}:\n{_output(done.validate)}"
    assert "Warning" not in done.validate.stdout + done.validate.stderr, (
        f"terraform validate in {_id(folder)} warns:\n{_output(done.validate)}"
    )


def test_terraform_test_plans_the_example_with_a_mocked_provider(
    terraform: Terraform, steps: dict[Path, Steps]
) -> None:
    if not _can_run_terraform_test(terraform):
        pytest.skip(
            f"terraform {'.'.join(map(str, terraform.version))} is older than "
            f"{'.'.join(map(str, TERRAFORM_TEST_MIN_VERSION))}: the tests' mock_provider needs override_during"
        )
    tests = sorted((EXAMPLE / "tests").glob("*.tftest.hcl"))
    assert tests, "infra/envs/example/tests has no .tftest.hcl"
    result = steps[EXAMPLE].test
    assert result is not None, (
        f"terraform init or validate failed in envs/example:\n{_output(steps[EXAMPLE].init)}"
    )
    assert result.returncode == 0, (
        f"terraform test -var-file=example.tfvars in envs/example:\n{_output(result)}"
    )
    runs = re.findall(r'run "([^"]+)"\.\.\. (\w+)', result.stdout)
    assert runs and all(status == "pass" for _, status in runs), result.stdout
    declared = re.findall(r'^run "([^"]+)"', "".join(t.read_text() for t in tests), flags=re.M)
    assert [name for name, _ in runs] == declared, f"not every run block ran:\n{result.stdout}"
