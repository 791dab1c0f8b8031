"""Every .tf parses (python-hcl2) and keeps `terraform fmt` style; the modules have the standard
files, typed and described variables, pinned providers; and the resources are configured the way
the issue asks (read from the parsed Terraform, not from a template)."""

from __future__ import annotations

import re
from pathlib import Path

import hcl2
import pytest
from terraform_model import (
    EXAMPLE,
    INFRA,
    MODULES,
    ROOT,
    ModuleCall,
    TfModule,
    default_arguments,
    first_block,
    module,
    parse,
    tf_files,
    unquote,
)

TF_FILES = tf_files()
MODULE_DIRS = sorted(p for p in MODULES.iterdir() if p.is_dir())


def _id(path: Path) -> str:
    return str(path.relative_to(INFRA))


def test_there_is_terraform_for_every_component() -> None:
    assert {p.name for p in MODULE_DIRS} >= {
        "backup_storage",
        "export_backup",
        "glue_restore",
        "stream_recovery",
        "aws_backup",
        "lambda_function",
    }
    assert len(TF_FILES) >= 25


@pytest.mark.parametrize("path", TF_FILES, ids=_id)
def test_tf_file_parses(path: Path) -> None:
    parsed = parse(path)
    assert parsed, f"{path} is empty"


# --- terraform fmt style, checked by hand ---------------------------------------------------------

ATTRIBUTE_RE = re.compile(r"^ *(?P<name>[A-Za-z0-9_\"-]+)(?P<space> *)=(?!=)(?P<value>.*)$")
STRING_RE = re.compile(r'"(?:[^"\\]|\\.)*"')


def _code(line: str) -> str:
    """The line without string contents and trailing comment."""
    code = STRING_RE.sub('""', line.strip())
    return "" if code.startswith("#") else code.split(" #")[0]


def _brackets(code: str) -> int:
    return sum(code.count(c) for c in "{[(") - sum(code.count(c) for c in "}])")


def fmt_problems(text: str) -> list[str]:
    """The `terraform fmt` rules this code base relies on: two-space indentation by nesting depth,
    no tabs or trailing blanks, one final newline, and `=` aligned across a run of consecutive
    one-line arguments (hclwrite's rule: a line that opens a multi-line value, a blank line, a
    comment or a block line ends the run)."""
    problems = []
    if not text.endswith("\n") or text.endswith("\n\n"):
        problems.append("the file must end with exactly one newline")
    run: list[tuple[int, re.Match[str]]] = []
    heredoc: str | None = None
    depth = 0

    def close_run() -> None:
        width = max((len(m["name"]) for _, m in run), default=0)
        for number, match in run:
            if len(match["space"]) != width - len(match["name"]) + 1:
                problems.append(
                    f"line {number}: '=' not aligned with the arguments around it (terraform fmt)"
                )
        run.clear()

    for number, line in enumerate(text.split("\n")[:-1], start=1):
        if heredoc is not None:
            if line.strip() == heredoc:
                heredoc = None
            continue
        if "\t" in line:
            problems.append(f"line {number}: tab character")
        if line != line.rstrip():
            problems.append(f"line {number}: trailing whitespace")
        code = _code(line)
        closing = code.startswith(("}", "]", ")"))
        indent = len(line) - len(line.lstrip(" "))
        expected = 2 * (depth - 1 if closing else depth)
        if line.strip() and indent != expected:
            problems.append(f"line {number}: indented {indent} spaces, expected {expected}")
        net = _brackets(code)
        depth += (net > 0) - (net < 0)  # one indentation level per line, however many brackets
        match = ATTRIBUTE_RE.match(line) if not line.strip().startswith("#") else None
        if match and _brackets(_code(match["value"])) == 0:
            run.append((number, match))
        else:
            close_run()
            if match and match["space"] != " ":
                problems.append(
                    f"line {number}: one space before '=' on a line that opens a multi-line value"
                )
        opener = re.search(r"<<-?([A-Z]+)$", code)
        if opener:
            heredoc = opener[1]
    close_run()
    return problems


@pytest.mark.parametrize("path", TF_FILES, ids=_id)
def test_tf_file_keeps_terraform_fmt_style(path: Path) -> None:
    problems = fmt_problems(path.read_text())
    assert not problems, f"{path.relative_to(ROOT)}:\n  " + "\n  ".join(problems)


def test_fmt_check_catches_misaligned_and_misindented_code() -> None:
    good = 'resource "x" "y" {\n  name    = "a"\n  runtime = "b"\n  list = [\n    1,\n  ]\n\n  tags {\n    a = 1\n  }\n}\n'
    assert fmt_problems(good) == []
    assert fmt_problems(good.replace('name    = "a"', 'name = "a"'))
    assert fmt_problems(good.replace("  list = [", "  list    = ["))
    assert fmt_problems(good.replace("    a = 1", "   a = 1"))
    assert fmt_problems(good.replace("    1,", "  1,"))
    assert fmt_problems(good + "\n")


# --- module layout --------------------------------------------------------------------------------


@pytest.mark.parametrize("folder", MODULE_DIRS, ids=lambda p: p.name)
def test_module_has_the_standard_files(folder: Path) -> None:
    names = {p.name for p in folder.glob("*.tf")}
    assert {"main.tf", "variables.tf", "outputs.tf", "versions.tf"} <= names
    tf = TfModule(folder)
    if tf.resources("aws_iam_role"):
        assert "iam.tf" in names, "a module with roles keeps them in iam.tf"
        in_iam = {unquote(k) for block in parse(folder / "iam.tf").get("resource", []) for k in block}
        assert "aws_iam_role" in in_iam


@pytest.mark.parametrize("folder", [*MODULE_DIRS, EXAMPLE], ids=lambda p: p.name)
def test_variables_are_typed_and_described_outputs_described(folder: Path) -> None:
    tf = TfModule(folder)
    for name, body in tf.variables().items():
        assert "type" in body, f"{folder.name}: variable {name} has no type"
        assert unquote(body.get("description", "")).strip(), (
            f"{folder.name}: variable {name} has no description"
        )
    for block in parse(folder / "outputs.tf").get("output", []):
        for name, body in block.items():
            assert unquote(body.get("description", "")).strip(), (
                f"{folder.name}: output {name} has no description"
            )


@pytest.mark.parametrize("folder", [*MODULE_DIRS, EXAMPLE], ids=lambda p: p.name)
def test_provider_versions_are_pinned(folder: Path) -> None:
    terraform = parse(folder / "versions.tf")["terraform"][0]
    assert unquote(terraform["required_version"]).startswith(">= 1.")
    aws = terraform["required_providers"][0]["aws"]
    assert unquote(aws["source"]) == "hashicorp/aws"
    assert re.fullmatch(r"~> 5\.\d+", unquote(aws["version"])), (
        "pin the AWS provider to a minor series, e.g. ~> 5.80"
    )


def test_example_root_is_complete_and_its_tfvars_parse() -> None:
    assert {"main.tf", "variables.tf", "outputs.tf", "versions.tf", "example.tfvars"} <= {
        p.name for p in EXAMPLE.iterdir()
    }
    with (EXAMPLE / "example.tfvars").open() as handle:
        tfvars = {k: v for k, v in unquote(hcl2.load(handle)).items() if not k.startswith("__")}
    variables = TfModule(EXAMPLE).variables()
    required = {name for name, body in variables.items() if "default" not in body}
    assert required <= set(tfvars), (
        f"example.tfvars misses required variables {sorted(required - set(tfvars))}"
    )
    assert set(tfvars) <= set(variables), (
        f"example.tfvars sets unknown variables {sorted(set(tfvars) - set(variables))}"
    )
    for name in (
        "environment",
        "table_names",
        "export_schedule",
        "retention_days",
        "glue_worker_type",
        "glue_number_of_workers",
        "protected_tables",
    ):
        assert name in variables, f"the root must expose {name}"
    # Every module is used: called by the example root, or (an internal module such as
    # lambda_function) by a module it calls.
    used, todo = set(), [EXAMPLE]
    while todo:
        folder = todo.pop()
        for call in TfModule(folder).module_calls().values():
            target = (folder / unquote(call["source"])).resolve()
            assert target.parent == MODULES, f"{folder.name} calls {call['source']}, outside infra/modules"
            if target not in used:
                used.add(target)
                todo.append(target)
    assert used == set(MODULE_DIRS)
    calls = TfModule(EXAMPLE).module_calls()
    internal = {"lambda_function"}
    assert {unquote(c["source"]) for c in calls.values()} == {
        f"../../modules/{p.name}" for p in MODULE_DIRS if p.name not in internal
    }


# --- what the issue asks of each resource -----------------------------------------------------------


def test_backup_bucket_is_hardened() -> None:
    tf = module("backup_storage")
    key = tf.resources("aws_kms_key")["this"]
    assert key["enable_key_rotation"] is True
    versioning = first_block(tf.resources("aws_s3_bucket_versioning")["backups"], "versioning_configuration")
    assert unquote(versioning["status"]) == "Enabled"
    sse = first_block(tf.resources("aws_s3_bucket_server_side_encryption_configuration")["backups"], "rule")
    default = first_block(sse, "apply_server_side_encryption_by_default")
    assert (
        unquote(default["sse_algorithm"]) == "aws:kms"
        and default["kms_master_key_id"] == "${aws_kms_key.this.arn}"
    )
    block = tf.resources("aws_s3_bucket_public_access_block")["backups"]
    assert all(
        block[k] is True
        for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )
    policy = tf.data("aws_iam_policy_document")["backups_bucket"]["statement"]
    tls = [
        s
        for s in policy
        if unquote(s.get("effect")) == "Deny"
        and unquote(first_block(s, "condition")["variable"]) == "aws:SecureTransport"
    ]
    assert tls and unquote(first_block(tls[0], "condition")["values"]) == ["false"]
    rules = tf.resources("aws_s3_bucket_lifecycle_configuration")["backups"]["rule"]
    expiry = [r for r in rules if first_block(r, "expiration")]
    assert expiry and first_block(expiry[0], "expiration")["days"] == "${var.retention_days}"
    assert unquote(first_block(expiry[0], "filter")["prefix"]) == "${local.exports_prefix}/"


def test_lambdas_have_schedules_logs_and_alarms() -> None:
    tf = module("export_backup")
    variables = tf.variables()
    assert unquote(variables["export_schedule"]["default"]).startswith("cron(")
    assert re.fullmatch(r"rate\(\d+ minutes\)", unquote(variables["monitor_schedule"]["default"]))
    rules = tf.resources("aws_cloudwatch_event_rule")
    assert {r["schedule_expression"] for r in rules.values()} == {
        "${var.export_schedule}",
        "${var.monitor_schedule}",
        '"rate(${var.incremental_export_minutes} minutes)"',
    }
    # Each Lambda's log group and Errors alarm come from modules/lambda_function.
    lambda_module = module("lambda_function")
    (group,) = lambda_module.resources("aws_cloudwatch_log_group").values()
    assert group["retention_in_days"] == "${var.log_retention_days}"
    assert unquote(group["name"]) == "/aws/lambda/${var.function_name}"
    (function,) = lambda_module.resources("aws_lambda_function").values()
    assert set(function["depends_on"]) >= {"${aws_cloudwatch_log_group.this}"}, (
        "the log group must exist before the function first logs, or Lambda creates one without retention"
    )
    (errors,) = lambda_module.resources("aws_cloudwatch_metric_alarm").values()
    assert unquote(errors["metric_name"]) == "Errors" and errors["alarm_actions"] == [
        "${var.alarm_topic_arn}"
    ]
    calls = [ModuleCall(tf, name) for name in ("export", "monitor", "chain")]
    for call in calls:
        assert call.module.path == lambda_module.path
        assert call.arguments["log_retention_days"] == "${var.log_retention_days}"
        assert call.arguments["alarm_topic_arn"] == "${aws_sns_topic.alarms.arn}", (
            f"{call}: its Errors alarm must go to the backup alarm topic"
        )
    alarms = tf.resources("aws_cloudwatch_metric_alarm")
    assert {"backup_failed", "backup_not_complete"} <= set(alarms)
    assert unquote(alarms["backup_not_complete"]["treat_missing_data"]) == "breaching"
    filters = tf.resources("aws_cloudwatch_log_metric_filter")
    assert (
        "COMPLETE" in filters["backup_complete"]["pattern"]
        and "FAILED" in filters["backup_failed"]["pattern"]
    )


def test_glue_job_is_glue_5_with_variable_workers_and_default_arguments() -> None:
    tf = module("glue_restore")
    job = tf.resources("aws_glue_job")["restore"]
    assert unquote(job["glue_version"]) == "5.0"
    assert (
        job["worker_type"] == "${var.worker_type}" and job["number_of_workers"] == "${var.number_of_workers}"
    )
    arguments = default_arguments(tf, job)
    assert {"--BACKUP_BUCKET", "--ENVIRONMENT", "--S3_EXPORTS_PREFIX", "--extra-py-files"} <= set(arguments)
    objects = tf.resources("aws_s3_object")
    assert {o["source"] for o in objects.values()} == {
        "${var.script_path}",
        "${var.library_path}",
        "${each.value}",
    }
    assert objects["wheel"]["for_each"] == "${local.wheel_paths}"
    assert "for path in var.python_wheel_paths : basename(path) => path" in tf.locals()["wheel_paths"]
    for name, body in objects.items():
        assert body["kms_key_id"] == "${var.kms_key_arn}", (
            f"aws_s3_object.{name} must be SSE-KMS with the deployment key"
        )
        assert body["source_hash"] == f"${{filemd5({body['source'][2:-1]})}}", (
            f"aws_s3_object.{name}: source_hash must follow its source"
        )


def test_aws_backup_plan_every_12_hours_kept_35_days_with_pitr_checked() -> None:
    tf = module("aws_backup")
    variables = tf.variables()
    assert unquote(variables["schedule"]["default"]) == "cron(0 */12 * * ? *)"
    assert variables["delete_after_days"]["default"] == 35
    vault = tf.resources("aws_backup_vault")["this"]
    assert vault["kms_key_arn"] == "${var.kms_key_arn}"
    rule = first_block(tf.resources("aws_backup_plan")["this"], "rule")
    assert first_block(rule, "lifecycle")["delete_after"] == "${var.delete_after_days}"
    assert tf.resources("aws_backup_selection")["tables"]["resources"]
    check = first_block(first_block(tf.data("aws_dynamodb_table")["backed_up"], "lifecycle"), "postcondition")
    assert (
        "point_in_time_recovery" in check["condition"]
        and "update-continuous-backups" in check["error_message"]
    )


def test_stream_recovery_requires_new_and_old_images() -> None:
    tf = module("stream_recovery")
    check = first_block(first_block(tf.data("aws_dynamodb_table")["protected"], "lifecycle"), "postcondition")
    assert "NEW_AND_OLD_IMAGES" in check["condition"]
    state = tf.resources("aws_dynamodb_table")["state"]
    assert (
        unquote(state["hash_key"]) == "pk"
        and unquote(first_block(state, "ttl")["attribute_name"]) == "expires_at"
    )


def test_one_name_for_each_alarm_input() -> None:
    """Every module that makes alarms names their inputs alike: alarm_topic_arn for the topic they
    publish to, alarm_emails for the addresses subscribed to a topic the module makes."""
    for folder in [*MODULE_DIRS, EXAMPLE]:
        for name in TfModule(folder).variables():
            if re.search(r"(topic|emails?)(_arns?)?$|^alert", name):
                assert name in {"alarm_topic_arn", "alarm_emails"}, (
                    f"{folder.name}: variable {name}: call it alarm_topic_arn (a topic) or alarm_emails"
                )
    for folder in MODULE_DIRS:
        tf = TfModule(folder)
        for name, alarm in tf.resources("aws_cloudwatch_metric_alarm").items():
            for action in alarm.get("alarm_actions", []):
                assert action in (
                    "${var.alarm_topic_arn}",
                    "${aws_sns_topic.alarms.arn}",
                    "${aws_sns_topic.incidents.arn}",
                ), f"{folder.name}: aws_cloudwatch_metric_alarm.{name} publishes to {action}"


@pytest.mark.parametrize("folder", MODULE_DIRS, ids=lambda p: p.name)
def test_moved_blocks_lead_from_gone_addresses_to_existing_ones(folder: Path) -> None:
    """Resources that moved into modules/lambda_function keep their state (no destroy and create of a
    role, function or log group on the next apply): each moved block's target exists, its origin
    no longer does."""
    tf = TfModule(folder)
    for block in tf._blocks("moved"):
        source = re.sub(r'\["[^"]*"\]$', "", block["from"][2:-1])
        target = block["to"][2:-1]
        kind, name = source.split(".")
        assert name not in tf.resources(kind), f"{folder.name}: moved from {source}, which still exists"
        _, call, kind, name = target.split(".")
        assert name in ModuleCall(tf, call).module.resources(kind), (
            f"{folder.name}: moved to {target}, which does not exist"
        )


def test_every_lambda_without_a_dead_letter_queue_is_invoked_synchronously() -> None:
    """What checkov's CKV_AWS_116 (skipped in modules/lambda_function, whose DLQ is the caller's
    choice) would check per function: a function invoked asynchronously keeps failed events in a
    dead-letter queue; only one invoked by an event source mapping may have none."""
    for folder in MODULE_DIRS:
        tf = TfModule(folder)
        for name, call in tf.module_calls().items():
            if not unquote(call["source"]).endswith("/lambda_function"):
                continue
            if call.get("dead_letter_queue_arn") is not None:
                continue
            mappings = [
                m
                for m in tf.resources("aws_lambda_event_source_mapping").values()
                if m["function_name"].startswith(f"${{module.{name}.")
            ]
            assert mappings, (
                f"{folder.name}: module.{name} has no dead_letter_queue_arn and no event source mapping"
            )
            assert tf.resources("aws_lambda_permission") == {} or all(
                f"module.{name}." not in str(p) for p in tf.resources("aws_lambda_permission").values()
            ), f"{folder.name}: module.{name} may be invoked asynchronously but has no dead-letter queue"
