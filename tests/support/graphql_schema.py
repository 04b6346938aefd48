"""Jobber's real schema (a checked-in copy of the reference), the product's GraphQL documents, and
a comparison of the sandbox's schema against the real one."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    OperationDefinitionNode,
    build_schema,
    parse,
)
from graphql.pyutils import Undefined

# A byte-for-byte copy of ../shared/reference/jobber-schema-2025-04-16.graphql (its header names the
# introspection it was transcribed from), shipped with the adapter that validates its documents against it.
REFERENCE_SCHEMA = Path(__file__).resolve().parents[2] / "clients" / "jobber-schema-2025-04-16.graphql"
# The reference's stand-in field for types it did not capture: not a Jobber field
PLACEHOLDER = "_notCaptured"

# Every package of the product (what runs in production); the sandbox, benches and tests are not.
PRODUCT_PACKAGES = ("clients", "config", "domain", "ingest", "store", "tasks", "worker")
_DOCUMENT_START = re.compile(r"^\s*(query|mutation|subscription|fragment)\b")


@cache
def reference_schema() -> GraphQLSchema:
    return build_schema(REFERENCE_SCHEMA.read_text())


def product_documents() -> dict[str, DocumentNode]:
    """Every GraphQL operation the product can send: each module-level string of a product module that reads
    as a GraphQL document, parsed (a document that does not parse fails here)."""
    found: dict[str, DocumentNode] = {}
    for package_name in PRODUCT_PACKAGES:
        package = importlib.import_module(package_name)
        modules = [package_name] + [
            m.name for m in pkgutil.walk_packages(package.__path__, prefix=f"{package_name}.")
        ]
        for module_name in modules:
            module = importlib.import_module(module_name)
            for name, value in vars(module).items():
                if isinstance(value, str) and _DOCUMENT_START.match(value):
                    document = parse(value)
                    if any(isinstance(d, OperationDefinitionNode) for d in document.definitions):
                        found[f"{module_name}.{name}"] = document
    return found


def _type_text(t: object) -> str:
    return str(t)


def _required(t: object, default: object) -> bool:
    return isinstance(t, GraphQLNonNull) and default is Undefined


def schema_differences(sandbox: GraphQLSchema, real: GraphQLSchema) -> list[str]:
    """Where the sandbox's schema is not a faithful subset of the real one; [] when it is.

    Faithful subset: every named type the sandbox declares exists in the real schema with the same kind; every
    field, argument and input field it declares exists there with the same type (and default); the real
    schema's required arguments and input fields are all present; enum values, union members and implemented
    interfaces are subsets; the reference's `_notCaptured` placeholder is never declared. With that,
    a document the sandbox validates is one real Jobber validates too.
    """
    problems: list[str] = []
    for name, mine in sandbox.type_map.items():
        if name.startswith("__"):
            continue
        theirs: GraphQLNamedType | None = real.type_map.get(name)
        if theirs is None:
            problems.append(f"type {name} does not exist in the real schema")
            continue
        if type(mine) is not type(theirs):
            problems.append(f"type {name} is a {type(mine).__name__}, really a {type(theirs).__name__}")
            continue
        if isinstance(mine, GraphQLObjectType | GraphQLInterfaceType):
            problems += _object_differences(name, mine, theirs)  # type: ignore[arg-type]
        elif isinstance(mine, GraphQLInputObjectType):
            problems += _input_differences(name, mine, theirs)  # type: ignore[arg-type]
        elif isinstance(mine, GraphQLEnumType):
            extra = sorted(set(mine.values) - set(theirs.values))  # type: ignore[attr-defined]
            problems += [f"enum {name} has no value {v} in the real schema" for v in extra]
        elif isinstance(mine, GraphQLUnionType):
            extra = sorted({t.name for t in mine.types} - {t.name for t in theirs.types})  # type: ignore[attr-defined]
            problems += [f"union {name} has no member {m} in the real schema" for m in extra]
    for root in ("query_type", "mutation_type", "subscription_type"):
        mine_root, their_root = getattr(sandbox, root), getattr(real, root)
        if mine_root is not None and (their_root is None or mine_root.name != their_root.name):
            problems.append(
                f"root {root} is {mine_root.name}, really {their_root.name if their_root else None}"
            )
    return problems


def _object_differences(
    name: str,
    mine: GraphQLObjectType | GraphQLInterfaceType,
    theirs: GraphQLObjectType | GraphQLInterfaceType,
) -> list[str]:
    problems = []
    extra_interfaces = {i.name for i in mine.interfaces} - {i.name for i in theirs.interfaces}
    problems += [f"type {name} does not implement {i} in the real schema" for i in sorted(extra_interfaces)]
    for field_name, field in mine.fields.items():
        where = f"{name}.{field_name}"
        real_field = theirs.fields.get(field_name)
        if field_name == PLACEHOLDER or real_field is None:
            problems.append(f"field {where} does not exist in the real schema")
            continue
        if _type_text(field.type) != _type_text(real_field.type):
            problems.append(f"field {where} is {field.type}, really {real_field.type}")
        problems += _inputs_differences(
            dict(field.args), dict(real_field.args), lambda arg, w=where: f"argument {w}({arg})"
        )
    return problems


def _input_differences(name: str, mine: GraphQLInputObjectType, theirs: GraphQLInputObjectType) -> list[str]:
    return _inputs_differences(dict(mine.fields), dict(theirs.fields), lambda f: f"input field {name}.{f}")


def _inputs_differences(
    mine: dict[str, Any], theirs: dict[str, Any], label: Callable[[str], str]
) -> list[str]:
    """Arguments of a field, or fields of an input type: what the sandbox declares must exist with the same
    type and default; what the real schema requires must be declared."""
    problems = []
    for name, value in mine.items():
        real = theirs.get(name)
        if name == PLACEHOLDER or real is None:
            problems.append(f"{label(name)} does not exist in the real schema")
        elif _type_text(value.type) != _type_text(real.type) or value.default_value != real.default_value:
            problems.append(f"{label(name)} is {value.type}, really {real.type}")
    for name, real in theirs.items():
        if _required(real.type, real.default_value) and name not in mine:
            problems.append(f"{label(name)} is required by the real schema but missing")
    return problems
