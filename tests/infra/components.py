"""The deployable components, where their code starts, and where Terraform defines them; and the
IAM actions an AWS API operation needs (AWS's Service Authorization Reference and service guides).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from terraform_model import (
    ROOT,
    ModuleCall,
    Statement,
    TfModule,
    blocks,
    first_block,
    module,
    reference,
    role_policy,
    unquote,
)


@dataclass(frozen=True)
class Component:
    name: str
    entry: str
    """The handler or Glue script, relative to the repository root."""
    module: str
    """Terraform module under infra/modules/ that deploys it."""
    lambda_call: str | None = None
    """Lambdas: its ``module "<name>"`` call of modules/lambda_function in that module, which makes
    the function, its role, log group and Errors alarm."""
    role: str | None = None
    """The Glue job: aws_iam_role resource name in that module."""
    glue_job: str | None = None
    """aws_glue_job resource name (the Glue job)."""
    artifact: str = ""
    """Artifact under dist/ that `make package` builds for it (Lambda zip or Glue script)."""
    artifact_argument: str = ""
    """The module argument in infra/envs/example that points at the artifact."""

    @property
    def tf(self) -> TfModule:
        return module(self.module)

    @property
    def call(self) -> ModuleCall | None:
        """The lambda_function call, whose arguments give that module's variables their values."""
        return ModuleCall(self.tf, self.lambda_call) if self.lambda_call else None

    @property
    def role_module(self) -> TfModule:
        """The module holding the component's role (modules/lambda_function for a Lambda)."""
        return self.call.module if self.call else self.tf

    @property
    def role_name(self) -> str:
        if self.call:
            return only(self.role_module.resources("aws_iam_role"), "aws_iam_role", self.role_module)
        assert self.role, f"{self.name}: a component is a Lambda (lambda_call) or names its role"
        return self.role

    @property
    def function(self) -> dict[str, Any]:
        """The aws_lambda_function body (Lambdas), its variables bound with ``self.call.bind``."""
        assert self.call, f"{self.name} is not a Lambda"
        functions = self.role_module.resources("aws_lambda_function")
        return functions[only(functions, "aws_lambda_function", self.role_module)]

    def role_statements(self) -> list[Statement]:
        """Every statement of the role's inline policies, the caller's policy document included."""
        return role_policy(self.role_module, self.role_name, self.call)

    @property
    def where(self) -> str:
        if self.call:
            return (
                f"{self.call} (aws_iam_role.{self.role_name} of infra/modules/{self.role_module.path.name})"
            )
        return f"aws_iam_role.{self.role_name} in infra/modules/{self.module}"

    @property
    def entry_path(self) -> Path:
        return ROOT / self.entry


def only(found: dict[str, Any], kind: str, tf: TfModule) -> str:
    assert len(found) == 1, f"infra/modules/{tf.path.name} must hold exactly one {kind}, has {sorted(found)}"
    return next(iter(found))


COMPONENTS = (
    Component(
        name="export_backup",
        entry="lambdas/export_backup/handler.py",
        module="export_backup",
        lambda_call="export",
        artifact="lambda/export_backup.zip",
        artifact_argument="export_package_path",
    ),
    Component(
        name="export_monitor",
        entry="lambdas/export_monitor/handler.py",
        module="export_backup",
        lambda_call="monitor",
        artifact="lambda/export_monitor.zip",
        artifact_argument="monitor_package_path",
    ),
    Component(
        name="export_chain",
        entry="lambdas/export_chain/handler.py",
        module="export_backup",
        lambda_call="chain",
        artifact="lambda/export_chain.zip",
        artifact_argument="chain_package_path",
    ),
    Component(
        name="restore_job",
        entry="glue_jobs/restore_job.py",
        module="glue_restore",
        role="glue",
        glue_job="restore",
        artifact="glue/restore_job.py",
        artifact_argument="script_path",
    ),
    Component(
        name="restore_lambda",
        entry="lambdas/restore/handler.py",
        module="restore_lambda",
        lambda_call="function",
        artifact="lambda/restore.zip",
        artifact_argument="restore_package_path",
    ),
    Component(
        name="stream_recovery",
        entry="lambdas/stream_recovery/handler.py",
        module="stream_recovery",
        lambda_call="function",
        artifact="lambda/stream_recovery.zip",
        artifact_argument="package_path",
    ),
)

GLUE_LIBRARY = "glue/dynamodb_dr.zip"
GLUE_LIBRARY_ARGUMENT = "library_path"

# --- operation -> IAM actions -------------------------------------------------------------------

IAM_PREFIX = {"dynamodbstreams": "dynamodb"}

_NOT_FOUND = (
    "S3 answers a missing key with 403 instead of 404 (NoSuchKey) unless the caller may list the "
    "bucket, and the code branches on NoSuchKey"
)
_SSE_READ = "objects are SSE-KMS with the deployment's key: reading one decrypts its data key"
_SSE_WRITE = "objects are SSE-KMS with the deployment's key: writing one generates a data key"

# S3 operations are authorised by actions that are not named like them.
S3_ACTIONS: dict[str, dict[str, str]] = {
    "GetObject": {"s3:GetObject": "GetObject", "s3:ListBucket": _NOT_FOUND, "kms:Decrypt": _SSE_READ},
    "HeadObject": {"s3:GetObject": "HeadObject", "s3:ListBucket": _NOT_FOUND},
    "PutObject": {"s3:PutObject": "PutObject", "kms:GenerateDataKey": _SSE_WRITE},
    "ListObjectsV2": {"s3:ListBucket": "ListObjectsV2"},
    "ListObjects": {"s3:ListBucket": "ListObjects"},
    "DeleteObject": {"s3:DeleteObject": "DeleteObject"},
    "DeleteObjects": {"s3:DeleteObject": "DeleteObjects"},
    "CopyObject": {
        "s3:GetObject": "CopyObject source",
        "s3:PutObject": "CopyObject target",
        "kms:Decrypt": _SSE_READ,
        "kms:GenerateDataKey": _SSE_WRITE,
    },
    "CreateMultipartUpload": {
        "s3:PutObject": "multipart upload",
        "kms:GenerateDataKey": _SSE_WRITE,
        "kms:Decrypt": "SSE-KMS multipart uploads decrypt the data key per part",
    },
    "UploadPart": {
        "s3:PutObject": "multipart upload",
        "kms:GenerateDataKey": _SSE_WRITE,
        "kms:Decrypt": "SSE-KMS multipart uploads decrypt the data key per part",
    },
    "UploadPartCopy": {
        "s3:PutObject": "multipart copy",
        "s3:GetObject": "multipart copy source",
        "kms:Decrypt": _SSE_READ,
    },
    "CompleteMultipartUpload": {"s3:PutObject": "multipart upload"},
    "AbortMultipartUpload": {"s3:AbortMultipartUpload": "AbortMultipartUpload"},
}

_RESTORE_WRITES = "RestoreTableToPointInTime/RestoreTableFromBackup need item-level actions on the table they create (DynamoDB developer guide)"

# Actions an operation needs besides its own (Service Authorization Reference "dependent actions",
# or permissions the service uses on the caller's behalf).
DEPENDENT_ACTIONS: dict[tuple[str, str], dict[str, str]] = {
    ("dynamodb", "ExportTableToPointInTime"): {
        "s3:PutObject": "DynamoDB writes the export to S3 with the caller's permissions",
        "s3:PutObjectAcl": "DynamoDB writes the export to S3 with the caller's permissions",
        "s3:AbortMultipartUpload": "DynamoDB writes the export to S3 with the caller's permissions",
        "kms:GenerateDataKey": "the export is written SSE-KMS into the bucket",
        "kms:Decrypt": "SSE-KMS multipart uploads of the export",
    },
    ("dynamodb", "RestoreTableToPointInTime"): {
        f"dynamodb:{a}": _RESTORE_WRITES
        for a in ("BatchWriteItem", "DeleteItem", "GetItem", "PutItem", "Query", "Scan", "UpdateItem")
    },
    ("dynamodb", "RestoreTableFromBackup"): {
        f"dynamodb:{a}": _RESTORE_WRITES
        for a in ("BatchWriteItem", "DeleteItem", "GetItem", "PutItem", "Query", "Scan", "UpdateItem")
    },
    ("dynamodb", "ImportTable"): {
        "s3:GetObject": "DynamoDB reads the import's source objects with the caller's permissions",
        "s3:ListBucket": "DynamoDB lists the import's S3KeyPrefix with the caller's permissions",
        "kms:Decrypt": "the source objects are SSE-KMS with the deployment's key",
        **{
            f"logs:{a}": "ImportTable logs to /aws-dynamodb/* with the caller's permissions"
            for a in (
                "CreateLogGroup",
                "CreateLogStream",
                "DescribeLogGroups",
                "DescribeLogStreams",
                "PutLogEvents",
                "PutRetentionPolicy",
            )
        },
    },
    ("backup", "StartRestoreJob"): {"iam:PassRole": "StartRestoreJob passes IamRoleArn to AWS Backup"},
    # Application Auto Scaling checks that the caller may itself manage what it scales
    # (Application Auto Scaling user guide, "Permissions required for actions on target services").
    ("application-autoscaling", "RegisterScalableTarget"): {
        "dynamodb:DescribeTable": "RegisterScalableTarget checks the caller may describe the table",
        "dynamodb:UpdateTable": "RegisterScalableTarget checks the caller may update the table's capacity",
    },
    ("application-autoscaling", "PutScalingPolicy"): {
        "cloudwatch:PutMetricAlarm": "a target-tracking policy creates its alarms with the caller's permissions",
        "cloudwatch:DescribeAlarms": "a target-tracking policy creates its alarms with the caller's permissions",
        "cloudwatch:DeleteAlarms": "a target-tracking policy replaces its alarms with the caller's permissions",
    },
    ("sns", "Publish"): {
        "kms:GenerateDataKey": "the topic is encrypted with the deployment's key",
        "kms:Decrypt": "the topic is encrypted with the deployment's key",
    },
}


def operation_actions(service: str, operation: str) -> dict[str, str]:
    """IAM action -> why, for one API operation."""
    if service == "s3":
        if operation not in S3_ACTIONS:
            raise AssertionError(
                f"s3 {operation}: add the IAM actions it needs to S3_ACTIONS in tests/infra/components.py"
            )
        actions = dict(S3_ACTIONS[operation])
    else:
        actions = {f"{IAM_PREFIX.get(service, service)}:{operation}": operation}
    actions.update(DEPENDENT_ACTIONS.get((service, operation), {}))
    return actions


# --- what the platform does with the role, read from the Terraform configuration ------------------


def platform_actions(component: Component) -> dict[str, str]:
    """IAM action -> why, for what AWS does with the component's role because of how Terraform
    configures it (not calls in the code). Each is derived from the configuration, so removing the
    feature makes its grant an unused one."""
    tf = component.tf
    out: dict[str, str] = {}
    if component.call:
        call, lambda_module = component.call, component.role_module
        fn = component.function
        out["logs:CreateLogStream"] = (
            "the Lambda runtime writes the function's logs (log group created by Terraform)"
        )
        out["logs:PutLogEvents"] = "the Lambda runtime writes the function's logs"
        tracing = first_block(fn, "tracing_config")
        if tracing and unquote(tracing.get("mode")) == "Active":
            out["xray:PutTraceSegments"] = "tracing_config mode Active"
            out["xray:PutTelemetryRecords"] = "tracing_config mode Active"
        if call.bind(fn.get("kms_key_arn")) is not None:
            out["kms:Decrypt"] = (
                "environment variables encrypted with kms_key_arn are decrypted with the role"
            )
        if blocks(lambda_module, fn, "dead_letter_config", call):
            out["sqs:SendMessage"] = (
                "dead_letter_config: failed asynchronous invocations are sent with the role"
            )
        for mapping in tf.resources("aws_lambda_event_source_mapping").values():
            if reference(mapping["function_name"]) != ("module", component.lambda_call):
                continue
            if "stream_arn" in str(mapping.get("event_source_arn")):
                for action in ("DescribeStream", "GetRecords", "GetShardIterator", "ListStreams"):
                    out[f"dynamodb:{action}"] = (
                        "the event source mapping reads the DynamoDB stream with the role"
                    )
            destination = first_block(mapping, "destination_config")
            on_failure = first_block(destination, "on_failure") if destination else None
            if on_failure and "aws_s3_bucket." in str(on_failure.get("destination_arn")):
                why = "the event source mapping writes failed batches to its S3 on-failure destination with the role"
                out["s3:PutObject"] = why
                out["s3:ListBucket"] = why
                out["kms:GenerateDataKey"] = (
                    "the failure bucket is SSE-KMS: writing an object generates a data key"
                )
            elif on_failure:
                out["sqs:SendMessage"] = (
                    "the event source mapping sends failed batches to its on-failure queue with the role"
                )
    if component.glue_job:
        job = tf.resources("aws_glue_job")[component.glue_job]
        out["s3:GetObject"] = "Glue fetches the job script and --extra-py-files with the job's role"
        objects = tf.resources("aws_s3_object").values()
        if any(o.get("kms_key_id") for o in objects):
            out["kms:Decrypt"] = "the uploaded script and library are SSE-KMS"
        out["logs:CreateLogGroup"] = "Glue creates its /aws-glue/jobs/* output and error log groups"
        out["logs:CreateLogStream"] = "Glue writes the job's driver and executor logs"
        out["logs:PutLogEvents"] = "Glue writes the job's driver and executor logs"
        if job.get("security_configuration"):
            for config in tf.resources("aws_glue_security_configuration").values():
                encryption = first_block(config, "encryption_configuration") or {}
                cloudwatch = first_block(encryption, "cloudwatch_encryption") or {}
                if unquote(cloudwatch.get("cloudwatch_encryption_mode")) == "SSE-KMS":
                    out["logs:AssociateKmsKey"] = "the security configuration's SSE-KMS CloudWatch encryption"
    return out
