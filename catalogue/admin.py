from django.contrib import admin, messages
from django.db import transaction

from catalogue.models import Track
from catalogue.signals import track_audio_changed, track_created


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ("title", "artist", "album", "duration_ms", "isrc", "created_at")
    list_filter = ("created_at", "updated_at")
    search_fields = ("title", "artist", "album", "isrc", "song_key", "=musicbrainz_recording_id")
    search_help_text = "Title, artist, album, ISRC, or the exact MusicBrainz recording id."
    readonly_fields = ("song_key", "created_at", "updated_at")
    date_hierarchy = "created_at"
    actions = ["reanalyse_audio"]

    def save_model(self, request, obj: Track, form, change: bool) -> None:
        # The admin saves the form's instance itself, so it announces what create_track and
        # set_track_audio would: plays waiting for this track attach, new audio is analysed.
        super().save_model(request, obj, form, change)
        if not change:
            track_created.send(sender=Track, track=obj)
        if "audio" in form.changed_data and obj.audio:
            track_audio_changed.send(sender=Track, track=obj)

    @admin.action(description="Re-analyse the audio of the selected tracks")
    def reanalyse_audio(self, request, queryset) -> None:
        with transaction.atomic():
            tracks = list(queryset.exclude(audio=""))
            for track in tracks:
                track_audio_changed.send(sender=Track, track=track)
        self.message_user(request, f"Queued analysis for {len(tracks)} tracks.", messages.SUCCESS)
