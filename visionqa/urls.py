from django.contrib import admin
from django.urls import include, path

from chat.web import account, catalog, language
from visionqa import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # The admin's log-in, throttled like ours (chat/web/account.py).
    path("admin/login/", account.admin_login),
    path("admin/", admin.site.urls),
    # Django's own log-in and password views, with plainer error messages and
    # throttles on guessing and on reset emails (chat/web/account.py).
    path("accounts/login/", account.login, name="login"),
    path("accounts/password_change/", account.password_change, name="password_change"),
    path(
        "accounts/reset/<uidb64>/<token>/",
        account.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path("accounts/password_reset/", account.password_reset, name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("account/", account.account_page, name="account"),
    path("language/", language.language_set, name="language-set"),
    # The pages' scripts' messages, in the page's language (static/chat/i18n.js).
    path(
        "jsi18n/<str:language>/<str:digest>.js",
        catalog.javascript_catalog,
        name="javascript-catalog",
    ),
    path("", include("chat.urls")),
]

# JSON under /api/, Django's own pages elsewhere (chat/web/api_errors.py).
handler400 = "chat.web.api_errors.bad_request"
handler403 = "chat.web.api_errors.permission_denied"
handler404 = "chat.web.api_errors.page_not_found"
handler500 = "chat.web.api_errors.server_error"
