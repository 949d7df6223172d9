from django.contrib import admin

from .models import Conversation, Image, Message, UsageRecord


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("role", "model", "status", "text")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ("title", "owner", "updated_at")
    search_fields = ("title", "owner__username")
    inlines = [MessageInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "conversation", "role", "model", "status", "created_at")
    list_filter = ("role", "status", "model")
    exclude = ("images",)


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "width", "height", "created_at")


@admin.register(UsageRecord)
class UsageRecordAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "user",
        "model",
        "status",
        "prompt_tokens",
        "completion_tokens",
        "reasoning_tokens",
        "first_token_ms",
        "duration_ms",
    )
    list_filter = ("model", "status")
    date_hierarchy = "created_at"
    search_fields = ("user__username",)

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
