"""A number reads the same whether the server wrote it (chat.numbers, in
pages, errors and e-mails) or the page's scripts did (Intl.NumberFormat in
Chromium, static/chat/i18n.js): same separators, same grouping, same
rounding, in every shipped language. Checked in the browser itself, many
numbers to one call."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import translation
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from playwright.sync_api import sync_playwright

from chat.numbers import grouped

pytestmark = pytest.mark.browser

LANGUAGES = [code for code, _name in settings.LANGUAGES]

# What static/chat/i18n.js's formatNumber does with the page's <html lang>
# (Django's language code, as base.html writes it); a decimal goes as a
# string, so the browser rounds the same digits Python does.
INTL = """(cases) => cases.map(([lang, value, places]) =>
  new Intl.NumberFormat(lang, places === null ? {}
    : { minimumFractionDigits: places, maximumFractionDigits: places }).format(value))"""

whole = st.integers(min_value=0, max_value=10**15).map(lambda n: (n, None))
with_places = st.tuples(
    st.decimals(min_value=0, max_value=10**12, places=6, allow_nan=False, allow_infinity=False),
    st.integers(min_value=0, max_value=4),
)
# Around the first separators, where grouping rules differ (Spanish 1234).
near_thousands = st.integers(min_value=0, max_value=7).flatmap(
    lambda digits: st.integers(min_value=10**digits, max_value=10 ** (digits + 1)).map(
        lambda n: (n, None)
    )
)
numbers = st.lists(st.one_of(whole, with_places, near_thousands), min_size=1, max_size=60)


@pytest.fixture(scope="module")
def intl(chromium):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page()
        yield lambda cases: page.evaluate(INTL, cases)
        browser.close()


@hypothesis_settings(max_examples=40, deadline=None)
@given(numbers=numbers)
def test_the_server_writes_numbers_as_the_browser_does(intl, numbers):
    cases = [(language, str(value), places) for language in LANGUAGES for value, places in numbers]
    browser = intl(cases)
    server = []
    for language, value, places in cases:
        with translation.override(language):
            server.append(grouped(Decimal(value), places))
    assert [
        (case, ours)
        for case, ours, theirs in zip(cases, server, browser, strict=True)
        if ours != theirs
    ] == [], "the server's digits differ from Intl.NumberFormat's"
