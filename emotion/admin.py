from django.contrib import admin, messages
from django.db import transaction

from emotion.models import TrackAnalysis
from emotion.services import request_track_analysis


@admin.register(TrackAnalysis)
class TrackAnalysisAdmin(admin.ModelAdmin):
    list_display = (
        "track",
        "status",
        "feature_set_version",
        "n_segments",
        "audio_seconds",
        "extraction_cpu_seconds",
        "attempts",
        "finished_at",
    )
    list_filter = ("status", "feature_set_version", "segment_seconds")
    search_fields = ("track__title", "track__artist", "failure_reason")
    list_select_related = ("track",)
    raw_id_fields = ("track",)
    readonly_fields = [field.name for field in TrackAnalysis._meta.fields if field.name != "track"]
    actions = ["reanalyse"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Re-analyse the audio of the selected tracks")
    def reanalyse(self, request, queryset) -> None:
        with transaction.atomic():
            analyses = list(queryset.select_related("track"))
            for analysis in analyses:
                request_track_analysis(track=analysis.track)
        self.message_user(request, f"Queued {len(analyses)} analyses.", messages.SUCCESS)
