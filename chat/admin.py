"""The Django admin: conversations, messages, photos and teams, and staff
review of conversations, every opening of one logged. Usage (records, CSV,
dashboard, prices, limits) is in admin_usage, registered from here."""

import uuid
from typing import Any, cast

from django.contrib import admin
from django.contrib.auth.models import User
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import Prefetch
from django.db.models.constants import LOOKUP_SEP
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
)
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from chat.usage import admin_usage  # noqa: F401 (registers the usage admin)
from chat.web.account import AdminLoginForm
from chat.web.files import photo_response

from .models import (
    Conversation,
    Image,
    Message,
    MessageImage,
    ReviewLog,
    Team,
)

# Staff passwords are the ones most worth guessing: the admin's log-in is
# throttled like everyone's (served by chat.web.account.admin_login).
admin.site.login_form = AdminLoginForm


def _log_review(request: HttpRequest, conversation_id: uuid.UUID) -> None:
    """A staff member saw a conversation's content: who, which, when."""
    # The admin lets only signed-in staff in.
    staff = cast(User, request.user)
    ReviewLog.objects.create(staff=staff, conversation_id=conversation_id)


# What people wrote, and the names they uploaded photos under: staff see it
# only in a review, logged (below). A list narrowed by it would tell which
# conversations say a word, which is reading them, unlogged.
PRIVATE_TEXT = {
    (Message, "text"),
    (Message, "reasoning"),
    (Message, "options"),  # the stop sequences
    (Conversation, "system_prompt"),
    (Image, "original_name"),
}


class _PrivateTextNotSearched(admin.ModelAdmin):
    """The list's lookups (?text__icontains=…) refuse private text, along any
    relation, whatever the lookup: a 400. Refused rather than logged as a
    review: a search reads every conversation at once, and the log names one
    conversation per look. (No search_fields of ours name private text:
    tests/chat/test_admin.py keeps it so.)"""

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        model = self.model
        for part in lookup.split(LOOKUP_SEP):
            try:
                field = model._meta.get_field(part)
            except FieldDoesNotExist:
                break  # a lookup or a transform (icontains, a JSON key): the path ends
            if (model, field.name) in PRIVATE_TEXT:
                return False
            if field.related_model is None:
                break
            model = field.related_model
        return super().lookup_allowed(lookup, value, request)


class _ChangePageIsAReview(admin.ModelAdmin):
    """Opening an object's change page shows what people wrote or photographed:
    a review of each conversation it is from, logged."""

    def reviewed(self, shown: Any) -> list[uuid.UUID]:
        """The conversations whose content the page shows."""
        raise NotImplementedError

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, object] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            shown = self.get_object(request, object_id)
            assert shown is not None  # the page just showed it
            for conversation_id in self.reviewed(shown):
                _log_review(request, conversation_id)
        return response


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("role", "model", "status", "text")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Conversation)
class ConversationAdmin(_PrivateTextNotSearched, _ChangePageIsAReview):
    list_display = ("title", "owner", "team", "updated_at", "deleted_at", "review_link")
    list_select_related = ("owner", "team")
    search_fields = ("title", "owner__username")
    inlines = [MessageInline]

    @admin.display(description=gettext_lazy("Review"))
    def review_link(self, obj: Conversation) -> SafeString:
        return format_html(
            '<a class="viewlink" href="{}">{}</a>',
            reverse("admin:chat_conversation_review", args=[obj.pk]),
            _("Review"),
        )

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path(
                "<uuid:conversation_id>/review/",
                view(self.review_view),
                name="chat_conversation_review",
            ),
            path(
                "<uuid:conversation_id>/review/photo/<uuid:image_id>/",
                view(self.review_photo_view),
                name="chat_conversation_review_photo",
            ),
            path(
                "<uuid:conversation_id>/review/photo/<uuid:image_id>/full/",
                view(self.review_photo_view),
                {"full": True},
                name="chat_conversation_review_photo_full",
            ),
            *super().get_urls(),
        ]

    def reviewed(self, shown: Conversation) -> list[uuid.UUID]:
        # The change page shows the messages too: that is a review, logged.
        return [shown.pk]

    def review_view(self, request: HttpRequest, conversation_id: uuid.UUID) -> HttpResponseBase:
        """The conversation as its people saw it, read-only; every opening logged."""
        if request.method not in ("GET", "HEAD"):
            return HttpResponseNotAllowed(["GET", "HEAD"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        conversation = get_object_or_404(
            Conversation.objects.select_related("owner", "team"), pk=conversation_id
        )
        _log_review(request, conversation.pk)
        messages = conversation.messages.select_related("author").prefetch_related(
            Prefetch(
                "messageimage_set",
                queryset=MessageImage.objects.select_related("image").order_by("position"),
            )
        )
        reviews = ReviewLog.objects.filter(conversation=conversation)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Review: %(title)s")
            % {"title": conversation.title or _("Untitled conversation")},
            "opts": self.opts,
            "conversation": conversation,
            "conversation_messages": messages,
            "review_count": reviews.count(),
            "reviews_url": reverse("admin:chat_reviewlog_changelist")
            + f"?conversation={conversation.pk}",
        }
        return TemplateResponse(request, "admin/chat/conversation/review.html", context)

    def review_photo_view(
        self,
        request: HttpRequest,
        conversation_id: uuid.UUID,
        image_id: uuid.UUID,
        full: bool = False,
    ) -> HttpResponseBase:
        """A photo of that conversation (its thumbnail, or the stored photo);
        nothing else, whatever id is asked for."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        image = Image.objects.filter(pk=image_id, messages__conversation_id=conversation_id).first()
        if image is None:
            raise Http404("No such photo in this conversation.")
        response = photo_response(image, full=full, cache_control="private, no-store")
        if response is None:
            raise Http404("The photo's file is missing.")
        return response


@admin.register(Message)
class MessageAdmin(_PrivateTextNotSearched, _ChangePageIsAReview):
    list_display = ("id", "conversation", "role", "model", "status", "created_at")
    list_filter = ("role", "status", "model")
    exclude = ("images",)

    def reviewed(self, shown: Message) -> list[uuid.UUID]:
        return [shown.conversation_id]


@admin.register(Image)
class ImageAdmin(_PrivateTextNotSearched, _ChangePageIsAReview):
    """A photo's page. Its files are private (no URL: Django's file widgets
    can't show them), so the page names them, and shows the picture through
    the review's photo view of a conversation it was asked about: seeing it
    is a review of each of those, logged. A photo in no conversation is not
    shown, nor its file name: there is no conversation to log the look
    against."""

    list_display = ("id", "owner", "width", "height", "created_at")
    fields = (
        "picture",
        "owner",
        "file_name",
        "width",
        "height",
        "content_type",
        "size_bytes",
        "stored_as",
        "asked_about_in",
        "created_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A photo comes only through the upload: decoded, checked, its metadata stripped.
        return False

    def has_change_permission(self, request: HttpRequest, obj: Image | None = None) -> bool:
        return False  # a person's photo, not ours to edit: the page is read-only

    def reviewed(self, shown: Image) -> list[uuid.UUID]:
        return [c.pk for c in self._conversations(shown)]

    def _conversations(self, image: Image) -> list[Conversation]:
        return list(Conversation.objects.filter(messages__images=image).distinct())

    @admin.display(description=gettext_lazy("photo"))
    def picture(self, image: Image) -> SafeString | str:
        conversations = self._conversations(image)
        if not conversations:
            return _(
                "Not shown: this photo is in no conversation, so seeing it couldn't be logged."
            )
        args = [conversations[0].pk, image.pk]
        return format_html(
            '<a href="{}"><img src="{}" alt="{}"></a>',
            reverse("admin:chat_conversation_review_photo_full", args=args),
            reverse("admin:chat_conversation_review_photo", args=args),
            _("The photo (its thumbnail)"),
        )

    @admin.display(description=gettext_lazy("name it was uploaded under"))
    def file_name(self, image: Image) -> str:
        return image.original_name if self._conversations(image) else _("(not shown)")

    @admin.display(description=gettext_lazy("stored as"))
    def stored_as(self, image: Image) -> str:
        return _("%(file)s (thumbnail %(thumbnail)s)") % {
            "file": image.file.name,
            "thumbnail": image.thumbnail.name,
        }

    @admin.display(description=gettext_lazy("asked about in"))
    def asked_about_in(self, image: Image) -> SafeString | str:
        links = [
            format_html(
                '<a href="{}">{}</a>',
                reverse("admin:chat_conversation_review", args=[c.pk]),
                c.title or _("Untitled conversation"),
            )
            for c in self._conversations(image)
        ]
        return format_html_join(", ", "{}", ((link,) for link in links)) if links else "—"


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)


# --- Usage --------------------------------------------------------------------
