"""The product's GraphQL and the sandbox's schema, held to Jobber's real schema (version 2025-04-16).

The reference is a transcription of a real introspection of Jobber's API (see the header of
jobber-schema-2025-04-16.graphql). A document that does not validate against it would be refused by real
Jobber, whatever the sandbox says; a sandbox type or field that differs from it would let the sandbox accept
what Jobber refuses.
"""

from __future__ import annotations

import pytest
from graphql import build_schema, print_ast, validate

from sandbox.jobber.schema import SDL_PATH, get_schema
from tests.support.graphql_schema import (
    REFERENCE_SCHEMA,
    product_documents,
    reference_schema,
    schema_differences,
)

DOCUMENTS = product_documents()


def test_the_reference_is_the_real_introspection_transcript() -> None:
    header = REFERENCE_SCHEMA.read_text().splitlines()[:12]
    assert any("PineappleCare/jobber-mcp" in line for line in header)
    assert any("593c016f7acbaf83693fd25dd1705c83a22999ae" in line for line in header)


def test_every_document_the_product_sends_is_collected() -> None:
    # The collector must see the adapter's documents (a collector that finds nothing would prove nothing).
    names = {name.rsplit(".", 1)[-1] for name in DOCUMENTS}
    assert {
        "FIND_BY_PHONE",
        "CLIENT_CREATE_NOTE",
        "REQUEST_CREATE",
        "REQUEST_NOTES",
        "CLIENT_DELETE_NOTE",
    } <= names
    assert len(DOCUMENTS) >= 15


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_product_document_validates_against_the_real_schema(name: str) -> None:
    errors = validate(reference_schema(), DOCUMENTS[name])
    assert [e.message for e in errors] == [], print_ast(DOCUMENTS[name])


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_the_adapter_validates_each_document_with_gqls_schema_aware_client(name: str) -> None:
    """What the adapter sends goes through `clients.jobber.document`: gql's client, given Jobber's schema."""
    from clients.jobber import document

    assert document(print_ast(DOCUMENTS[name]))


def test_a_document_jobber_would_refuse_fails_in_the_adapter_before_any_request() -> None:
    from graphql import GraphQLError

    from clients.jobber import document

    with pytest.raises(GraphQLError, match="Cannot query field 'nope' on type 'Account'"):
        document("query Nope { account { nope } }")


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_product_document_is_served_by_the_sandbox(name: str) -> None:
    errors = validate(get_schema(), DOCUMENTS[name])
    assert [e.message for e in errors] == [], print_ast(DOCUMENTS[name])


def test_the_sandbox_schema_is_a_faithful_subset_of_the_real_one() -> None:
    assert schema_differences(build_schema(SDL_PATH.read_text()), reference_schema()) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("deletedNote: ClientNote\n", "deletedNoteId: EncodedId\n"),
            "field ClientDeleteNotePayload.deletedNoteId does not exist in the real schema",
        ),
        (
            (
                "notes(sort: [NotesSortInput!], filter: NoteFilterAttributes, "
                "after: String, before: String, first: Int, last: Int): RequestNoteUnionConnection!",
                "notes(first: Int): RequestNoteUnionConnection",
            ),
            "field Request.notes is RequestNoteUnionConnection, really RequestNoteUnionConnection!",
        ),
        (
            (
                "input RequestCreateInput {\n  clientId: EncodedId!",
                "input RequestCreateInput {\n  clientId: EncodedId",
            ),
            "input field RequestCreateInput.clientId is EncodedId, really EncodedId!",
        ),
        (
            ("enum SortDirectionEnum {\n  ASCENDING", "enum SortDirectionEnum {\n  ASC\n  ASCENDING"),
            "enum SortDirectionEnum has no value ASC in the real schema",
        ),
        (
            ("type Tag {\n  id: EncodedId!", "type Tag {\n  _notCaptured: Boolean\n  id: EncodedId!"),
            "field Tag._notCaptured does not exist in the real schema",
        ),
        (
            ("clientCreateNote(clientId: EncodedId!, input", "clientCreateNote(input"),
            "argument Mutation.clientCreateNote(clientId) is required by the real schema but missing",
        ),
        (
            ("scalar Minutes\n", "scalar Minutes\ntype Users { id: EncodedId! }\n"),
            "type Users does not exist in the real schema",
        ),
    ],
    ids=["field", "field-type", "input-type", "enum", "placeholder", "required-arg", "type"],
)
def test_the_comparison_catches_a_sandbox_that_drifts(change: tuple[str, str], expected: str) -> None:
    sdl = SDL_PATH.read_text()
    assert change[0] in sdl
    drifted = build_schema(sdl.replace(change[0], change[1], 1))
    assert expected in schema_differences(drifted, reference_schema())
