from django.contrib import admin
from django.urls import include, path

from chat.web import account
from visionqa import health

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    # Django's own password views, with plainer error messages (chat/account.py).
    path("accounts/password_change/", account.password_change, name="password_change"),
    path(
        "accounts/reset/<uidb64>/<token>/",
        account.password_reset_confirm,
        name="password_reset_confirm",
    ),
    path("accounts/password_reset/", account.password_reset, name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("account/", account.account_page, name="account"),
    path("", include("chat.urls")),
]

handler500 = "chat.web.api.server_error"
