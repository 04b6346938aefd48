"""domain/scope.py: what every "already done?" record is keyed on (issue 16)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from domain.scope import NoScope, Scope


@dataclass(frozen=True)
class Account:
    id: str


@dataclass(frozen=True)
class Installed:
    jobber_account: Account | None
    aircall_company_id: str | None
    budget_key: str


@pytest.mark.parametrize(
    ("integration", "expected"),
    [
        pytest.param(Installed(Account("J"), "42", "42"), Scope("J", "42"), id="the company id"),
        pytest.param(Installed(Account("J"), None, "numbers:7"), Scope("J", "numbers:7"), id="a stand-in"),
        pytest.param(
            Installed(Account("J"), "42", "key:ab"), Scope("J", "42"), id="the id before a stand-in"
        ),
    ],
)
def test_a_scope_is_the_jobber_account_and_the_aircall_company(
    integration: Installed, expected: Scope
) -> None:
    assert Scope.of(integration) == expected
    assert Scope.of(integration).key == f"{expected.jobber_account}:{expected.aircall_company}"


def test_an_integration_without_jobber_has_no_scope() -> None:
    with pytest.raises(NoScope):
        Scope.of(Installed(None, "42", "42"))


def test_a_reinstall_shares_its_scope_and_a_takeover_or_another_account_does_not() -> None:
    a = Scope.of(Installed(Account("J"), "C", "C"))
    assert Scope.of(Installed(Account("J"), "C", "C")) == a  # reinstall: a new integration, the same scope
    assert Scope.of(Installed(Account("J"), "C2", "C2")) != a  # another company takes the account over
    assert Scope.of(Installed(Account("J2"), "C", "C")) != a  # the same company, another Jobber account
