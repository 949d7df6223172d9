"""The JSON API's error messages are in the request's language, as plain JSON
text; its error codes are the same in every language."""

import json

import pytest
from django.utils import translation

from chat.errors import ServiceError, error_body
from tests.helpers.factories import user_factory

pytestmark = pytest.mark.django_db

BAD_JSON = "The request body is not valid JSON."


@pytest.fixture
def logged_in(client):
    client.force_login(user_factory())
    return client


def error_of(response):
    """The error as the page's script reads it: the raw body parsed."""
    body = json.loads(response.content)
    assert type(body["error"]["message"]) is str
    return body["error"]


def test_a_refusal_is_in_the_browsers_language(logged_in, catalog):
    catalog("es", {BAD_JSON: "El cuerpo de la petición no es JSON válido."})
    response = logged_in.post(
        "/api/conversations/", "{nope", content_type="application/json", HTTP_ACCEPT_LANGUAGE="es"
    )
    assert response.status_code == 400
    assert error_of(response) == {
        "code": "bad_json",
        "message": "El cuerpo de la petición no es JSON válido.",
    }


def test_the_same_refusal_in_english_for_a_browser_that_asks_for_none_we_ship(logged_in, catalog):
    catalog("es", {BAD_JSON: "El cuerpo de la petición no es JSON válido."})
    response = logged_in.post(
        "/api/conversations/", "{nope", content_type="application/json", HTTP_ACCEPT_LANGUAGE="ja"
    )
    assert error_of(response) == {"code": "bad_json", "message": BAD_JSON}


def test_an_error_before_the_view_is_in_the_language_too(client, catalog):
    catalog("pt-br", {"Log in first.": "Entre primeiro."})
    response = client.get("/api/models/", HTTP_ACCEPT_LANGUAGE="pt-BR")
    assert response.status_code == 401
    assert error_of(response) == {"code": "not_authenticated", "message": "Entre primeiro."}


def test_an_unknown_api_address_is_in_the_cookies_language(client, catalog, settings):
    catalog("fr", {"Not found.": "Introuvable."})
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    response = client.get("/api/no-such-thing/", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 404
    assert error_of(response) == {"code": "not_found", "message": "Introuvable."}


def test_a_lazy_message_becomes_text_when_the_refusal_is_made(catalog):
    from django.utils.translation import gettext_lazy

    catalog("de", {"Not found.": "Nicht gefunden."})
    lazy = gettext_lazy("Not found.")
    with translation.override("de"):
        refusal = ServiceError("not_found", lazy, 404)
        body = error_body("not_found", lazy)
    # Said in German when refused, whatever is active when it is sent.
    assert type(refusal.message) is str and refusal.message == "Nicht gefunden."
    assert json.loads(json.dumps(body)) == {
        "error": {"code": "not_found", "message": "Nicht gefunden."}
    }


def test_the_model_picker_translates_what_a_model_is_good_at_not_its_name(logged_in, catalog):
    catalog(
        "es",
        {
            "looks at photos, thinks first": "mira fotos, piensa primero",
            "Offline demo": "Demo sin conexión",
        },
    )
    response = logged_in.get("/api/models/", HTTP_ACCEPT_LANGUAGE="es")
    labels = {m["id"]: m["label"] for m in response.json()["models"]}
    thinking = labels["alibaba/qwen3-vl-32b-thinking"]
    assert thinking == "Qwen3 VL Thinking — mira fotos, piensa primero"
    # The name stays, whatever the catalog says of the rest.
    assert labels["Qwen/QwQ-32B"].startswith("QwQ 32B — ")
    assert labels["Qwen/QwQ-32B"] != "QwQ 32B — text only, deep reasoning"
    assert labels["visionqa/offline-demo"].startswith("Demo sin conexión — ")
