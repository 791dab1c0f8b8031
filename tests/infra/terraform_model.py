"""Reading infra/ with python-hcl2: resources, data sources, locals and IAM policy documents of a
module, with HCL's string quoting removed."""

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


REF_RE = re.compile(r"^\$\{(?:data\.)?(?P<type>[a-z0-9_]+)\.(?P<name>[a-z0-9_]+)(?:\.[a-z_]+)?\}$")


def reference(expression: str) -> tuple[str, str]:
    """'${aws_iam_role.export.id}' -> ('aws_iam_role', 'export')."""
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


def policy_statements(tf: TfModule, document: str) -> list[Statement]:
    doc = tf.data("aws_iam_policy_document")[document]
    out = []
    for raw in doc.get("statement", []):
        actions = unquote(raw.get("actions", []))
        out.append(
            Statement(
                sid=unquote(raw.get("sid", "")),
                effect=unquote(raw.get("effect", "Allow")),
                actions=tuple(actions) if isinstance(actions, list) else (actions,),
                resources=unquote(raw.get("resources", [])),
                comments=tuple(comments(raw)),
                raw=raw,
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
