"""The executable schema: SDL from schema.graphql, custom scalars, resolvers, union type resolution, and the
error formatting that makes graphql-core's errors look like Jobber's (graphql-ruby) ones."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    ValueNode,
    build_schema,
    execute,
    print_ast,
    validate,
)
from graphql.language import StringValueNode

from . import ids
from .context import AppInfo, Ctx
from .mutations import MUTATION
from .resolvers import FIELDS, QUERY
from .state import User

SDL_PATH = Path(__file__).with_name("schema.graphql")

_CF_VALUE_TYPES = {
    "text": "Text",
    "numeric": "Numeric",
    "link": "Link",
    "dropdown": "Dropdown",
    "true_false": "TrueFalse",
    "area": "Area",
}


def _parse_encoded_id(value: Any) -> str:
    ids.decode(value)  # raises InvalidEncodedId (a ValueError) -> extensions.problems, see format_errors
    return str(value)


def _parse_encoded_id_literal(node: ValueNode, _variables: Any = None) -> str:
    if not isinstance(node, StringValueNode):
        raise ids.InvalidEncodedId(print_ast(node))
    return _parse_encoded_id(node.value)


def serialize_datetime(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a valid ISO8601DateTime")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not a valid ISO8601DateTime") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _parse_datetime_literal(node: ValueNode, _variables: Any = None) -> datetime:
    if not isinstance(node, StringValueNode):
        raise ValueError("ISO8601DateTime must be a string")
    return parse_datetime(node.value)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def default_field_resolver(source: Any, info: GraphQLResolveInfo, **_args: Any) -> Any:
    """Dict key or attribute, trying the GraphQL (camelCase) name then its snake_case twin."""
    name = info.field_name
    if isinstance(source, dict):
        return source.get(name)
    if hasattr(source, name):
        return getattr(source, name)
    return getattr(source, _snake(name), None)


def _install_scalar(
    schema: GraphQLSchema, name: str, serialize: Any, parse_value: Any, parse_literal: Any
) -> None:
    """Give an SDL-declared scalar its functions. graphql-core 3.2 reads serialize/parse_value/parse_literal;
    3.3 copies them at construction into coerce_output_value/coerce_input_value, so set those too."""
    scalar = schema.type_map[name]
    assert isinstance(scalar, GraphQLScalarType)
    scalar.serialize = serialize  # type: ignore[method-assign]
    scalar.parse_value = parse_value  # type: ignore[method-assign]
    scalar.parse_literal = parse_literal  # type: ignore[method-assign]
    if hasattr(scalar, "coerce_output_value"):
        scalar.coerce_output_value = serialize
        scalar.coerce_input_value = parse_value


@cache
def get_schema() -> GraphQLSchema:
    schema = build_schema(SDL_PATH.read_text())
    _install_scalar(schema, "EncodedId", str, _parse_encoded_id, _parse_encoded_id_literal)
    _install_scalar(schema, "ISO8601DateTime", serialize_datetime, parse_datetime, _parse_datetime_literal)

    for root, resolvers in (("Query", QUERY), ("Mutation", MUTATION)):
        fields = schema.type_map[root].fields  # type: ignore[attr-defined]
        for name, fn in resolvers.items():
            fields[name].resolve = fn
    for type_name, resolvers in FIELDS.items():
        fields = schema.type_map[type_name].fields  # type: ignore[attr-defined]
        for name, fn in resolvers.items():
            fields[name].resolve = fn

    def resolve_cf(value: Any, info: GraphQLResolveInfo, _type: Any) -> str:
        config = info.context.store.cf_configs[value.config_id]
        return "CustomField" + _CF_VALUE_TYPES[config.value_type]

    def resolve_cf_config(value: Any, _info: GraphQLResolveInfo, _type: Any) -> str:
        return "CustomFieldConfiguration" + _CF_VALUE_TYPES[value.value_type]

    def resolve_author(value: Any, _info: GraphQLResolveInfo, _type: Any) -> str:
        if isinstance(value, AppInfo):
            return "Application"
        return "User" if isinstance(value, User) else "Client"

    def resolve_note(value: Any, _info: GraphQLResolveInfo, _type: Any) -> str:
        return ids.decode(value.id)[0]  # "ClientNote" or "RequestNote": the id says which

    schema.type_map["CustomFieldUnion"].resolve_type = resolve_cf  # type: ignore[attr-defined]
    schema.type_map["CustomFieldConfiguration"].resolve_type = resolve_cf_config  # type: ignore[attr-defined]
    schema.type_map["NoteCreatedByUnion"].resolve_type = resolve_author  # type: ignore[attr-defined]
    schema.type_map["RequestNoteUnion"].resolve_type = resolve_note  # type: ignore[attr-defined]
    return schema


def _variable_type(document: DocumentNode, name: str) -> str:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for var in definition.variable_definitions or ():
                if var.variable.name.value == name:
                    return print_ast(var.type)
    return "EncodedId"


_INVALID_ID = re.compile(r"'((?:[^'\\]|\\.)*)' is not a valid EncodedId")


def _invalid_id_explanation(error: GraphQLError) -> tuple[str, str] | None:
    """(value, explanation) when the error comes from the EncodedId scalar. graphql-core 3.2 keeps our
    exception
    as `original_error`; 3.3 only keeps its text in the message, so fall back to that."""
    cause: BaseException | None = error.original_error
    while cause is not None:
        if isinstance(cause, ids.InvalidEncodedId):
            return str(cause.value), str(cause)
        cause = cause.__cause__ or getattr(cause, "original_error", None)
    match = _INVALID_ID.search(error.message)
    if match:
        return match.group(1), f"'{match.group(1)}' is not a valid EncodedId"
    return None


def format_errors(errors: list[GraphQLError], document: DocumentNode | None) -> list[dict[str, Any]]:
    """Jobber's shape for invalid scalar values: "Variable $id of type EncodedId! was provided invalid value"
    with `extensions.problems[].explanation` (reference §1.3). Other errors keep graphql-core's wording."""
    out = []
    for error in errors:
        formatted = error.formatted
        explanation = _invalid_id_explanation(error)
        if explanation is not None:
            match = re.match(r"Variable '\$(\w+)'", error.message)
            if match and document is not None:
                name = match.group(1)
                formatted = {
                    "message": f"Variable ${name} of type {_variable_type(document, name)} "
                    "was provided invalid value",
                    "locations": formatted.get("locations", []),
                    "extensions": {
                        "value": explanation[0],
                        "problems": [{"path": [], "explanation": explanation[1]}],
                    },
                }
            else:
                formatted = dict(formatted)
                formatted["extensions"] = {"problems": [{"path": [], "explanation": explanation[1]}]}
        out.append(formatted)
    return out


@lru_cache(maxsize=512)
def _validation_errors(document: DocumentNode) -> tuple[Any, ...]:
    """Validation depends on the document alone; parsed documents are cached, so validate each once."""
    return tuple(validate(get_schema(), document))


def run(
    document: DocumentNode, variables: dict[str, Any] | None, operation_name: str | None, ctx: Ctx
) -> dict[str, Any]:
    """Validate and execute under the store lock; returns the JSON-ready response body (no extensions)."""
    schema = get_schema()
    errors = _validation_errors(document)
    if errors:
        return {"errors": format_errors(list(errors), document)}
    with ctx.store.lock:
        result = execute(
            schema,
            document,
            variable_values=variables,
            operation_name=operation_name,
            context_value=ctx,
            field_resolver=default_field_resolver,
        )
    assert not hasattr(result, "__await__")
    body: dict[str, Any] = {"data": result.data}  # type: ignore[union-attr]
    if result.errors:  # type: ignore[union-attr]
        body["errors"] = format_errors(list(result.errors), document)  # type: ignore[union-attr]
        if result.data is None:  # type: ignore[union-attr]
            body = {"errors": body["errors"], "data": None}
    return body
