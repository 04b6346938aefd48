"""Numbers read from text take ASCII digits only (issue 16): "²" and other Unicode digits pass str.isdigit()
but int() refuses them (or reads them as another number), which used to raise where
a clear refusal was due."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from starlette.datastructures import FormData

from config.integration import IntegrationSettings, SettingsError
from config.redis_url import sentinel_target
from domain.payloads import Number, parse_time
from ingest.settings_form import document_from_form

UNICODE_DIGITS = ["²", "١٢", "\U0001d7d9\U0001d7da", "--5"]  # the last but one: double-struck 1 2


@pytest.mark.parametrize("text", UNICODE_DIGITS)
def test_the_settings_form_leaves_non_ascii_numbers_for_validation_to_refuse(text: str) -> None:
    doc = document_from_form(FormData([("numbers", "7"), ("numbers", text)]), IntegrationSettings())

    assert doc["numbers"] == [7, text]
    with pytest.raises(SettingsError) as refused:
        IntegrationSettings.parse(doc)
    assert set(refused.value.problems) == {"numbers"}


@pytest.mark.parametrize("text", UNICODE_DIGITS)
def test_payload_times_and_ids_in_unicode_digits_are_unknown_or_refused_not_a_crash(text: str) -> None:
    assert parse_time(text) is None
    assert parse_time(f"-{text}") is None
    with pytest.raises(ValidationError):  # a refused field, as any other bad value
        Number.model_validate({"id": text})
    assert Number.model_validate({"id": " 42 "}).id == 42


def test_a_sentinel_database_in_unicode_digits_gets_the_clear_message() -> None:
    with pytest.raises(ValueError, match="the path of a sentinel URL is a database number"):
        sentinel_target("sentinel://h1:26379/²;sentinel://h2:26379/²")


def test_an_unknown_setting_named_with_a_digit_is_reported_by_its_name() -> None:
    with pytest.raises(SettingsError) as refused:
        IntegrationSettings.parse({"²": 1})
    assert "²" in refused.value.problems
