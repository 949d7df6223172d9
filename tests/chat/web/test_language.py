"""The interface's language over HTTP, the way browsers ask for it: their
Accept-Language, the picker on the log-in page (a cookie), and a logged-in
person's saved choice, which wins on every device. The catalogs may not be
translated yet, so the pages are told apart by their lang and dir, and by the
Content-Language header, not by their words."""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from chat.accounts.language import user_language
from tests.helpers.factories import user_factory

pytestmark = pytest.mark.django_db

HTML_TAG = re.compile(r'<html lang="([^"]*)" dir="([^"]*)">')
COOKIE = settings.LANGUAGE_COOKIE_NAME


def browser(accept_language: str = "") -> Client:
    return Client(headers={"accept-language": accept_language} if accept_language else {})


def language_of(response) -> tuple[str, str, str]:
    """(lang, dir, Content-Language) of a page."""
    assert response.status_code == 200
    found = HTML_TAG.search(response.content.decode())
    assert found, "the page has no <html lang dir>"
    return found.group(1), found.group(2), response["Content-Language"]


def login_page(client: Client):
    return client.get(reverse("login"))


def pick(client: Client, language: str, next_page: str = "/accounts/login/"):
    return client.post(reverse("language-set"), {"language": language, "next": next_page})


# --- the browser's language -------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_language", "expected"),
    [
        ("es", ("es", "ltr", "es")),
        ("ar", ("ar", "rtl", "ar")),
        ("pt-BR,pt;q=0.9", ("pt-br", "ltr", "pt-br")),
        ("zh-CN,zh;q=0.9", ("zh-hans", "ltr", "zh-hans")),
        ("de-AT", ("de", "ltr", "de")),
    ],
)
def test_the_page_is_in_the_browsers_language(accept_language, expected):
    assert language_of(login_page(browser(accept_language))) == expected


def test_a_language_not_shipped_falls_back_to_english():
    assert language_of(login_page(browser("ja"))) == ("en", "ltr", "en")


def test_the_first_shipped_language_of_the_browsers_list_is_taken():
    assert language_of(login_page(browser("ja, fr;q=0.8, es;q=0.5")))[0] == "fr"


# --- the log-in page's picker ---------------------------------------------------------


def test_the_log_in_page_offers_every_language_in_its_own_name():
    page = login_page(browser("es")).content.decode()
    assert f'action="{reverse("language-set")}"' in page
    assert '<option value="fr" lang="fr">français</option>' in page
    assert '<option value="ar" lang="ar">العربيّة</option>' in page
    assert '<option value="es" lang="es" selected>español</option>' in page
    assert '<label for="language-picker">' in page
    assert '<input type="hidden" name="next" value="/accounts/login/">' in page


def test_a_picked_language_is_kept_in_a_cookie_and_beats_the_browsers():
    client = browser("es")
    response = pick(client, "fr")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.cookies[COOKIE].value == "fr"
    assert language_of(login_page(client))[:2] == ("fr", "ltr")


def test_picking_is_case_and_region_insensitive():
    client = browser("es")
    pick(client, "pt-BR")
    assert language_of(login_page(client))[0] == "pt-br"


def test_picking_the_browsers_language_forgets_the_cookie():
    client = browser("es")
    pick(client, "fr")
    pick(client, "")
    assert language_of(login_page(client))[0] == "es"


@pytest.mark.parametrize("code", ["ja", "klingon", "x" * 200, "../etc"])
def test_an_unknown_language_is_refused_with_a_message(code):
    client = browser("es")
    response = pick(client, code)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    # Said in the browser's language.
    assert "idioma" in response.content.decode()
    assert COOKIE not in client.cookies


@pytest.mark.parametrize(
    "next_page", ["https://evil.example/", "//evil.example/", "http://evil.example/accounts/login/"]
)
def test_next_to_another_site_is_not_followed(next_page):
    response = pick(browser(), "fr", next_page)
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_the_picker_answers_only_a_post():
    assert browser().get(reverse("language-set")).status_code == 405


# --- a person's saved language -------------------------------------------------------


def test_a_saved_language_wins_over_the_cookie_and_the_browser_on_another_device():
    person = user_factory()
    phone = browser("es")
    phone.force_login(person)
    pick(phone, "de", "/account/")
    assert user_language(person) == "de"

    laptop = browser("es")
    laptop.cookies[COOKIE] = "fr"
    laptop.force_login(person)
    assert language_of(laptop.get(reverse("account"))) == ("de", "ltr", "de")


def test_the_account_page_shows_the_saved_language_chosen():
    person = user_factory()
    client = browser("es")
    client.force_login(person)
    pick(client, "ar", "/account/")
    page = client.get(reverse("account"))
    assert language_of(page)[:2] == ("ar", "rtl")
    html = page.content.decode()
    assert '<option value="ar" lang="ar" selected>' in html
    assert '<option value="" selected>' not in html
    assert '<input type="hidden" name="next" value="/account/">' in html


def test_the_account_page_offers_the_browsers_language_chosen_until_one_is_saved():
    client = browser("es")
    client.force_login(user_factory())
    html = client.get(reverse("account")).content.decode()
    assert '<option value="" selected>' in html
    assert " selected>español" not in html


def test_going_back_to_the_browsers_language_unsaves_it():
    person = user_factory()
    client = browser("es")
    client.force_login(person)
    pick(client, "fr", "/account/")
    pick(client, "", "/account/")
    assert user_language(person) == ""
    assert language_of(client.get(reverse("account")))[0] == "es"
