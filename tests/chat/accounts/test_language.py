"""Which shipped language a person reads (chat.accounts.language)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chat.accounts.language import (
    language_name,
    language_pick,
    language_supported,
    user_language,
    user_update_language,
)
from tests.helpers.factories import user_factory

SHIPPED = {"en", "es", "fr", "de", "pt-br", "zh-hans", "ar"}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("es-MX,es;q=0.9,en;q=0.5", "es"),
        ("pt-BR,pt;q=0.9", "pt-br"),
        ("pt", "pt-br"),
        ("zh-CN,zh;q=0.9", "zh-hans"),
        ("ar-EG", "ar"),
        ("ja,de;q=0.8", "de"),
        ("ja", "en"),
        ("", "en"),
        ("*", "en"),
    ],
)
def test_browser_language_picks_the_first_shipped_one(header, expected):
    assert language_pick("", None, header) == expected


def test_picked_cookie_wins_over_the_browser():
    assert language_pick("", "fr", "de") == "fr"


def test_saved_language_wins_over_cookie_and_browser():
    assert language_pick("ar", "fr", "de") == "ar"


def test_an_unshipped_cookie_is_ignored():
    assert language_pick("", "xx", "de") == "de"


@given(st.text(max_size=200), st.one_of(st.none(), st.text(max_size=20)))
def test_any_header_or_cookie_gives_a_shipped_language(header, cookie):
    assert language_pick("", cookie, header) in SHIPPED


@pytest.mark.parametrize("code", ["pt-BR", "PT_br", " es ", "zh-Hans"])
def test_codes_are_read_in_any_case_and_separator(code):
    assert language_supported(code) in SHIPPED


@pytest.mark.parametrize("code", ["", "xx", "en-us-extra-long-code", None, 3, ["es"]])
def test_other_values_are_not_languages(code):
    assert language_supported(code) is None


def test_models_are_told_languages_by_their_english_name():
    assert [language_name(c) for c in ("es", "zh-hans", "pt-br")] == [
        "Spanish",
        "Simplified Chinese",
        "Brazilian Portuguese",
    ]


@pytest.mark.django_db
def test_saved_language_is_kept_and_can_be_cleared():
    user = user_factory()
    assert user_language(user) == ""
    user_update_language(user, "de")
    assert user_language(user) == "de"
    user_update_language(user, "")
    assert user_language(user) == ""
