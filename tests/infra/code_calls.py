"""What a component's code does with AWS, found statically from its entry point.

How calls are attributed to a component
    Start at the entry file (a Lambda's handler.py, the Glue script) and follow what it references:
    a name or ``module.attr`` that resolves (through ``import``/``from ... import``, re-exports in
    ``__init__`` files and relative imports) to a top-level function or class of a project module
    makes that function or class reachable; importing a module makes its module-level code
    reachable. Only reachable code counts, so a library function no component calls grants nothing.
    A reachable class counts whole (all its methods).

How a client's service is known (in this order; the first that answers wins)
    1. The receiver is bound in the same module to ``make_client("<service>")`` (assignment,
       ``self.x = make_client(...)`` or keyword ``x=make_client(...)``), or annotated with a
       mypy-boto3 client type (``S3Client``, ``DynamoDBClient`` ...).
    2. The receiver's name (``s3``, ``self.dynamodb``, ``clients.backup``, ``streams``, ``sns`` ...,
       a ``_client`` suffix and leading underscores ignored) follows the project's naming
       convention in ``CONVENTION``.
    3. The method is defined by a project class (a project method, not an AWS call): ignored.
    4. The method is an operation of exactly one of the services this component creates clients
       for (``make_client("...")`` literals in its reachable code).
    Anything else that looks like an AWS operation fails the analysis with the place and the fix,
    so an unattributed call can never pass silently.

Paginators and waiters count as the operation they call (botocore's paginator and waiter models).
``getattr(client, name)`` counts as the operations named by string literals in that module. A
request the code signs and sends itself is found by its ``X-Amz-Target`` string literal
(``"DynamoDB_20120810.BatchWriteItem"``), mapped to its service by botocore's ``targetPrefix``.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import botocore.session
from botocore import xform_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = ("dynamodb_dr",)

# Services a client of this project may be created for (the universe of "looks like an AWS call").
SERVICES = (
    "s3",
    "dynamodb",
    "dynamodbstreams",
    "sns",
    "sqs",
    "backup",
    "glue",
    "sts",
    "cloudwatch",
    "kms",
    "iam",
    "lambda",
    "logs",
    "events",
    "application-autoscaling",
)

CONVENTION = {
    "s3": "s3",
    "dynamodb": "dynamodb",
    "ddb": "dynamodb",
    "streams": "dynamodbstreams",
    "dynamodbstreams": "dynamodbstreams",
    "sns": "sns",
    "sqs": "sqs",
    "backup": "backup",
    "glue": "glue",
    "sts": "sts",
    "cloudwatch": "cloudwatch",
    "kms": "kms",
    "autoscaling": "application-autoscaling",
}

MYPY_BOTO3_TYPES = {
    "S3Client": "s3",
    "DynamoDBClient": "dynamodb",
    "DynamoDBStreamsClient": "dynamodbstreams",
    "SNSClient": "sns",
    "SQSClient": "sqs",
    "BackupClient": "backup",
    "GlueClient": "glue",
    "STSClient": "sts",
    "CloudWatchClient": "cloudwatch",
    "KMSClient": "kms",
    "ApplicationAutoScalingClient": "application-autoscaling",
}

# boto3's S3 transfer helpers (not in the service model) and the operations they call.
S3_TRANSFER_METHODS = {
    "upload_file": (
        "PutObject",
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
        "AbortMultipartUpload",
    ),
    "upload_fileobj": (
        "PutObject",
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
        "AbortMultipartUpload",
    ),
    "download_file": ("HeadObject", "GetObject"),
    "download_fileobj": ("HeadObject", "GetObject"),
    "copy": (
        "HeadObject",
        "CopyObject",
        "CreateMultipartUpload",
        "UploadPartCopy",
        "CompleteMultipartUpload",
    ),
}

ENV_RECEIVERS = {"env", "environ", "os.environ"}


class AnalysisError(AssertionError):
    """The code does something the analysis cannot attribute; the message says where and how to fix it."""


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def operations(service: str) -> dict[str, str]:
    """snake_case method name -> API operation name."""
    model = _session().get_service_model(service)
    return {xform_name(op): op for op in model.operation_names}


@cache
def _op_owners() -> dict[str, tuple[str, ...]]:
    owners: dict[str, list[str]] = defaultdict(list)
    for service in SERVICES:
        for method in operations(service):
            owners[method].append(service)
    return {m: tuple(s) for m, s in owners.items()}


def paginator_operation(service: str, name: str) -> str:
    ops = operations(service)
    if name not in ops:
        raise AnalysisError(f"get_paginator({name!r}) names no operation of {service}")
    return ops[name]


def waiter_operation(service: str, name: str) -> str:
    model = _session().get_waiter_model(service)
    camel = "".join(part.capitalize() for part in name.split("_"))
    for waiter_name in model.waiter_names:
        if waiter_name == camel or xform_name(waiter_name) == name:
            return model.get_waiter(waiter_name).operation
    raise AnalysisError(f"get_waiter({name!r}) names no waiter of {service}")


# --- modules ------------------------------------------------------------------------------------


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    """local name -> (module, attribute or None for the module itself)."""
    defs: dict[str, ast.AST] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)

    @property
    def package(self) -> str:
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]


class Project:
    """Project modules by dotted name; the entry's own folder is importable by bare name."""

    def __init__(self, entry: Path) -> None:
        self.entry = entry.resolve()
        self.extra_root = self.entry.parent
        self.modules: dict[str, Module] = {}

    def locate(self, dotted: str) -> Path | None:
        if not dotted:
            return None
        parts = dotted.split(".")
        roots = [ROOT] if parts[0] in PROJECT_PACKAGES else [self.extra_root]
        for root in roots:
            base = root.joinpath(*parts)
            for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                if candidate.is_file():
                    return candidate
        return None

    def load(self, dotted: str, path: Path | None = None) -> Module | None:
        if dotted in self.modules:
            return self.modules[dotted]
        path = path or self.locate(dotted)
        if path is None:
            return None
        tree = ast.parse(path.read_text(), filename=str(path))
        module = Module(dotted, path, tree)
        self.modules[dotted] = module
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                module.defs[node.name] = node
            elif (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        module.constants[target.id] = node.value.value
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        module.imports[alias.asname] = (alias.name, None)
                    else:
                        top = alias.name.split(".")[0]
                        module.imports[top] = (top, None)
            elif isinstance(node, ast.ImportFrom):
                base = self._absolute(module, node)
                for alias in node.names:
                    module.imports[alias.asname or alias.name] = (base, alias.name)
        return module

    @staticmethod
    def _absolute(module: Module, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        package = module.package.split(".")
        base = package[: len(package) - (node.level - 1)]
        return ".".join([*base, *([node.module] if node.module else [])])

    def is_project(self, dotted: str) -> bool:
        return self.locate(dotted) is not None


# --- reachability -------------------------------------------------------------------------------

Unit = tuple[str, str | None]  # (module, top-level name) or (module, None) = module-level code


@dataclass
class Reach:
    project: Project
    units: set[Unit] = field(default_factory=set)
    _todo: list[Unit] = field(default_factory=list)

    def add_module(self, dotted: str) -> Module | None:
        parts = dotted.split(".")
        module = None
        for i in range(1, len(parts) + 1):  # importing a.b.c runs a/__init__ and a/b/__init__ first
            module = self.project.load(".".join(parts[:i]))
            if module is not None:
                self._add((module.name, None))
        return module

    def _add(self, unit: Unit) -> None:
        if unit not in self.units:
            self.units.add(unit)
            self._todo.append(unit)

    def resolve(self, module: Module, name: str, depth: int = 0) -> tuple[str, Module | None, str | None]:
        """('unit', module, name) | ('module', module, None) | ('none', None, None)."""
        if depth > 20:
            return ("none", None, None)
        if name in module.defs:
            return ("unit", module, name)
        if name in module.imports:
            target, attr = module.imports[name]
            if attr is None:
                loaded = self.add_module(target) if self.project.is_project(target) else None
                return ("module", loaded, None) if loaded else ("none", None, None)
            if not self.project.is_project(target) and not self.project.is_project(f"{target}.{attr}"):
                return ("none", None, None)
            submodule = f"{target}.{attr}"
            if self.project.is_project(submodule) and (
                self.project.load(target) is None or attr not in self.project.load(target).defs
            ):
                loaded = self.add_module(submodule)
                return ("module", loaded, None) if loaded else ("none", None, None)
            source = self.add_module(target)
            return self.resolve(source, attr, depth + 1) if source else ("none", None, None)
        submodule = f"{module.name}.{name}" if module.path.name == "__init__.py" else None
        if submodule and self.project.is_project(submodule):
            loaded = self.add_module(submodule)
            return ("module", loaded, None)
        return ("none", None, None)

    def _use(self, module: Module, node: ast.AST) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                kind, target, name = self.resolve(module, sub.id)
                if kind == "unit":
                    self._add((target.name, name))
            elif isinstance(sub, ast.Attribute):
                chain = _dotted(sub)
                if chain is None:
                    continue
                head, *rest = chain.split(".")
                kind, target, _ = self.resolve(module, head)
                for attr in rest:
                    if kind != "module" or target is None:
                        break
                    kind, target, name = self.resolve(target, attr)
                    if kind == "unit":
                        self._add((target.name, name))

    def run(self) -> None:
        while self._todo:
            module_name, name = self._todo.pop()
            module = self.project.modules[module_name]
            if name is None:
                for node in module.tree.body:
                    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                        self._use(module, node)
                    else:  # decorators and base classes run at import time
                        for part in [*node.decorator_list, *getattr(node, "bases", [])]:
                            self._use(module, part)
            else:
                self._use(module, module.defs[name])

    def nodes(self) -> list[tuple[Module, ast.AST]]:
        out = []
        for module_name, name in sorted(self.units, key=lambda u: (u[0], u[1] or "")):
            module = self.project.modules[module_name]
            if name is None:
                out.extend(
                    (module, n)
                    for n in module.tree.body
                    if not isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                )
            else:
                out.append((module, module.defs[name]))
        return out


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _leaf(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        name = node.id
    elif isinstance(node, ast.Attribute):
        name = node.attr
    else:
        return None
    name = name.lstrip("_")
    return name[: -len("_client")] if name.endswith("_client") else name


# --- the analysis -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    where: str  # path:line


@dataclass
class Analysis:
    entry: Path
    modules: list[str]
    """Project modules the entry imports (dotted names), for the artifact check."""
    calls: list[Call]
    env_reads: dict[str, str]
    """Environment variable name -> where it is read."""
    services: set[str]

    def operations(self) -> dict[tuple[str, str], list[str]]:
        out: dict[tuple[str, str], list[str]] = defaultdict(list)
        for call in self.calls:
            out[(call.service, call.operation)].append(call.where)
        return dict(out)


def _make_client_service(node: ast.AST) -> str | None:
    func = node.func if isinstance(node, ast.Call) else None
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    if name == "make_client" and node.args:
        first = node.args[0]
        if isinstance(first, ast.Constant) and isinstance(first.value, str):
            return first.value
    if isinstance(node, ast.IfExp):  # x = make_client("sns") if ... else None
        return _make_client_service(node.body) or _make_client_service(node.orelse)
    return None


def _annotation_service(node: ast.AST | None) -> str | None:
    if node is None:
        return None
    text = ast.unparse(node)
    for type_name, service in MYPY_BOTO3_TYPES.items():
        if type_name in text:
            return service
    return None


def _bindings(module: Module) -> dict[str, str]:
    """Client names bound to a service in this module (make_client assignments, annotations)."""
    found: dict[str, set[str]] = defaultdict(set)
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            service = _make_client_service(node.value) if node.value is not None else None
            if isinstance(node, ast.AnnAssign):
                service = service or _annotation_service(node.annotation)
            if service:
                for target in targets:
                    if (leaf := _leaf(target)) is not None:
                        found[leaf].add(service)
        elif isinstance(node, ast.keyword | ast.arg) and node.arg:
            value = node.value if isinstance(node, ast.keyword) else None
            service = (
                _make_client_service(value) if value is not None else _annotation_service(node.annotation)
            )
            if service:
                found[node.arg.lstrip("_")].add(service)
    out = {}
    for name, services in found.items():
        if len(services) > 1:
            raise AnalysisError(
                f"{module.path}: the name {name!r} is bound to clients of {sorted(services)}; give each its own name"
            )
        out[name] = services.pop()
    return out


def _constant(module: Module, reach: Reach, node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in module.constants:
            return module.constants[node.id]
        if node.id in module.imports:
            source, attr = module.imports[node.id]
            loaded = reach.project.load(source)
            if attr and loaded is not None and attr in loaded.constants:
                return loaded.constants[attr]
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        kind, target, _ = reach.resolve(module, node.value.id)
        if kind == "module" and target is not None:
            return target.constants.get(node.attr)
    return None


def _env_reads(module: Module, reach: Reach, node: ast.AST) -> list[str]:
    found = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            func = _dotted(sub.func) or ""
            receiver = func.rpartition(".")[0]
            is_get = receiver in ENV_RECEIVERS and func.rpartition(".")[2] in ("get", "pop", "setdefault")
            if sub.args and (func == "os.getenv" or is_get):
                found.append(_constant(module, reach, sub.args[0]))
            elif sub.args and any(_dotted(a) in ENV_RECEIVERS for a in sub.args):
                # a helper reading the environment: require(env, NAME, ...), _optional(env, NAME)
                found.extend(_constant(module, reach, a) for a in sub.args if _dotted(a) not in ENV_RECEIVERS)
        elif isinstance(sub, ast.Subscript) and _dotted(sub.value) in ENV_RECEIVERS:
            found.append(_constant(module, reach, sub.slice))
    return [name for name in found if name and name.isupper() and name.replace("_", "").isalnum()]


def analyze(entry: Path) -> Analysis:
    project = Project(entry)
    reach = Reach(project)
    entry_module = project.load("__entry__", entry.resolve())
    reach._add(("__entry__", None))
    for name in entry_module.defs:
        reach._add(("__entry__", name))
    reach.run()
    nodes = reach.nodes()

    services: set[str] = set()
    for _, node in nodes:
        for sub in ast.walk(node):
            if (service := _make_client_service(sub)) is not None:
                services.add(service)
    project_methods = {
        item.name
        for module in project.modules.values()
        for node in module.defs.values()
        if isinstance(node, ast.ClassDef)
        for item in node.body
        if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    bindings = {name: _bindings(module) for name, module in project.modules.items()}

    calls: list[Call] = []
    env: dict[str, str] = {}
    for module, node in nodes:
        for name in _env_reads(module, reach, node):
            env.setdefault(name, f"{_rel(module.path)}:{getattr(node, 'lineno', 0)}")
        for sub in ast.walk(node):
            if (
                isinstance(sub, ast.Constant)
                and isinstance(sub.value, str)
                and (raw := _raw_target(sub.value))
            ):
                calls.append(Call(*raw, f"{_rel(module.path)}:{sub.lineno}"))
            if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id == "getattr":
                calls.extend(_getattr_call(module, sub, bindings[module.name]))
            if not (isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute)):
                continue
            calls.extend(_client_call(module, reach, sub, bindings[module.name], services, project_methods))
    modules = sorted(m for m, _ in reach.units if m != "__entry__")
    return Analysis(entry=entry, modules=sorted(set(modules)), calls=calls, env_reads=env, services=services)


@cache
def _target_prefixes() -> dict[str, str]:
    """JSON-protocol target prefix (``DynamoDB_20120810``) -> service."""
    out = {}
    for service in SERVICES:
        prefix = _session().get_service_model(service).metadata.get("targetPrefix")
        if prefix:
            out[prefix] = service
    return out


def _raw_target(value: str) -> tuple[str, str] | None:
    """``"DynamoDB_20120810.BatchWriteItem"`` (an X-Amz-Target header of a request the code signs and
    sends itself, without a client method) -> ("dynamodb", "BatchWriteItem")."""
    prefix, dot, operation = value.partition(".")
    service = _target_prefixes().get(prefix) if dot else None
    if service and operation in _session().get_service_model(service).operation_names:
        return service, operation
    return None


def _getattr_call(module: Module, call: ast.Call, bindings: dict[str, str]) -> list[Call]:
    """``getattr(dynamodb, operation)(...)``: a client method chosen at run time. A literal name is
    that operation; a computed one counts as every operation of that service whose snake_case name
    is written as a string literal in the same module (where the choice is made)."""
    if len(call.args) < 2:
        return []
    leaf = _leaf(call.args[0])
    service = bindings.get(leaf or "") or CONVENTION.get(leaf or "")
    if service is None:
        return []
    where = f"{_rel(module.path)}:{call.lineno}"
    name = call.args[1]
    ops = operations(service)
    if isinstance(name, ast.Constant) and isinstance(name.value, str):
        if name.value not in ops:
            raise AnalysisError(f"{where}: getattr({leaf}, {name.value!r}) is no operation of {service}")
        return [Call(service, ops[name.value], where)]
    literals = {
        n.value
        for n in ast.walk(module.tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in ops
    }
    if not literals:
        raise AnalysisError(
            f"{where}: getattr({leaf}, ...) picks a {service} operation at run time and the module names none as a "
            'string literal; write the possible operation names (e.g. "put_item") as literals in that module'
        )
    return [Call(service, ops[lit], where) for lit in sorted(literals)]


def _client_call(
    module: Module,
    reach: Reach,
    call: ast.Call,
    bindings: dict[str, str],
    services: set[str],
    project_methods: set[str],
) -> list[Call]:
    func = call.func
    assert isinstance(func, ast.Attribute)
    method, receiver = func.attr, func.value
    where = f"{_rel(module.path)}:{call.lineno}"
    if isinstance(receiver, ast.Name):
        kind, _, _ = reach.resolve(module, receiver.id)
        if kind in ("module", "unit"):
            return []  # a project function (module.func) or a classmethod: followed by reachability
        if receiver.id in module.imports:
            return []  # a third-party module or object (json.loads, logging.getLogger ...)
    leaf = _leaf(receiver)
    service = bindings.get(leaf or "") or CONVENTION.get(leaf or "")

    if method in ("get_paginator", "get_waiter", *S3_TRANSFER_METHODS):
        if service is None:
            if method in S3_TRANSFER_METHODS:
                return []
            raise AnalysisError(
                f"{where}: cannot tell which service {ast.unparse(func)} belongs to; name the client after its service ({', '.join(CONVENTION)})"
            )
        if method in S3_TRANSFER_METHODS:
            return [Call("s3", op, where) for op in S3_TRANSFER_METHODS[method]] if service == "s3" else []
        arg = call.args[0] if call.args else None
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
            raise AnalysisError(
                f"{where}: {method} needs a literal name for the analysis to know the operation"
            )
        op = (
            paginator_operation(service, arg.value)
            if method == "get_paginator"
            else waiter_operation(service, arg.value)
        )
        return [Call(service, op, where)]

    owners = _op_owners().get(method)
    if not owners:
        return []
    if service is not None:
        if method not in operations(service):
            if method in project_methods:
                return []
            raise AnalysisError(
                f"{where}: {ast.unparse(func)} looks like a {service} client by its name, but {service} has no operation {method}"
            )
        return [Call(service, operations(service)[method], where)]
    if method in project_methods:
        return []
    candidates = [s for s in owners if s in services]
    if len(candidates) == 1:
        return [Call(candidates[0], operations(candidates[0])[method], where)]
    raise AnalysisError(
        f"{where}: {ast.unparse(func)}(...) is an operation of {', '.join(owners)} and the analysis cannot tell which "
        f"client {ast.unparse(receiver)!r} is. Name the variable after its service ({', '.join(sorted(set(CONVENTION)))}), "
        'bind it with make_client("<service>") in the same module, or annotate it with its mypy-boto3 client type.'
    )
