"""Typed Aircall payloads, lenient about the real quirks (aircall-api.md §1-§3): nested objects that are
null, `{}` or missing; ids as int or string; timestamps in seconds, milliseconds or ISO strings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_YEAR_2200 = 7_258_118_400


def parse_time(value: Any) -> datetime | None:
    """UNIX seconds, UNIX milliseconds (message payloads) or ISO 8601 → aware UTC datetime."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, str) and _is_int(value.strip().removeprefix("-")):
        value = int(value)
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 10**11 else value  # 10**11 s is year 5138: so this is ms
        if not 0 <= seconds < _YEAR_2200:  # NaN, negative or impossible: unknown, never a crash
            return None
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _empty_to_none(value: Any) -> Any:
    # Aircall sends `{}` for "no user / number / contact" in early call events (aircall-api.md §1.1).
    return None if value == {} or value == [] else value


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class User(_Lenient):
    id: int | str | None = None
    name: str | None = None
    email: str | None = None


class Team(_Lenient):
    id: int | str | None = None
    name: str | None = None


class Number(_Lenient):
    """The Aircall line. `e164_digits` is only in webhooks; `digits` is display format."""

    id: int | None = None
    name: str | None = None
    digits: str | None = None
    e164_digits: str | None = None
    country: str | None = None
    time_zone: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _int_id(cls, v: Any) -> Any:
        return int(v) if isinstance(v, str) and _is_int(v.strip()) else v


class Comment(_Lenient):
    id: int | str | None = None
    content: str = ""
    posted_at: datetime | None = None

    @field_validator("posted_at", mode="before")
    @classmethod
    def _time(cls, v: Any) -> datetime | None:
        return parse_time(v)


class Tag(_Lenient):
    id: int | str | None = None
    name: str = ""


class Call(_Lenient):
    id: int
    direction: str | None = None
    status: str | None = None
    missed_call_reason: str | None = None
    started_at: datetime | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    duration: int | None = None
    raw_digits: str | None = None
    direct_link: str | None = None
    recording: str | None = None
    recording_short_url: str | None = None
    asset: str | None = None
    voicemail: str | None = None
    voicemail_short_url: str | None = None
    user: User | None = None
    number: Number | None = None
    assigned_to: User | Team | None = None
    transferred_by: User | None = None
    transferred_to: User | Team | None = None
    external_transferred_to: str | None = None
    external_caller_number: str | None = None
    teams: list[Team] = Field(default_factory=list)
    comments: list[Comment] = Field(default_factory=list)
    tags: list[Tag] = Field(default_factory=list)
    call_end_reason: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = {k: _empty_to_none(v) if isinstance(v, dict) else v for k, v in data.items()}
        for key in ("teams", "comments", "tags"):
            if data.get(key) is None:
                data[key] = []
        return data

    @field_validator("id", mode="before")
    @classmethod
    def _int_id(cls, v: Any) -> Any:
        return int(v) if isinstance(v, str) and _is_int(v.strip()) else v

    @field_validator("started_at", "answered_at", "ended_at", mode="before")
    @classmethod
    def _time(cls, v: Any) -> datetime | None:
        return parse_time(v)


class Media(_Lenient):
    file_name: str | None = None
    file_type: str | None = None
    url: str | None = Field(default=None, alias="presigned_url")


class Message(_Lenient):
    """SMS / MMS / WhatsApp (aircall-api.md §3.1). `id` is a string; media come as `media_details` objects or
    a `media_url` list; the external party is `external_number` or `raw_digits`."""

    id: str
    direction: str | None = None
    status: str | None = None
    body: str | None = None
    external_number: str | None = None
    raw_digits: str | None = None
    channel: str | None = None
    number: Number | None = None
    user: User | None = None
    direct_link: str | None = None
    created_at: datetime | None = None
    media: list[Media] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = {k: _empty_to_none(v) if isinstance(v, dict) else v for k, v in data.items()}
        media: list[dict[str, Any]] = [m for m in (data.get("media_details") or []) if isinstance(m, dict)]
        media += [{"presigned_url": u} for u in (data.get("media_url") or []) if isinstance(u, str)]
        data["media"] = media
        if data.get("id") is not None:
            data["id"] = str(data["id"])
        return data

    @field_validator("created_at", mode="before")
    @classmethod
    def _time(cls, v: Any) -> datetime | None:
        return parse_time(v)

    @property
    def external(self) -> str | None:
        return self.external_number or self.raw_digits


def _is_int(text: str) -> bool:
    """ASCII digits only: "²" passes str.isdigit() but int() refuses it."""
    return text.isascii() and text.isdigit()
