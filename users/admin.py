from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet

from common.admin_tables import short_datetime, truncated
from users.models import User

# How many listeners the listener filter offers by name; any other is reached through the
# listener page's links (the filter keeps a selected listener however it was chosen).
LISTENER_FILTER_CHOICES = 30


@admin.display(description="listener", ordering="listener__username")
def listener_name(row) -> str:
    """A list column for any row with a ``listener``: the name, cut short to keep lists narrow
    (select the ``listener`` in the list's query)."""
    return truncated(row.listener.username, 20)


class ListenerFilter(admin.SimpleListFilter):
    """Filter any list with a ``listener`` foreign key by listener.

    It offers the listeners who appear in the list, most recently joined first, capped so a
    large service does not print thousands of names; the listener pages link here with
    ``?listener=<id>``.
    """

    title = "listener"
    parameter_name = "listener"

    def lookups(self, request, model_admin):
        present = model_admin.get_queryset(request).values("listener")
        listeners = User.objects.filter(pk__in=present).order_by("-date_joined")
        choices = [(str(user.pk), user.username) for user in listeners[:LISTENER_FILTER_CHOICES]]
        selected = self.value()
        if selected and selected.isdigit() and selected not in {pk for pk, _ in choices}:
            user = User.objects.filter(pk=int(selected)).first()
            if user is not None:
                choices.insert(0, (selected, user.username))
        return choices

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if value is None:
            return queryset
        if not value.isdigit():
            return queryset.none()
        return queryset.filter(listener_id=int(value))


@admin.register(User)
class ListenerAdmin(UserAdmin):
    list_display = ("name", "short_email", "is_staff", "is_active", "joined")
    list_filter = ("is_staff", "is_active", "date_joined")
    search_fields = ("username", "email")
    search_help_text = "Name or email address."

    @admin.display(description="username", ordering="username")
    def name(self, user: User) -> str:
        return truncated(user.username, 24)

    @admin.display(description="email address", ordering="email")
    def short_email(self, user: User) -> str:
        return truncated(user.email, 28)

    @admin.display(description="joined", ordering="date_joined")
    def joined(self, user: User) -> str:
        return short_datetime(user.date_joined)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or obj.is_staff or obj.is_superuser:
            return fieldsets
        # A listener has no admin rights to manage: the group and permission pickers (two
        # 2,000-px widgets) would only bury the page. Promoting them to staff shows them again.
        return tuple(
            (name, {**options, "fields": ("is_active", "is_staff")})
            if name == "Permissions"
            else (name, options)
            for name, options in fieldsets
        )
