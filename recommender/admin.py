from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from recommender.models import ListenerMoodState, MoodSnapshot, Recommendation
from recommender.selectors import acceptance_rate, latest_snapshot
from users.admin import ListenerAdmin
from users.models import User


@admin.register(MoodSnapshot)
class MoodSnapshotAdmin(admin.ModelAdmin):
    list_display = ("created_at", "listener", "basis", "label", "confidence", "model_version")
    list_filter = ("basis", "label", "model_version")
    search_fields = ("listener__username",)
    raw_id_fields = ("listener",)
    list_select_related = ("listener", "model_version")
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Recommendation)
class RecommendationAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "listener",
        "track",
        "target_label",
        "rank",
        "score",
        "policy",
        "feedback",
        "feedback_at",
    )
    list_filter = ("feedback", "policy", "target_label", "created_at")
    search_fields = ("listener__username", "track__title", "track__artist")
    raw_id_fields = ("listener", "track", "snapshot")
    list_select_related = ("listener", "track")
    date_hierarchy = "created_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            # The rate follows the admin's filters: per listener, policy, emotion or period.
            response.context_data["acceptance"] = acceptance_rate(
                recommendations=changelist.queryset
            )
        return response


@admin.register(ListenerMoodState)
class ListenerMoodStateAdmin(admin.ModelAdmin):
    list_display = (
        "listener",
        "declared_label",
        "confirmed_label",
        "rejected_labels",
        "updated_at",
    )
    search_fields = ("listener__username",)
    raw_id_fields = ("listener",)


admin.site.unregister(User)


@admin.register(User)
class ListenerActivityAdmin(ListenerAdmin):
    """The listener page, plus their plays, mood history and recommendations with feedback."""

    readonly_fields = (*ListenerAdmin.readonly_fields, "activity")
    fieldsets = (
        *ListenerAdmin.fieldsets,
        ("Listening and recommendations", {"fields": ("activity",)}),
    )

    @admin.display(description="activity")
    def activity(self, listener: User) -> str:
        if listener.pk is None:
            return "—"
        snapshot = latest_snapshot(listener=listener)
        rate = acceptance_rate(recommendations=listener.recommendations.all())
        return format_html(
            '<a href="{}?listener__id__exact={}">{} plays</a> · '
            '<a href="{}?listener__id__exact={}">mood history</a> (now: {}) · '
            '<a href="{}?listener__id__exact={}">{} recommendations</a>, acceptance {} '
            "({} of {} answered)",
            reverse("admin:listening_play_changelist"),
            listener.pk,
            listener.plays.count(),
            reverse("admin:recommender_moodsnapshot_changelist"),
            listener.pk,
            f"{snapshot.label or 'spread'} ({snapshot.basis})" if snapshot else "unknown",
            reverse("admin:recommender_recommendation_changelist"),
            listener.pk,
            listener.recommendations.count(),
            "—" if rate.rate is None else f"{rate.rate:.2f}",
            rate.accepted,
            rate.answered,
        )
