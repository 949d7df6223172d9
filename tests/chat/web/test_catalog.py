"""The scripts' messages at an address naming their language and content:
each page points at its own language's, the browser may keep it for good,
and an address another version of the app wrote still works but is not kept."""

import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db

SCRIPT = re.compile(r'<script defer src="(/jsi18n/[^"]+)"></script>')
LANGUAGES = [code for code, _name in settings.LANGUAGES]


def catalog_address(accept_language: str) -> str:
    page = Client(headers={"accept-language": accept_language}).get(reverse("login"))
    found = SCRIPT.search(page.content.decode())
    assert found, "the page loads no catalog"
    return found.group(1)


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_page_loads_the_catalog_of_its_own_language(language):
    address = catalog_address(language)
    assert address.startswith(f"/jsi18n/{language}/")
    answer = Client().get(address)
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/javascript")
    assert answer["Cache-Control"] == "public, max-age=31536000, immutable"


def test_each_language_has_its_own_address_and_words():
    addresses = {catalog_address(language) for language in LANGUAGES}
    assert len(addresses) == len(LANGUAGES)
    spanish = Client().get(catalog_address("es")).content.decode()
    assert '"Thinking\\u2026": "Pensando\\u2026"' in spanish or "Pensando" in spanish


def test_the_catalog_follows_its_address_not_the_browser():
    address = catalog_address("ar")
    seen_by = [
        Client(headers={"accept-language": other}).get(address).content for other in ("en", "es")
    ]
    assert seen_by[0] == seen_by[1]


def test_an_address_from_another_version_answers_but_is_not_kept():
    language = "fr"
    answer = Client().get(f"/jsi18n/{language}/0123456789abcdef.js")
    assert answer.status_code == 200
    assert answer.content == Client().get(catalog_address(language)).content
    assert answer["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("language", ["xx", "ES", "pt_BR", "en-us", "../es"])
def test_a_language_not_shipped_is_not_found(language):
    assert Client().get(f"/jsi18n/{language}/0123456789abcdef.js").status_code == 404
