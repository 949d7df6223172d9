import secrets
import uuid
from concurrent.futures import Future

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def new_token() -> str:
    """Unguessable (256 random bits), safe in a URL."""
    return secrets.token_urlsafe(32)


class Team(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return f"/teams/{self.id}/"


class Membership(models.Model):
    # The labels are what people read (the team page, the admin), translated.
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        ADMIN = "admin", _("Admin")
        MEMBER = "member", _("Member")

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["joined_at"]
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.team_id} ({self.role})"


class Removal(models.Model):
    """Someone removed from a team: no invite made before this brings them back."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="removals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    removed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user_id} removed from {self.team_id}"


class Invite(models.Model):
    """A link that lets people join a team: expiring, with a number of uses."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invites")
    token = models.CharField(max_length=64, unique=True, default=new_token)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    email = models.EmailField(blank=True)  # sent to this address, if any
    max_uses = models.PositiveIntegerField(null=True, blank=True)  # None: no limit
    uses = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invite to {self.team_id}"


class Conversation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    # None: the owner's personal space. In a team, every current member shares it.
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    title = models.CharField(max_length=200, blank=True)
    system_prompt = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Last activity (a question, a reply), which orders the sidebar.
    updated_at = models.DateTimeField(auto_now=True)
    # Soft delete: set when the owner deletes it, cleared by Undo.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["owner", "-updated_at"])]

    def __str__(self) -> str:
        return self.title or str(self.id)

    def get_absolute_url(self) -> str:
        return f"/c/{self.id}/"


class Image(models.Model):
    """A photo as stored: upright, metadata stripped. Sent upstream at a detail level."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="images"
    )
    file = models.FileField(upload_to="photos/%Y/%m/")
    thumbnail = models.FileField(upload_to="thumbs/%Y/%m/")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    content_type = models.CharField(max_length=40)
    original_name = models.CharField(max_length=255, blank=True)
    size_bytes = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    # Not a field: set by image_create on the photo it just stored, a Future
    # done once each detail's picture is cached (None if it won't be). Photos
    # read back from the database have no such attribute.
    warmed: Future[None] | None

    class Meta:
        # Counting a person's photos of the last hour (chat.usage.photo_limits).
        indexes = [models.Index(fields=["owner", "created_at"])]

    def __str__(self) -> str:
        # Not its file name, which can say what the photo shows: the admin puts
        # this in page titles and its action log, where looking isn't logged.
        return _("photo %(id)s") % {"id": self.id}


class Message(models.Model):
    # The labels are the admin's filters and columns, translated.
    class Role(models.TextChoices):
        USER = "user", _("User")
        ASSISTANT = "assistant", _("Assistant")

    class Status(models.TextChoices):
        COMPLETED = "completed", _("Completed")
        STREAMING = "streaming", _("Streaming")
        STOPPED = "stopped", _("Stopped")
        FAILED = "failed", _("Failed")
        INTERRUPTED = "interrupted", _("Interrupted")

    class Detail(models.TextChoices):
        LOW = "low", _("Low")
        HIGH = "high", _("High")
        AUTO = "auto", _("Auto")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    text = models.TextField(blank=True)
    reasoning = models.TextField(blank=True)
    images = models.ManyToManyField(Image, through="MessageImage", related_name="messages")
    model = models.CharField(max_length=120, blank=True)
    detail = models.CharField(max_length=8, choices=Detail.choices, default=Detail.AUTO)
    options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.COMPLETED)
    finish_reason = models.CharField(max_length=32, blank=True)
    usage = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    # Something the user should know about this reply, e.g. history left out.
    notice = models.CharField(max_length=300, blank=True)
    # Regenerated: kept and shown folded, but no longer part of what the model reads.
    superseded = models.BooleanField(default=False)
    # On a question: the parts of its photos the person marked, in the order
    # they were sent (region n is item n-1), each {"image": "<photo id>",
    # "box": [x1, y1, x2, y2]} in Qwen3-VL's 0–1000 coordinates of the photo
    # upright. Part of the question as asked, never edited and always read
    # with it: a list here, not a table every read would have to join.
    regions = models.JSONField(default=list, blank=True)
    # A question's: the interface language of the person who asked (a code from
    # settings.LANGUAGES), which the model is asked to answer in.
    language = models.CharField(max_length=16, blank=True)
    # On a question: what the person asked the model to locate ("Find"),
    # from which the upstream prompt is built; "" when it is a plain question.
    find = models.CharField(max_length=200, blank=True)
    # On a reply: who set this call off (asked, regenerated or tried again),
    # whose usage it counts as. In a team, not always the question's author.
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The channel of the task generating this reply, so a socket that joins
    # mid-reply can ask it for the text so far, whichever process it runs in.
    worker_channel = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Doubles as the generation's heartbeat while status is "streaming".
    updated_at = models.DateTimeField(auto_now=True)

    # Not a field: the photos of a message just saved with them (question_ask),
    # so serializing it needs no query for them (selectors.message_images).
    # Messages read back from the database have no such attribute.
    photos: list[Image]

    class Meta:
        ordering = ["created_at", "role"]
        indexes = [models.Index(fields=["conversation", "created_at"])]

    def __str__(self) -> str:
        return f"{self.role} {self.id}"


class MessageImage(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE)
    image = models.ForeignKey(Image, on_delete=models.CASCADE)
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["message", "position"], name="unique_image_position")
        ]

    def __str__(self) -> str:
        return f"{self.message_id} #{self.position}"


class UsageRecord(models.Model):
    """One per upstream call, whatever its outcome."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    # The team whose space the conversation was in at the time (None: personal).
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL)
    conversation = models.ForeignKey(Conversation, null=True, on_delete=models.SET_NULL)
    message = models.ForeignKey(Message, null=True, on_delete=models.SET_NULL)
    model = models.CharField(max_length=120)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    reasoning_tokens = models.PositiveIntegerField(default=0)
    # True when the upstream sent no usage (a cut stream, a stop): counted by us.
    estimated = models.BooleanField(default=False)
    image_count = models.PositiveSmallIntegerField(default=0)
    visual_tokens = models.PositiveIntegerField(default=0)  # the photos' estimate
    # From the price table at the time of the call; None when no price is known.
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    detail = models.CharField(max_length=8, blank=True)
    status = models.CharField(max_length=16)
    attempts = models.PositiveSmallIntegerField(default=1)
    error_code = models.CharField(max_length=64, blank=True)
    first_token_ms = models.PositiveIntegerField(null=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "created_at"]),
            models.Index(fields=["team", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.status} {self.created_at:%Y-%m-%d %H:%M}"


class ModelPrice(models.Model):
    """What a model costs, per million tokens; an administrator edits it in the
    admin, no deploy needed. It overrides the catalog's prices."""

    model = models.CharField(max_length=120, unique=True)
    input_per_m = models.DecimalField(
        _("input, $ per million tokens"), max_digits=10, decimal_places=4
    )
    output_per_m = models.DecimalField(
        _("output, $ per million tokens"), max_digits=10, decimal_places=4
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model"]

    def __str__(self) -> str:
        return self.model


class UserLimit(models.Model):
    """An administrator's limits for one person. Tokens: empty is no limit.
    Questions a minute and photos: empty is the default for everyone (settings)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="limit"
    )
    monthly_tokens = models.PositiveIntegerField(null=True, blank=True)
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True)
    photos_per_hour = models.PositiveIntegerField(null=True, blank=True)
    photo_storage_mb = models.PositiveIntegerField(
        _("photo storage (MB)"), null=True, blank=True
    )

    def __str__(self) -> str:
        return _("limits for %(user)s") % {"user": self.user}


class TeamLimit(models.Model):
    """An administrator's limits for a team's conversations: a monthly token
    budget (the team's, all its members together) and questions a minute for
    each person (applied with the person's own, if set: the lower counts).
    Empty: no budget, and the person's own or the default for questions."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="limit")
    monthly_tokens = models.PositiveIntegerField(null=True, blank=True)
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return _("limits for %(team)s") % {"team": self.team}


class Attempt(models.Model):
    """One try counted by a throttle (chat.accounts.throttle): a log-in, or a
    password-reset request, against what it is counted by. The key is a keyed
    hash of that (a user name, an address, an email): the table holds none of
    them. Rows older than their throttle's window are swept as new ones come."""

    class Kind(models.TextChoices):
        LOGIN_ACCOUNT = "login_account"
        LOGIN_ADDRESS = "login_address"
        RESET_EMAIL = "reset_email"
        RESET_ADDRESS = "reset_address"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    key = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["kind", "key", "at"]),
            models.Index(fields=["kind", "at"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M:%S}"


class ReviewLog(models.Model):
    """A staff member opened someone's conversation for review."""

    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE)
    viewed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-viewed_at"]

    def __str__(self) -> str:
        return _("%(staff)s viewed %(conversation)s") % {
            "staff": self.staff,
            "conversation": self.conversation_id,
        }


class Preference(models.Model):
    """What a person last picked (model, photo detail, the interface's
    language), so every device they use opens with it."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference"
    )
    model = models.CharField(max_length=200, blank=True)
    detail = models.CharField(max_length=8, blank=True)
    # A code from settings.LANGUAGES; empty: follow the browser.
    language = models.CharField(max_length=16, blank=True)

    def __str__(self) -> str:
        return f"preference of {self.user_id}"


class ShareLink(models.Model):
    """A read-only public link to a conversation, until revoked or expired."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="share_links"
    )
    token = models.CharField(max_length=64, unique=True, default=new_token)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)  # None: until revoked
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"link to {self.conversation_id}"

    def get_absolute_url(self) -> str:
        return f"/s/{self.token}/"
