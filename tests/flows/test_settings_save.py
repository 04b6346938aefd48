"""The settings form posted by a signed-in admin: a value the model refuses is shown next to its field (400),
never a server error, and nothing is stored (issue 16: `numbers=²` passed `isdigit()` and crashed `int()`)."""

from __future__ import annotations

import re

import pytest
import requests

from config.settings import get_settings
from store.integrations import IntegrationStore
from tests.support.admin import csrf, link_for, sign_in
from tests.support.tenants import make_tenant

pytestmark = pytest.mark.flow


@pytest.mark.parametrize("number", ["²", "١٢", "--5", "1e3", "12 34"])
def test_a_number_that_is_not_ascii_digits_is_refused_next_to_the_field(r, site, number):
    tenant = make_tenant(numbers=[789])
    browser = requests.Session()
    sign_in(browser, link_for(tenant.id))
    page = browser.get(f"{site.url}/settings", timeout=10)

    posted = browser.post(
        f"{site.url}/settings",
        data={"csrf_token": csrf(page), "numbers": ["789", number], "log_activity_as": "note"},
        timeout=10,
    )

    assert posted.status_code == 400, posted.text[:300]
    error = re.search(r'<p class="error" id="error-numbers" role="alert">([^<]*)</p>', posted.text)
    assert error is not None and error.group(1)
    stored = IntegrationStore(r, get_settings().secret_key()).require(tenant.id).settings
    assert stored.numbers == [789]


def test_ascii_digits_are_saved(r, site):
    tenant = make_tenant(numbers=[789])
    browser = requests.Session()
    sign_in(browser, link_for(tenant.id))
    page = browser.get(f"{site.url}/settings", timeout=10)

    posted = browser.post(
        f"{site.url}/settings",
        data={"csrf_token": csrf(page), "numbers": ["789", " 790 "], "log_activity_as": "note"},
        timeout=10,
    )

    assert posted.status_code == 200 and posted.url.endswith("?saved=1")
    assert IntegrationStore(r, get_settings().secret_key()).require(tenant.id).settings.numbers == [789, 790]
