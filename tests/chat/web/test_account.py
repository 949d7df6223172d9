"""Your account: the display name, changing the password, and resetting a
forgotten one by email — through the real views, the way a browser would."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django.utils import formats, translation

from chat.accounts.language import user_update_language
from chat.models import UserLimit
from chat.teams.people import display_name, user_update_display_name
from chat.usage.limits import usage_this_month
from chat.web.account import usage_for_page
from tests.helpers.factories import PASSWORD, usage_factory, user_factory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-brand-new-secret-42"
RESET_LINK = re.compile(r"https?://\S+/accounts/reset/\S+/")


def reload(user):
    return get_user_model().objects.get(pk=user.pk)


@pytest.fixture
def person():
    return user_factory(username="ada", email="ada@example.com")


@pytest.fixture
def logged_in(client, person):
    client.force_login(person)
    return client


def ask_for_a_reset(client, email="ada@example.com"):
    return client.post(reverse("password_reset"), {"email": email}, follow=True)


def the_reset_link():
    (email,) = mail.outbox
    return RESET_LINK.search(email.body).group(0)


def set_new_password_through(client, link):
    form = client.get(link, follow=True)  # the link hands over to a page without the token
    assert form.context["validlink"] is True
    return client.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )


# --- display name ---------------------------------------------------------------


def test_account_page_requires_login(client):
    response = client.get(reverse("account"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_account_page_shows_the_current_display_name_and_the_account_links(logged_in, person):
    user_update_display_name(person, "Ada Lovelace")
    page = logged_in.get(reverse("account")).content.decode()
    assert 'value="Ada Lovelace"' in page
    assert reverse("password_change") in page
    assert reverse("logout") in page


def test_display_name_is_saved(logged_in, person):
    response = logged_in.post(reverse("account"), {"display_name": "Ada Lovelace"}, follow=True)
    assert reload(person).first_name == "Ada Lovelace"
    assert "People will see you as “Ada Lovelace”." in response.content.decode()


def test_display_name_is_trimmed(logged_in, person):
    logged_in.post(reverse("account"), {"display_name": "   Ada \t  Lovelace  \n"})
    assert reload(person).first_name == "Ada Lovelace"


def test_too_long_display_name_shows_a_clear_error_and_keeps_the_old_one(logged_in, person):
    user_update_display_name(person, "Ada")
    response = logged_in.post(reverse("account"), {"display_name": "x" * 151})
    assert response.status_code == 200
    assert (
        "Keep your display name to 150 characters or fewer (this one has 151)."
        in response.content.decode()
    )
    assert reload(person).first_name == "Ada"


def test_display_name_of_150_characters_after_trimming_is_accepted(logged_in, person):
    logged_in.post(reverse("account"), {"display_name": "  " + "x" * 150 + "  "})
    assert reload(person).first_name == "x" * 150


def test_empty_display_name_falls_back_to_the_username(logged_in, person):
    user_update_display_name(person, "Ada")
    response = logged_in.post(reverse("account"), {"display_name": "   "}, follow=True)
    assert reload(person).first_name == ""
    assert display_name(reload(person)) == "ada"
    assert "People will see your username, “ada”." in response.content.decode()


def test_display_name_helper_prefers_the_display_name():
    assert display_name(user_factory(username="grace", first_name="Grace Hopper")) == "Grace Hopper"


def test_display_name_is_shown_escaped(logged_in, person):
    logged_in.post(reverse("account"), {"display_name": "<b>Ada</b>"})
    page = logged_in.get(reverse("account")).content.decode()
    assert "<b>Ada</b>" not in page
    assert "&lt;b&gt;Ada&lt;/b&gt;" in page


# --- changing the password -------------------------------------------------------


def test_password_change_works_end_to_end(logged_in, person):
    response = logged_in.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("password_change_done")
    assert "Password changed" in response.content.decode()
    assert logged_in.get(reverse("account")).status_code == 200  # still logged in
    logged_in.logout()
    assert not logged_in.login(username="ada", password=PASSWORD)
    assert logged_in.login(username="ada", password=NEW_PASSWORD)


def test_password_change_with_a_wrong_current_password_is_refused(logged_in, person):
    response = logged_in.post(
        reverse("password_change"),
        {"old_password": "not-it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "That is not your current password. Try typing it again." in response.content.decode()
    assert reload(person).check_password(PASSWORD)


def test_password_change_with_two_different_new_passwords_says_so(logged_in, person):
    response = logged_in.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": "other-42-x"},
    )
    assert "The two new passwords are not the same." in response.content.decode()
    assert reload(person).check_password(PASSWORD)


def test_password_change_page_requires_login(client):
    response = client.get(reverse("password_change"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- resetting a forgotten password ------------------------------------------------


def test_login_page_links_to_password_reset(client):
    page = client.get(reverse("login")).content.decode()
    assert f'href="{reverse("password_reset")}"' in page
    assert "Forgot your password?" in page


def test_password_reset_sends_one_email(client, person):
    response = ask_for_a_reset(client)
    assert response.redirect_chain[-1][0] == reverse("password_reset_done")
    assert "Check your email" in response.content.decode()
    (email,) = mail.outbox
    assert email.to == ["ada@example.com"]
    assert email.subject == "Choose a new password for VisionQA"
    assert email.from_email == "VisionQA <noreply@localhost>"


def test_password_reset_link_sets_a_new_password_that_logs_in(client, person):
    ask_for_a_reset(client)
    response = set_new_password_through(client, the_reset_link())
    assert response.redirect_chain[-1][0] == reverse("password_reset_complete")
    assert "Your new password is set" in response.content.decode()
    assert not client.login(username="ada", password=PASSWORD)
    assert client.login(username="ada", password=NEW_PASSWORD)


def test_reset_with_two_different_new_passwords_says_so(client, person):
    ask_for_a_reset(client)
    form = client.get(the_reset_link(), follow=True)
    response = client.post(
        form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": "other-42-x"}
    )
    assert "The two new passwords are not the same." in response.content.decode()
    assert reload(person).check_password(PASSWORD)


def test_used_reset_link_shows_a_clear_message(client, person):
    ask_for_a_reset(client)
    link = the_reset_link()
    set_new_password_through(client, link)
    response = client.get(link, follow=True)
    assert response.context["validlink"] is False
    page = response.content.decode()
    assert "This link no longer works" in page
    assert reverse("password_reset") in page  # and the way to a new one


def test_invalid_reset_link_shows_a_clear_message(client, person):
    response = client.get("/accounts/reset/MQ/not-a-real-token/", follow=True)
    assert response.status_code == 200
    assert "This link no longer works" in response.content.decode()
    assert "new_password1" not in response.content.decode()


def test_reset_email_never_contains_the_password(client, person):
    ask_for_a_reset(client)
    (email,) = mail.outbox
    assert PASSWORD not in email.body
    assert PASSWORD not in email.subject
    assert person.password not in email.body  # nor its hash


def test_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client, person):
    response = ask_for_a_reset(client, "nobody@example.com")
    assert response.redirect_chain[-1][0] == reverse("password_reset_done")
    assert mail.outbox == []


def test_where_no_email_is_sent_the_reset_page_says_whom_to_ask(client, person, settings):
    settings.PASSWORD_RESET_BY_EMAIL = False
    page = client.get(reverse("password_reset"))
    assert page.status_code == 200
    assert b"does not send email" in page.content
    assert b'name="email"' not in page.content
    asked = ask_for_a_reset(client)
    assert asked.status_code == 200
    assert b"does not send email" in asked.content
    assert mail.outbox == []


# --- in the page's language (issue 17) -----------------------------------------


@pytest.fixture
def heavy_user(person):
    """1,234,567 tokens of a 2,000,000 budget this month, about $1,234.57."""
    UserLimit.objects.create(user=person, monthly_tokens=2_000_000)
    usage_factory(person, tokens=1_234_567, cost_usd=Decimal("1234.567"))
    return person


@pytest.mark.parametrize(
    ("accept_language", "tokens", "budget"),
    [("en", "1,234,567", "2,000,000"), ("de", "1.234.567", "2.000.000")],
)
def test_the_usage_figures_follow_the_pages_language(
    logged_in, heavy_user, accept_language, tokens, budget
):
    # Django's locale formats ship with Django: no catalog of ours is needed.
    page = logged_in.get(reverse("account"), HTTP_ACCEPT_LANGUAGE=accept_language)
    html = page.content.decode()
    assert f"<strong>{tokens}</strong>" in html
    assert budget in html


def test_a_saved_language_wins_over_the_browsers_for_the_figures(logged_in, heavy_user):
    user_update_language(heavy_user, "de")
    html = logged_in.get(reverse("account"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<strong>1.234.567</strong>" in html


def test_the_usage_sentences_are_translated_with_the_languages_numbers(heavy_user, catalog):
    catalog(
        "de",
        {
            "about $%(amount)s": "etwa %(amount)s $",
            ("%(count)s token", 1): "%(count)s Token",
        },
    )
    resets = usage_this_month(heavy_user)["resets_on"]
    with translation.override("de"):
        usage = usage_for_page(heavy_user)
        day = formats.date_format(resets, "j. F")  # German's own: "1. Dezember"
    assert usage["cost_text"] == "etwa 1.234,57 $"
    assert usage["tokens_text"] == "1.234.567 Token"
    assert usage["resets_text"] == day


def test_english_keeps_its_day_and_its_cents(heavy_user):
    resets = usage_this_month(heavy_user)["resets_on"]
    with translation.override("en"):
        usage = usage_for_page(heavy_user)
    assert usage["cost_text"] == "about $1,234.57"
    assert usage["tokens_text"] == "1,234,567 tokens"
    assert usage["resets_text"] == f"{resets.day} {resets:%B}"  # "1 December"


def test_a_flash_message_is_in_the_pages_language(logged_in, person, catalog):
    catalog("fr", {"Saved. People will see you as “%(name)s”.": "Enregistré : « %(name)s »."})
    response = logged_in.post(
        reverse("account"), {"display_name": "Ada L."}, follow=True, HTTP_ACCEPT_LANGUAGE="fr"
    )
    assert "Enregistré : « Ada L. »." in response.content.decode()
