"""Reading infra/ with python-hcl2: resources, data sources, locals, module calls and IAM policy
documents of a module, with HCL's string quoting removed. A module called by another (the internal
modules/lambda_function) is read for one call: its variables take the values that call passes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MODULES = INFRA / "modules"
EXAMPLE = INFRA / "envs" / "example"


def tf_files() -> list[Path]:
    return sorted(INFRA.rglob("*.tf"))


@cache
def parse(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return hcl2.load(handle)


def unquote(value: Any) -> Any:
    """'"abc"' -> 'abc'; lists and dicts recursively; expressions ('${var.x}') stay as they are."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1]
    if isinstance(value, list):
        return [unquote(v) for v in value]
    if isinstance(value, dict):
        return {unquote(k): unquote(v) for k, v in value.items()}
    return value


def comments(block: dict[str, Any]) -> list[str]:
    return [c.get("value", "") for c in block.get("__comments__", []) if isinstance(c, dict)]


@dataclass(frozen=True)
class TfModule:
    path: Path

    def _blocks(self, kind: str) -> list[dict[str, Any]]:
        out = []
        for tf in sorted(self.path.glob("*.tf")):
            out.extend(parse(tf).get(kind, []))
        return out

    def resources(self, type_: str, kind: str = "resource") -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for block in self._blocks(kind):
            for rtype, named in block.items():
                if unquote(rtype) != type_:
                    continue
                for name, body in named.items():
                    found[unquote(name)] = body
        return found

    def data(self, type_: str) -> dict[str, dict[str, Any]]:
        return self.resources(type_, kind="data")

    def locals(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for block in self._blocks("locals"):
            merged.update(block)
        return merged

    def module_calls(self) -> dict[str, dict[str, Any]]:
        calls: dict[str, dict[str, Any]] = {}
        for block in self._blocks("module"):
            for name, body in block.items():
                calls[unquote(name)] = body
        return calls

    def variables(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for block in self._blocks("variable"):
            for name, body in block.items():
                out[unquote(name)] = body
        return out


def module(name: str) -> TfModule:
    return TfModule(MODULES / name)


VAR_RE = re.compile(r"^\$\{var\.(?P<name>[a-z0-9_]+)\}$")


@dataclass(frozen=True)
class ModuleCall:
    """``module "<name>" { source = ... }`` in ``caller``: the called module, and what the call passes."""

    caller: TfModule
    name: str

    @property
    def arguments(self) -> dict[str, Any]:
        calls = self.caller.module_calls()
        assert self.name in calls, f"infra/modules/{self.caller.path.name} has no module {self.name!r}"
        return calls[self.name]

    @property
    def module(self) -> TfModule:
        return TfModule((self.caller.path / unquote(self.arguments["source"])).resolve())

    def bind(self, expression: Any) -> Any:
        """``${var.x}`` of the called module -> the expression the call passes for x (in the caller's
        scope), or the variable's default when it passes none. Anything else stays as it is."""
        match = VAR_RE.match(expression) if isinstance(expression, str) else None
        if not match:
            return expression
        if match["name"] in self.arguments:
            return self.arguments[match["name"]]
        variable = self.module.variables()[match["name"]]
        assert "default" in variable, (
            f"module.{self.name} in infra/modules/{self.caller.path.name} does not set {match['name']}"
        )
        return variable["default"]

    def __str__(self) -> str:
        return f"module.{self.name} in infra/modules/{self.caller.path.name}"


REF_RE = re.compile(
    r"^\$\{(?:data\.)?(?P<type>[a-z0-9_]+)\.(?P<name>[a-z0-9_]+)(?:\[[^\]]+\])?(?:\.[a-z_]+)?\}$"
)


def reference(expression: str) -> tuple[str, str]:
    """'${aws_iam_role.export.id}' -> ('aws_iam_role', 'export'); '${module.export.function_arn}' ->
    ('module', 'export')."""
    match = REF_RE.match(expression)
    if not match:
        raise AssertionError(f"expected a plain reference like ${{aws_iam_role.x.id}}, got {expression!r}")
    return match["type"], match["name"]


@dataclass(frozen=True)
class Statement:
    sid: str
    effect: str
    actions: tuple[str, ...]
    resources: Any
    comments: tuple[str, ...]
    raw: dict[str, Any]
    where: str = ""
    """"infra/modules/<module>: <document>/<sid>", for messages."""
    scope: TfModule | None = None
    """The module whose locals and variables the resources are written with."""


# The one form of ``dynamic`` block the proof reads: present exactly when a variable is set.
OPTIONAL_BLOCK_RE = re.compile(r"^\$\{var\.(?P<name>[a-z0-9_]+) == null \? \[\] : \[var\.(?P=name)\]\}$")


def _replace(value: Any, old: str, new: Any) -> Any:
    if value == old:
        return new
    if isinstance(value, list):
        return [_replace(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _replace(v, old, new) for k, v in value.items()}
    return value


BOUND = "__bound_by_the_call__"
"""Key marking a block written with what the module's call passes (its expressions are the caller's)."""


def blocks(
    tf: TfModule, body: dict[str, Any], name: str, call: ModuleCall | None = None
) -> list[dict[str, Any]]:
    """The ``name`` blocks of a resource or data source as Terraform expands them: the literal ones, and
    those of ``dynamic "name"`` with ``for_each = var.x == null ? [] : [var.x]``, present when the call
    of the module (or, without one, the variable's default) sets x, with ``name.value`` replaced by
    the expression the call passes. Any other ``dynamic`` form fails: the proof cannot read it."""
    value = body.get(name)
    found = [value] if isinstance(value, dict) else list(value or [])
    for dynamic in body.get("dynamic", []):
        for block_name, spec in dynamic.items():
            if unquote(block_name) != name:
                continue
            match = OPTIONAL_BLOCK_RE.match(spec["for_each"])
            assert match, (
                f"infra/modules/{tf.path.name}: dynamic {name!r} must be for_each = var.x == null ? [] : [var.x] "
                f"(the proof reads only that form), got {spec['for_each']!r}"
            )
            variable = f"${{var.{match['name']}}}"
            bound = call.bind(variable) if call else tf.variables()[match["name"]].get("default")
            if bound is not None:
                content = _replace(first_block(spec, "content"), f"${{{name}.value}}", bound)
                found.append({**content, BOUND: True})
    return found


def policy_statements(tf: TfModule, document: str, call: ModuleCall | None = None) -> list[Statement]:
    """The statements written in one aws_iam_policy_document (literal and optional ``dynamic`` ones),
    for one call of the module when it is called by another."""
    doc = tf.data("aws_iam_policy_document")[document]
    out = []
    for raw in blocks(tf, doc, "statement", call):
        actions = unquote(raw.get("actions", []))
        sid = unquote(raw.get("sid", ""))
        out.append(
            Statement(
                sid=sid,
                effect=unquote(raw.get("effect", "Allow")),
                actions=tuple(actions) if isinstance(actions, list) else (actions,),
                resources=unquote(raw.get("resources", [])),
                comments=tuple(comments(raw)),
                raw=raw,
                where=f"infra/modules/{tf.path.name}: {document}/{sid or '(no sid)'}",
                scope=call.caller if call and raw.get(BOUND) else tf,
            )
        )
    return out


def role_documents(tf: TfModule, role: str) -> list[str]:
    """Names of the aws_iam_policy_document data sources attached inline to aws_iam_role.<role>."""
    docs = []
    for body in tf.resources("aws_iam_role_policy").values():
        if reference(body["role"]) == ("aws_iam_role", role):
            kind, name = reference(body["policy"])
            assert kind == "aws_iam_policy_document", (
                f"inline policy of {role} is not a policy document: {body['policy']}"
            )
            docs.append(name)
    return docs


DOCUMENT_JSON_RE = re.compile(r"^\$\{data\.aws_iam_policy_document\.(?P<name>[a-z0-9_]+)\.json\}$")


def role_policy(tf: TfModule, role: str, call: ModuleCall | None = None) -> list[Statement]:
    """Every statement of the inline policies of aws_iam_role.<role>: their documents' own statements
    and those of the documents merged in with source_policy_documents, followed through the call
    of the module (``var.policy_json`` -> the caller's ``data.aws_iam_policy_document.x.json``)."""
    statements: list[Statement] = []
    for document in role_documents(tf, role):
        statements += _document_statements(tf, document, call)
    return statements


def _document_statements(tf: TfModule, document: str, call: ModuleCall | None) -> list[Statement]:
    body = tf.data("aws_iam_policy_document")[document]
    assert "override_policy_documents" not in body and "override_json" not in body, (
        f"infra/modules/{tf.path.name}: {document} overrides statements; the proof reads only source_policy_documents"
    )
    statements = []
    for source in body.get("source_policy_documents", []):
        bound = call.bind(source) if call else source
        match = DOCUMENT_JSON_RE.match(bound) if isinstance(bound, str) else None
        assert match, (
            f"infra/modules/{tf.path.name}: {document} merges {source!r}, which is not an "
            "aws_iam_policy_document's json (the proof can only read those)"
        )
        scope = call.caller if call and bound is not source else tf
        statements += _document_statements(scope, match["name"], None)
    return statements + policy_statements(tf, document, call)


def resolve_local(tf: TfModule, value: Any) -> Any:
    """'${local.x}' -> the local's value (one level)."""
    if isinstance(value, str):
        match = re.fullmatch(r"\$\{local\.([a-z0-9_]+)\}", value)
        if match:
            return tf.locals()[match[1]]
    return value


def first_block(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = body.get(name)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    if isinstance(value, dict):
        return value
    return None


@dataclass(frozen=True)
class Conditional:
    """A default argument present only when ``condition`` holds:
    ``{ for name, value in { "k" = value } : name => value if condition }``."""

    condition: str
    value: str

    def __str__(self) -> str:
        return self.value


MERGE_LOCALS_RE = re.compile(r"\$\{merge\((?P<names>local\.[a-z0-9_]+(?:, *local\.[a-z0-9_]+)*)\)\}")
CONDITIONAL_MAP_RE = re.compile(
    r'\$\{\{for name, value in \{"(?P<key>[^"]+)" = (?P<value>.+)\} : name => value if (?P<condition>[^{}]+)\}\}'
)


def default_arguments(tf: TfModule, body: dict[str, Any]) -> dict[str, Any]:
    """A Glue job's default_arguments, unquoted: a literal map, or ``merge(local.a, local.b, ...)``
    of literal maps and one-key filtered maps (those come back as Conditional values)."""
    value = body["default_arguments"]
    if isinstance(value, dict):
        return unquote(value)
    match = MERGE_LOCALS_RE.fullmatch(value)
    assert match, f"default_arguments must be a map or merge(local.x, ...) of maps, got {value!r}"
    merged: dict[str, Any] = {}
    for name in re.split(r", *", match["names"]):
        part = tf.locals()[name.removeprefix("local.")]
        if isinstance(part, dict):
            merged.update(unquote(part))
            continue
        conditional = CONDITIONAL_MAP_RE.fullmatch(part)
        assert conditional, f"{name} must be a map or a one-key filtering for expression, got {part!r}"
        merged[conditional["key"]] = Conditional(conditional["condition"], conditional["value"])
    return merged
