"""Per-integration settings (SPEC §2): the tenant's switches,
validated so that a bad value is never stored."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

INSIGHT_FIELDS: dict[str, str] = {
    "email": "Email",
    "phone": "Phone",
    "company_name": "Company",
    "billing_address": "Address",
    "tags": "Tags",
    "balance": "Balance",
    "lead_status": "Status",
    "client_since": "Client since",
    "open_requests": "Open requests",
}
MAX_INSIGHT_FIELDS = 5
AI_NEEDS_ASSIST = (
    "AI logging needs Aircall AI Assist: set aircall_plan_ai_assist to true "
    "(the company must have AI Assist or AI Assist Pro)"
)


class SettingsError(ValueError):
    """Settings refused; the message says why in words an operator can act on. `problems` maps each dotted
    setting (`insight_card.fields`) to its own message, so a form can show it next to the field."""

    def __init__(self, message: str, problems: dict[str, str] | None = None):
        super().__init__(message)
        self.problems: dict[str, str] = problems or {}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InsightCard(_Strict):
    custom: bool = False
    fields: list[str] = Field(default_factory=list)

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, fields: list[str]) -> list[str]:
        if len(fields) > MAX_INSIGHT_FIELDS:
            raise ValueError(f"at most {MAX_INSIGHT_FIELDS} insight card fields, got {len(fields)}")
        for name in fields:
            if name.startswith("custom:"):
                if not name[len("custom:") :].strip():
                    raise ValueError("custom field needs a label: custom:<label>")
            elif name not in INSIGHT_FIELDS:
                allowed = ", ".join([*INSIGHT_FIELDS, "custom:<label>"])
                raise ValueError(f"unknown insight card field {name!r} (allowed: {allowed})")
        if len(set(fields)) != len(fields):
            raise ValueError("insight card fields must not repeat")
        return fields


class AiLogging(_Strict):
    enabled: bool = False
    transcription: bool = True
    summary: bool = True
    topics: bool = True
    topics_as_tags: bool = False
    action_items: bool = True
    action_items_as_tasks: bool = False
    sentiment: bool = True


class IntegrationSettings(_Strict):
    numbers: list[int] = Field(default_factory=list)
    log_activity_as: Literal["note", "request"] = "note"
    create_missing_clients: bool = False
    contact_sync: bool = False
    insight_card: InsightCard = Field(default_factory=InsightCard)
    ai_logging: AiLogging = Field(default_factory=AiLogging)
    ai_voice_agent_logging: bool = False
    aircall_plan_ai_assist: bool = False

    @model_validator(mode="after")
    def _ai_needs_assist(self) -> IntegrationSettings:
        if self.ai_logging.enabled and not self.aircall_plan_ai_assist:
            raise ValueError(AI_NEEDS_ASSIST)
        return self

    # ---- parsing with operator-facing errors -------------------------------------------------

    @classmethod
    def parse(cls, data: Any) -> IntegrationSettings:
        """Validate a settings document; raise SettingsError with every problem spelled out."""
        if not isinstance(data, dict):
            raise SettingsError("settings must be a JSON object")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise SettingsError(_describe(exc), _problems(exc)) from None

    def with_changes(self, changes: dict[str, Any]) -> IntegrationSettings:
        """Apply dotted-key changes (`ai_logging.enabled`) and re-validate the whole document."""
        doc = self.model_dump()
        for dotted, value in changes.items():
            target = doc
            *parents, leaf = dotted.split(".")
            for part in parents:
                nested = target.get(part)
                if not isinstance(nested, dict):
                    raise SettingsError(f"unknown setting {dotted!r}", {dotted: "unknown setting"})
                target = nested
            if leaf not in target:
                raise SettingsError(f"unknown setting {dotted!r}", {dotted: "unknown setting"})
            target[leaf] = value
        return IntegrationSettings.parse(doc)


def parse_assignment(text: str) -> tuple[str, Any]:
    """`key=value` from the CLI: the value is read as JSON when it parses (true, 3, [1,2]), else as text."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise SettingsError(f"expected key=value, got {text!r}")
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return key.strip(), value


def _describe(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "settings"
        if err["type"] == "extra_forbidden":
            problems.append(f"unknown setting {where!r}")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {msg}")
    return "invalid settings: " + "; ".join(problems)


def _problems(exc: ValidationError) -> dict[str, str]:
    """Each refused setting (dotted) and why; a rule across settings is reported on the setting it guards."""
    problems: dict[str, str] = {}
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        # A list item's error belongs to the list (`numbers.0` → `numbers`).
        while loc and loc[-1].isascii() and loc[-1].isdigit():
            loc.pop()
        where = ".".join(loc)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown setting {where!r}"
        elif not where:
            where = "ai_logging.enabled" if msg == AI_NEEDS_ASSIST else "settings"
        problems.setdefault(where, msg)
    return problems
