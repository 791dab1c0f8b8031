"""Least privilege, proven against the code: each role's granted IAM actions equal, both ways, the
actions its component's code calls (found statically from its entry point, see code_calls.py)
plus what AWS does with the role because of how Terraform configures the component. Also: every
environment variable / job argument the code reads is set by Terraform, and no more.

A Lambda's role is made by modules/lambda_function, called once per Lambda: the proof reads that
module for each call (its variables bound to what the call passes), so the role's policy is the
module's own statements plus the caller's policy document, followed through ``policy_json``."""

from __future__ import annotations

import re
import textwrap
from collections import defaultdict
from pathlib import Path

import pytest
from code_calls import Analysis, AnalysisError, analyze
from components import COMPONENTS, Component, operation_actions, platform_actions
from terraform_model import (
    EXAMPLE,
    VAR_RE,
    TfModule,
    default_arguments,
    first_block,
    reference,
    resolve_local,
    role_documents,
    unquote,
)

# Actions AWS does not let a policy scope to a resource: the only ones allowed on Resource "*".
NO_RESOURCE_LEVEL = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "dynamodb:ListStreams",
    "backup:ListRecoveryPointsByResource",
    "backup:DescribeRestoreJob",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "cloudwatch:DescribeAlarms",
    "cloudwatch:PutMetricData",  # narrowed by the cloudwatch:namespace condition instead
}
ACTION_RE = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+$")

_analyses: dict[str, Analysis] = {}


def analysis_of(component: Component) -> Analysis:
    if not component.entry_path.exists():
        pytest.fail(
            f"{component.entry} does not exist: the {component.name} module in infra/ has no code to deploy"
        )
    if component.name not in _analyses:
        _analyses[component.name] = analyze(component.entry_path)
    return _analyses[component.name]


def granted_actions(component: Component) -> dict[str, list[str]]:
    granted: dict[str, list[str]] = defaultdict(list)
    statements = component.role_statements()
    assert statements, f"{component.where} has no inline policy"
    for statement in statements:
        if statement.effect == "Allow":
            for action in statement.actions:
                granted[action].append(statement.where)
    return dict(granted)


def required_actions(component: Component) -> dict[str, list[str]]:
    required: dict[str, list[str]] = defaultdict(list)
    for (service, operation), places in sorted(analysis_of(component).operations().items()):
        for action, why in operation_actions(service, operation).items():
            required[action].append(f"{service}.{operation} at {places[0]}: {why}")
    for action, why in platform_actions(component).items():
        required[action].append(f"Terraform config: {why}")
    return dict(required)


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.name)
def test_role_grants_exactly_the_actions_its_code_calls(component: Component) -> None:
    required, granted = required_actions(component), granted_actions(component)
    missing = {a: why for a, why in required.items() if a not in granted}
    unused = {a: where for a, where in granted.items() if a not in required}
    problems = [f"MISSING {a} (needed by {'; '.join(why)})" for a, why in sorted(missing.items())]
    problems += [
        f"UNUSED {a} (granted in {', '.join(where)}; no code or configured feature needs it)"
        for a, where in sorted(unused.items())
    ]
    assert not problems, f"{component.where} does not match what {component.entry} calls:\n  " + "\n  ".join(
        problems
    )


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.name)
def test_role_statements_name_exact_actions_on_narrow_resources(component: Component) -> None:
    for statement in component.role_statements():
        where = statement.where
        assert "not_actions" not in statement.raw and "not_resources" not in statement.raw, (
            f"{where}: NotAction/NotResource"
        )
        assert statement.sid, f"{where}: every statement needs a sid saying what it is for"
        for action in statement.actions:
            assert ACTION_RE.match(action), f"{where}: {action!r} is not one exact action (no wildcards)"
        resources = statement.resources
        assert resources, f"{where}: no resources"
        if isinstance(resources, list) and "*" in resources:
            assert set(statement.actions) <= NO_RESOURCE_LEVEL, (
                f"{where}: Resource '*' for {sorted(set(statement.actions) - NO_RESOURCE_LEVEL)}, which can be scoped to resources"
            )
            assert any("no resource-level permissions" in c for c in statement.comments), (
                f"{where}: Resource '*' needs a comment saying the action supports no resource-level permissions"
            )
    sids = [s.sid for s in component.role_statements()]
    assert len(sids) == len(set(sids)), (
        f"{component.where}: statement ids repeat across the merged documents: {sorted(sids)}"
    )


# Each action on the kind of resource it applies to (a wrong kind is a silent AccessDenied at run
# time): action pattern -> a regex every resource expression of its statement must match.
RESOURCE_KINDS = [
    (
        r"^s3:(GetObject|PutObject|PutObjectAcl|AbortMultipartUpload|DeleteObject)$",
        r"bucket_arn/|aws_s3_bucket\.\w+\.arn/",
    ),  # objects: <bucket ARN>/<keys>
    (r"^s3:ListBucket$", r"^var\.backup_bucket_arn$|^aws_s3_bucket\.\w+\.arn$"),  # the bucket itself
    (r"^dynamodb:DescribeExport$", r"/export/\*"),
    (r"^dynamodb:DescribeImport$", r"/import/\*"),
    (r"^dynamodb:(DescribeStream|GetRecords|GetShardIterator)$", r"/stream/\*"),
    (
        r"^dynamodb:(?!DescribeExport|DescribeImport|DescribeStream|GetRecords|GetShardIterator|ListStreams)",
        r":table/[^/]*$|aws_dynamodb_table\.\w+\.arn",
    ),
    (r"^kms:", r"kms_key_arn"),
    (r"^logs:", r"log-group|aws_cloudwatch_log_group\."),
    (r"^sqs:", r"aws_sqs_queue\."),
    (r"^sns:", r"aws_sns_topic\."),
    (r"^iam:PassRole$", r"role_arn"),
    (r"^backup:StartRestoreJob$", r":recovery-point:"),
    (r"^glue:StartJobRun$", r":glue:[^*]*:job/[^*]+$"),  # one named Glue job, never a wildcard
]


def _resource_texts(tf: TfModule, resources: object) -> list[str]:
    """Each resource expression with the module's locals substituted in place, without ${} and quotes."""
    out = []
    for item in resources if isinstance(resources, list) else [resources]:
        text = str(item)
        for _ in range(5):
            text = re.sub(r"local\.([a-z0-9_]+)", lambda m: str(tf.locals()[m[1]]), text)
        out.append(re.sub(r'\$\{|\}|"', "", text))  # "${var.a}/${t}" -> var.a/t
    return out


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.name)
def test_each_action_is_granted_on_its_kind_of_resource(component: Component) -> None:
    for statement in component.role_statements():
        texts = [t for t in _resource_texts(statement.scope, statement.resources) if t != "*"]
        for action in statement.actions:
            for action_pattern, resource_pattern in RESOURCE_KINDS:
                if re.search(action_pattern, action):
                    wrong = [t for t in texts if not re.search(resource_pattern, t)]
                    assert not wrong, (
                        f"{statement.where}: {action} on {wrong}, which is not its kind of resource"
                    )


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.name)
def test_role_has_no_managed_or_other_policies(component: Component) -> None:
    tf = component.role_module
    role = tf.resources("aws_iam_role")[component.role_name]
    assert "managed_policy_arns" not in role and "inline_policy" not in role
    for name, attachment in tf.resources("aws_iam_role_policy_attachment").items():
        assert reference(attachment["role"])[1] != component.role_name, (
            f"aws_iam_role_policy_attachment.{name} bypasses the proof"
        )
    if component.call:
        # Nothing outside the module attaches to the role it makes (its outputs name the role).
        caller = component.tf
        for kind in ("aws_iam_role_policy", "aws_iam_role_policy_attachment", "aws_iam_policy_attachment"):
            for name, body in caller.resources(kind).items():
                assert f"module.{component.lambda_call}." not in str(body), (
                    f"{kind}.{name} in infra/modules/{component.module} adds to {component.where}: it bypasses the proof"
                )


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.name)
def test_the_proven_role_is_the_one_that_runs_the_code(component: Component) -> None:
    """The role the proof reads is the one the function or job runs with, and its policies are the
    ones the proof reads: one inline policy per document, nothing else."""
    tf = component.role_module
    if component.call:
        assert reference(component.function["role"]) == ("aws_iam_role", component.role_name)
    else:
        job = tf.resources("aws_glue_job")[component.glue_job]
        assert reference(job["role_arn"]) == ("aws_iam_role", component.role_name)
    assert role_documents(tf, component.role_name), f"{component.where} has no inline policy"


LAMBDAS = [c for c in COMPONENTS if c.lambda_call]

# Environment variables a Lambda's code reads that are not configuration: switches left unset in
# every deployment, so Terraform must not set them (each with the reason).
DIAGNOSTIC_ENV = {
    "DYNAMODB_DR_INFLATE": "dynamodb_dr/restore/inflate.py (Restore Lambda): =zlib forces zlib to compare engines",
}


@pytest.mark.parametrize("component", LAMBDAS, ids=lambda c: c.name)
def test_lambda_environment_is_exactly_what_the_code_reads(component: Component) -> None:
    call = component.call
    assert call
    environment = first_block(component.function, "environment")
    assert environment is not None, f"{component.where}: the function sets no environment"
    assert VAR_RE.match(environment["variables"]), (
        f"modules/{call.module.path.name} must pass the caller's environment variables through unchanged"
    )
    variables = resolve_local(component.tf, call.bind(environment["variables"]))
    assert isinstance(variables, dict), (
        f"environment variables must be a literal map or a local holding one, got {variables!r}"
    )
    set_by_terraform = set(variables)
    read_by_code = {
        name: where for name, where in analysis_of(component).env_reads.items() if name not in DIAGNOSTIC_ENV
    }
    assert read_by_code, f"the analysis found no environment variable read by {component.entry}: it is broken"
    not_set = {name: where for name, where in read_by_code.items() if name not in set_by_terraform}
    not_read = set_by_terraform - set(read_by_code)
    assert not not_set, f"{component.entry} reads environment variables Terraform does not set: {not_set}"
    assert not not_read, (
        f"Terraform sets environment variables {component.entry} never reads (typo?): {sorted(not_read)}"
    )


def test_the_restore_lambda_may_start_only_the_glue_job_it_hands_restores_to() -> None:
    """glue:StartJobRun is granted on exactly the job whose name the function reads from
    RESTORE_GLUE_JOB_NAME, so a hand-off can start that job and no other."""
    component = next(c for c in COMPONENTS if c.name == "restore_lambda")
    call = component.call
    assert call
    environment = resolve_local(
        component.tf, call.bind(first_block(component.function, "environment")["variables"])
    )
    job_name = re.sub(r'\$\{|\}|"', "", str(environment["RESTORE_GLUE_JOB_NAME"]))
    granted = [
        text
        for statement in component.role_statements()
        if "glue:StartJobRun" in statement.actions
        for text in _resource_texts(statement.scope, statement.resources)
    ]
    assert granted and all(re.search(rf":glue:[^*]*:job/{re.escape(job_name)}$", t) for t in granted), granted


# Environment variables the Glue job's code reads that are not configuration: switches left unset
# in every deployment, so Terraform must not set them (each with the reason).
GLUE_DIAGNOSTIC_ENV = {
    "DYNAMODB_DR_INFLATE": "dynamodb_dr/restore/inflate.py: =zlib forces zlib to compare engines; unset, the job uses the isal wheel",
    "PYSPARK_PYTHON": "glue_jobs/restore_job.py: set (not read) for local runs only, where no awsglue is importable",
    "PYSPARK_DRIVER_PYTHON": "glue_jobs/restore_job.py: set (not read) for local runs only, where no awsglue is importable",
}


def test_glue_job_arguments_are_the_ones_the_job_reads() -> None:
    from dynamodb_dr.restore import args as restore_args

    component = next(c for c in COMPONENTS if c.glue_job)
    job = component.tf.resources("aws_glue_job")[component.glue_job]
    defaults = default_arguments(component.tf, job)
    # Glue's own special parameters are hyphenated (--extra-py-files, --job-language ...).
    project = {k: v for k, v in defaults.items() if "-" not in k[2:]}
    assert "--backup_date" not in project, (
        "--backup_date must be given per run (aws glue start-job-run --arguments)"
    )
    known = {f"--{name}" for name in restore_args.KNOWN}
    assert set(project) <= known, f"default arguments the job does not know: {sorted(set(project) - known)}"

    placeholders = {
        "--BACKUP_BUCKET": "tf-placeholder-bucket",
        "--ENVIRONMENT": "tf-placeholder-env",
        "--S3_EXPORTS_PREFIX": "tf-placeholder-prefix",
    }
    argv = ["--JOB_NAME", "restore", "--backup_date", "latest"]
    for key, value in defaults.items():
        argv += [key, placeholders.get(key, str(value))]
    parsed = restore_args.parse_args(argv, env={})
    assert (parsed.backup_bucket, parsed.environment, parsed.exports_prefix) == (
        "tf-placeholder-bucket",
        "tf-placeholder-env",
        "tf-placeholder-prefix",
    ), "the job did not take bucket/environment/prefix from the arguments Terraform sets"
    for name in analysis_of(component).env_reads:
        if name in GLUE_DIAGNOSTIC_ENV:
            continue
        assert f"--{name}" in project, (
            f"the job falls back to environment variable {name}; Terraform must set --{name}"
        )


def test_stream_recovery_actions_and_wiring_match_the_code() -> None:
    from dynamodb_dr.stream_recovery.config import Action

    tf = TfModule(EXAMPLE.parents[1] / "modules" / "stream_recovery")
    conditions = " ".join(v["condition"] for v in tf.variables()["protected_tables"]["validation"])
    listed = re.search(r"contains\(\[([^\]]*)\]", conditions)
    assert listed, "protected_tables must validate the recovery action"
    assert {a.strip().strip('"') for a in listed[1].split(",")} == {a.value for a in Action}

    mapping = tf.resources("aws_lambda_event_source_mapping")["stream"]
    assert unquote(mapping["function_response_types"]) == ["ReportBatchItemFailures"]
    assert mapping["bisect_batch_on_function_error"] is True
    assert mapping["maximum_retry_attempts"] and mapping["maximum_record_age_in_seconds"]
    assert (
        first_block(first_block(mapping, "destination_config"), "on_failure")["destination_arn"]
        == "${aws_s3_bucket.failures.arn}"
    ), "only an S3 on-failure destination keeps the records of a failed batch (SQS/SNS: metadata only)"
    rules = tf.resources("aws_cloudwatch_event_rule")
    assert rules["followup"]["schedule_expression"] == "${var.followup_schedule}", (
        "the scheduled follow-up finishes restores on tables that get no more records"
    )
    alarms = {unquote(a["metric_name"]) for a in tf.resources("aws_cloudwatch_metric_alarm").values()}
    from dynamodb_dr.stream_recovery.processor import METRICS_NAMESPACE, RECORD_FAILURES_METRIC, SERVICE

    assert {"IteratorAge", "Throttles", RECORD_FAILURES_METRIC} <= alarms
    failures_alarm = tf.resources("aws_cloudwatch_metric_alarm")["record_failures"]
    assert unquote(failures_alarm["namespace"]) == METRICS_NAMESPACE
    assert unquote(failures_alarm["dimensions"]) == {"service": SERVICE}
    assert first_block(mapping, "filter_criteria")
    reached = analysis_of(next(c for c in COMPONENTS if c.name == "stream_recovery")).modules
    sources = " ".join(Path(p).read_text() for p in _module_paths(reached))
    assert "batchItemFailures" in sources, (
        "ReportBatchItemFailures is on, but the code never returns batchItemFailures"
    )


def _module_paths(modules: list[str]) -> list[Path]:
    from terraform_model import ROOT

    out = []
    for name in modules:
        base = ROOT.joinpath(*name.split("."))
        out.append(base / "__init__.py" if base.is_dir() else base.with_suffix(".py"))
    return out


# --- the analysis itself can fail -----------------------------------------------------------------


def _entry(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "handler.py"
    path.write_text(textwrap.dedent(source))
    return path


def test_analysis_finds_calls_paginators_waiters_and_dynamic_operations(tmp_path: Path) -> None:
    entry = _entry(
        tmp_path,
        """
        from dynamodb_dr.clients import make_client

        def lambda_handler(event, context):
            s3 = make_client("s3")
            table_store = make_client("dynamodb")
            s3.delete_object(Bucket="b", Key="k")
            s3.get_paginator("list_objects_v2").paginate(Bucket="b")
            table_store.get_waiter("table_not_exists").wait(TableName="t")
            operation = "put_item" if event else "delete_item"
            getattr(table_store, operation)(TableName="t")
            send_signed({"X-Amz-Target": "DynamoDB_20120810.BatchWriteItem"})

        def send_signed(headers):
            pass
        """,
    )
    found = set(analyze(entry).operations())
    assert found == {
        ("dynamodb", "BatchWriteItem"),
        ("s3", "DeleteObject"),
        ("s3", "ListObjectsV2"),
        ("dynamodb", "DescribeTable"),
        ("dynamodb", "PutItem"),
        ("dynamodb", "DeleteItem"),
    }


def test_analysis_refuses_a_call_it_cannot_attribute(tmp_path: Path) -> None:
    entry = _entry(
        tmp_path,
        """
        from dynamodb_dr.clients import make_client

        def lambda_handler(event, context):
            thing = make_client("sns") if event else make_client("sqs")
            helper(make_client("backup"), make_client("dynamodb"))

        def helper(a, b):
            b.tag_resource(ResourceArn="x", Tags=[])
        """,
    )
    with pytest.raises(AnalysisError, match="tag_resource"):
        analyze(entry)


def test_analysis_follows_imports_only_to_code_that_is_used(tmp_path: Path) -> None:
    # manifest.py also has list_backup_dates (ListObjectsV2); only read_manifest is used here.
    entry = _entry(
        tmp_path,
        """
        from dynamodb_dr.clients import make_client
        from dynamodb_dr.backup_manifest import read_manifest

        def lambda_handler(event, context):
            return read_manifest(make_client("s3"), "bucket", "prefix", "2026-01-01")
        """,
    )
    assert set(analyze(entry).operations()) == {("s3", "GetObject")}


def test_example_values_are_accepted_by_the_code() -> None:
    """What example.tfvars sets reaches the Lambdas in a form their settings parsers accept."""
    import json

    import hcl2

    from dynamodb_dr.config import parse_table_list
    from dynamodb_dr.stream_recovery.config import parse_protected_tables

    export = TfModule(EXAMPLE.parents[1] / "modules" / "export_backup")
    assert export.locals()["environment_variables"]["DYNAMODB_TABLES"] == "${jsonencode(var.table_names)}"
    assert export.variables()["table_names"]["type"] == "${list(string)}"
    stream = TfModule(EXAMPLE.parents[1] / "modules" / "stream_recovery")
    shape = stream.locals()["protected_tables_json"]
    for key in (
        "action",
        "protected_attributes",
        "burst_threshold",
        "burst_factor",
        "user_deletes_are_incidents",
        "home_region",
        "dry_run",
    ):
        assert f"{key} = " in re.sub(r"\s+=", " =", shape), f"PROTECTED_TABLES no longer carries {key}"

    with (EXAMPLE / "example.tfvars").open() as handle:
        tfvars = unquote(hcl2.load(handle))
    assert parse_table_list(json.dumps(tfvars["table_names"]), source="DYNAMODB_TABLES") == tuple(
        tfvars["table_names"]
    )
    # The JSON the stream_recovery module's local builds from these values (optional fields defaulted
    # as the variable's type does, burst_threshold from the module's default).
    default_threshold = stream.variables()["burst_threshold"]["default"]
    protected = {
        table: {
            "action": policy["action"],
            "protected_attributes": policy.get("protected_attributes", []),
            "burst_threshold": policy.get("burst_threshold") or default_threshold,
            "burst_factor": policy.get("burst_factor") or stream.variables()["burst_factor"]["default"],
            "user_deletes_are_incidents": policy.get("user_deletes_are_incidents", True),
            "home_region": policy.get("home_region"),
            "dry_run": policy.get("dry_run", False),
        }
        for table, policy in tfvars["protected_tables"].items()
    }
    parsed = parse_protected_tables(json.dumps(protected), default_threshold)
    assert set(parsed) == set(tfvars["protected_tables"])


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.name)
def test_clients_come_only_from_the_factory(component: Component) -> None:
    """The proof sees clients through make_client("<service>"); a client built elsewhere (boto3.client,
    a boto3 resource, session.client) would be invisible to it."""
    import ast

    offenders = []
    for path in [component.entry_path, *_module_paths(analysis_of(component).modules)]:
        if path.as_posix().endswith("dynamodb_dr/clients.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("client", "resource")
            ):
                offenders.append(f"{path.name}:{node.lineno} {ast.unparse(node.func)}(...)")
    assert not offenders, "build clients with dynamodb_dr.clients.make_client only: " + ", ".join(offenders)
