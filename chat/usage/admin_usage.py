"""The admin for usage: the records (read-only, totals, a streaming CSV, the
dashboard), model prices, limits, and the log of staff reviews."""

import csv
import io
from collections.abc import Generator
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.options import IS_POPUP_VAR, TO_FIELD_VAR, IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG, IS_FACETS_VAR, ORDER_VAR, PAGE_VAR
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from chat.models import ModelPrice, ReviewLog, TeamLimit, UsageRecord, UserLimit
from chat.numbers import grouped
from chat.usage import dashboard, photo_limits, usage_stats
from chat.web import files

CSV_CHUNK_ROWS = 2000
# Query-string parameters of a changelist that do not narrow what it lists.
NOT_FILTERS = {ORDER_VAR, IS_FACETS_VAR, IS_POPUP_VAR, TO_FIELD_VAR, PAGE_VAR, ERROR_FLAG}


# The CSV is data for a spreadsheet or a script: its column names and cells
# are the same in every language.
CSV_COLUMNS = (
    ("created_at", "created_at"),
    ("user_id", "user_id"),
    ("user__username", "username"),
    ("team_id", "team_id"),
    ("team__name", "team"),
    ("conversation_id", "conversation_id"),
    ("message_id", "message_id"),
    ("model", "model"),
    ("status", "status"),
    ("error_code", "error_code"),
    ("attempts", "attempts"),
    ("prompt_tokens", "prompt_tokens"),
    ("completion_tokens", "completion_tokens"),
    ("reasoning_tokens", "reasoning_tokens"),
    ("estimated", "estimated"),
    ("image_count", "image_count"),
    ("visual_tokens", "visual_tokens"),
    ("detail", "detail"),
    ("cost_usd", "cost_usd"),
    ("first_token_ms", "first_token_ms"),
    ("duration_ms", "duration_ms"),
)


def _cell(value: object) -> object:
    """A CSV cell. Text a spreadsheet would run as a formula (a team called
    "=HYPERLINK(…)") is kept as text with a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def usage_csv_chunks(queryset: QuerySet[UsageRecord]) -> Generator[str, None, None]:
    """CSV text, a chunk per CSV_CHUNK_ROWS records, read from the database in
    chunks too: memory stays flat however many records match."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([header for _field, header in CSV_COLUMNS])
    fields = [field for field, _header in CSV_COLUMNS]
    rows = queryset.values_list(*fields).iterator(chunk_size=CSV_CHUNK_ROWS)
    for count, row in enumerate(rows, 1):
        writer.writerow([_cell(v) for v in row])
        if count % CSV_CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


class ReadOnlyAdmin(admin.ModelAdmin):
    """A log: staff read it; nobody adds, edits or deletes a row."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    """One row per upstream call; nobody edits them. Above the list, the totals
    of whatever the filters select; the CSV downloads exactly that selection."""

    list_display = (
        "created_at",
        "user",
        "team",
        "model_name",
        "status",
        "error_code",
        "prompt_tokens",
        "completion_tokens",
        "reasoning_tokens",
        "estimated",
        "visual_tokens",
        "cost",
        "ttft",
        "duration",
    )
    list_select_related = ("user", "team")
    list_filter = (
        "model",
        "status",
        "error_code",
        "team",
        ("created_at", admin.DateFieldListFilter),
        "estimated",
    )
    date_hierarchy = "created_at"
    search_fields = ("user__username", "user__first_name")
    search_help_text = gettext_lazy("Search by user name or first name.")
    list_per_page = 100
    # No second COUNT(*) over the whole table on every page.
    show_full_result_count = False

    @admin.display(description=gettext_lazy("model"), ordering="model")
    def model_name(self, obj: UsageRecord) -> SafeString:
        """Without the vendor, to keep the list narrow; the whole id on hover."""
        return format_html('<span title="{}">{}</span>', obj.model, obj.model.rsplit("/", 1)[-1])

    @admin.display(description=gettext_lazy("cost (USD)"), ordering="cost_usd")
    def cost(self, obj: UsageRecord) -> str:
        return "–" if obj.cost_usd is None else grouped(obj.cost_usd, 6)

    @admin.display(description=gettext_lazy("TTFT (ms)"), ordering="first_token_ms")
    def ttft(self, obj: UsageRecord) -> int | str:
        return "–" if obj.first_token_ms is None else obj.first_token_ms

    @admin.display(description=gettext_lazy("duration (ms)"), ordering="duration_ms")
    def duration(self, obj: UsageRecord) -> int:
        return obj.duration_ms

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path("export.csv", view(self.export_csv), name="chat_usagerecord_export"),
            path("dashboard/", view(self.dashboard_view), name="chat_usagerecord_dashboard"),
            *super().get_urls(),
        ]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, object] | None = None
    ) -> HttpResponse:
        response = super().changelist_view(request, extra_context)
        context = getattr(response, "context_data", None)
        if context and "cl" in context:
            changelist = context["cl"]
            # One aggregate over the list's own filtered queryset.
            context["totals"] = usage_stats.totals(changelist.queryset)
            context["totals_filtered"] = any(
                value and name not in NOT_FILTERS for name, value in changelist.params.items()
            )
        return response

    def export_csv(self, request: HttpRequest) -> HttpResponseBase:
        """The records the changelist shows for the same query string, as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return redirect(reverse("admin:chat_usagerecord_changelist") + "?e=1")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        # The chunks read the database: on the request's own thread, where its cursor lives.
        return files.streaming_download(
            request,
            usage_csv_chunks(changelist.get_queryset(request)),
            content_type="text/csv; charset=utf-8",
            filename=f"usage-{stamp}.csv",
            cache_control="private, no-store",
            thread_sensitive=True,
        )

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        return dashboard.usage_dashboard(request, self)


class ModelPriceForm(forms.ModelForm):
    class Meta:
        model = ModelPrice
        fields = ("model", "input_per_m", "output_per_m")
        help_texts = {
            "model": gettext_lazy(
                "The model's id as it is sent to the AI service, "
                "e.g. alibaba/qwen3-vl-32b-thinking."
            ),
            "input_per_m": gettext_lazy(
                "US dollars per million prompt tokens (question, history, photos)."
            ),
            "output_per_m": gettext_lazy(
                "US dollars per million completion tokens (thinking included)."
            ),
        }


@admin.register(ModelPrice)
class ModelPriceAdmin(admin.ModelAdmin):
    form = ModelPriceForm
    list_display = ("model", "input_per_m", "output_per_m", "updated_at")
    search_fields = ("model",)
    fieldsets = (
        (
            None,
            {
                "fields": ("model", "input_per_m", "output_per_m"),
                "description": gettext_lazy(
                    "A price here overrides the model catalog's price for that model. "
                    "It applies to calls made from now on; usage records already made "
                    "keep the cost they were given."
                ),
            },
        ),
    )


def _questions_default() -> str:
    return grouped(settings.VISIONQA["QUESTIONS_PER_MINUTE"])


@admin.register(UserLimit)
class UserLimitAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "monthly_tokens",
        "requests_per_minute",
        "photos_per_hour",
        "photo_storage_mb",
    )
    list_select_related = ("user",)
    search_fields = ("user__username", "user__first_name")
    autocomplete_fields = ("user",)
    readonly_fields = ("photo_storage_used",)

    def get_form(
        self,
        request: HttpRequest,
        obj: UserLimit | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> "type[forms.ModelForm[UserLimit]]":  # quoted: ModelForm is generic only to mypy
        # Empty means "no limit" for some fields and "the default" for others:
        # each says which, with the default as this server has it.
        defaults = photo_limits.photo_allowance_default()
        kwargs["help_texts"] = {
            "monthly_tokens": _("Empty: no limit."),
            "requests_per_minute": _(
                "Questions a minute (a team's figure for its conversations applies too: "
                "the lower counts). Empty: the default for everyone, %(default)s."
            )
            % {"default": _questions_default()},
            "photos_per_hour": _("Empty: the default for everyone, %(default)s.")
            % {"default": grouped(defaults.per_hour)},
            "photo_storage_mb": _(
                "The photos they may keep in all. Empty: the default for everyone, %(default)s MB."
            )
            % {"default": grouped(defaults.storage_mb)},
        }
        return super().get_form(request, obj, change, **kwargs)

    @admin.display(description=gettext_lazy("photo storage used"))
    def photo_storage_used(self, obj: UserLimit) -> str:
        if obj.pk is None:
            return "—"
        used = photo_limits.megabytes(photo_limits.photo_storage_used(obj.user))
        return _("%(used)s of %(storage)s MB") % {
            "used": used,
            "storage": grouped(photo_limits.photo_allowance(obj.user).storage_mb),
        }


@admin.register(TeamLimit)
class TeamLimitAdmin(admin.ModelAdmin):
    list_display = ("team", "monthly_tokens", "requests_per_minute")
    list_select_related = ("team",)
    search_fields = ("team__name",)
    autocomplete_fields = ("team",)

    def get_form(
        self,
        request: HttpRequest,
        obj: TeamLimit | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> "type[forms.ModelForm[TeamLimit]]":  # quoted: ModelForm is generic only to mypy
        kwargs["help_texts"] = {
            "monthly_tokens": _("The team's, all its members together. Empty: no limit."),
            "requests_per_minute": _(
                "Questions a minute for each person, in this team's conversations (a "
                "person's own figure applies too: the lower counts). Empty: their own, "
                "or the default for everyone, %(default)s."
            )
            % {"default": _questions_default()},
        }
        return super().get_form(request, obj, change, **kwargs)


@admin.register(ReviewLog)
class ReviewLogAdmin(ReadOnlyAdmin):
    """Who opened which conversation, when. Nobody edits or deletes the log."""

    list_display = ("viewed_at", "staff", "conversation_title", "owner", "conversation_id")
    list_select_related = ("staff", "conversation__owner")
    list_filter = (
        ("staff", admin.RelatedOnlyFieldListFilter),
        ("viewed_at", admin.DateFieldListFilter),
    )
    date_hierarchy = "viewed_at"
    search_fields = ("staff__username", "conversation__title", "conversation__owner__username")
    list_per_page = 100

    @admin.display(description=gettext_lazy("conversation"), ordering="conversation__title")
    def conversation_title(self, obj: ReviewLog) -> str:
        return obj.conversation.title or _("Untitled conversation")

    @admin.display(description=gettext_lazy("owner"), ordering="conversation__owner__username")
    def owner(self, obj: ReviewLog) -> AbstractBaseUser:
        return obj.conversation.owner
