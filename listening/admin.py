from django.contrib import admin
from django.db.models import QuerySet

from common.admin_tables import key_value_table, short_datetime, truncated
from listening.models import ImportJob, Play
from users.admin import ListenerFilter, listener_name


class MatchedFilter(admin.SimpleListFilter):
    title = "matched"
    parameter_name = "matched"

    def lookups(self, request, model_admin):
        return [("yes", "Matched to a track"), ("no", "Unmatched")]

    def queryset(self, request, queryset: QuerySet[Play]) -> QuerySet[Play]:
        if self.value() == "yes":
            return queryset.filter(track__isnull=False)
        if self.value() == "no":
            return queryset.filter(track__isnull=True)
        return queryset


@admin.register(Play)
class PlayAdmin(admin.ModelAdmin):
    list_display = ("played", listener_name, "what", "matched", "client")
    list_filter = (ListenerFilter, MatchedFilter, "played_at", "received_at", "client")
    search_fields = (
        "listener__username",
        "track__title",
        "track__artist",
        "track_name",
        "artist_name",
        "release_name",
        "isrc",
        "=recording_mbid",
        "client",
    )
    search_help_text = (
        "Listener name; track title or artist, as matched or as submitted; ISRC; the exact "
        "MusicBrainz recording id; client."
    )
    raw_id_fields = ("listener", "track")
    readonly_fields = ("metadata_key", "received_at")
    date_hierarchy = "played_at"
    list_select_related = ("listener", "track")
    fieldsets = (
        (None, {"fields": ("listener", "track", "played_at", "ms_played", "client")}),
        (
            "Submitted metadata (matched against the catalogue while the play is unmatched)",
            {
                "fields": (
                    "track_name",
                    "artist_name",
                    "release_name",
                    "recording_mbid",
                    "isrc",
                    "duration_ms",
                    "metadata_key",
                    "received_at",
                )
            },
        ),
    )

    @admin.display(description="played", ordering="played_at")
    def played(self, play: Play) -> str:
        return short_datetime(play.played_at)

    @admin.display(description="track")
    def what(self, play: Play) -> str:
        if play.track_id:
            return truncated(str(play.track))
        album = f" ({play.release_name})" if play.release_name else ""
        return truncated(f"{play.artist_name} – {play.track_name}{album}")

    @admin.display(boolean=True, description="matched")
    def matched(self, play: Play) -> bool:
        return play.is_matched


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = ("__str__", "status", "progress", "created")
    list_filter = (ListenerFilter, "status", "format", "created_at")
    search_fields = ("listener__username", "original_name", "failure_reason")
    search_help_text = "Listener name, file name, or words of the failure reason."
    raw_id_fields = ("listener",)
    date_hierarchy = "created_at"
    list_select_related = ("listener",)
    exclude = ("summary",)
    # The file too: the retention setting empties it once the import no longer needs it.
    readonly_fields = (
        "file",
        "status",
        "processed",
        "total",
        "summary_readable",
        "failure_reason",
        "created_at",
        "started_at",
        "finished_at",
    )

    @admin.display(description="processed")
    def progress(self, job: ImportJob) -> str:
        return f"{job.processed} of {job.total}" if job.total else str(job.processed)

    @admin.display(description="file", ordering="original_name")
    def file_name(self, job: ImportJob) -> str:
        return truncated(job.original_name, 24)

    @admin.display(description="created", ordering="created_at")
    def created(self, job: ImportJob) -> str:
        return short_datetime(job.created_at)

    @admin.display(description="summary")
    def summary_readable(self, job: ImportJob):
        return key_value_table(job.summary)
