from __future__ import annotations

from django.db import models

from catalogue.dedup import song_key
from catalogue.validators import validate_audio_file, validate_isrc


def track_audio_path(track: Track, filename: str) -> str:
    # Storage picks a unique name on collision; the prefix keeps a bucket browsable.
    return f"audio/{filename}"


class Track(models.Model):
    title = models.CharField(max_length=500)
    artist = models.CharField(max_length=500)
    album = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    audio = models.FileField(
        upload_to=track_audio_path, blank=True, max_length=500, validators=[validate_audio_file]
    )
    isrc = models.CharField(
        "ISRC", max_length=12, blank=True, db_index=True, validators=[validate_isrc]
    )
    musicbrainz_recording_id = models.UUIDField(
        "MusicBrainz recording id", null=True, blank=True, db_index=True
    )
    song_key = models.CharField(
        max_length=1600,
        editable=False,
        db_index=True,
        help_text="Normalised title | artist | album: re-releases of one song share it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["artist", "title", "id"]

    def __str__(self) -> str:
        return f"{self.artist} – {self.title}"

    def save(self, *args, **kwargs) -> None:
        # Derived from the three fields on every save, so it can never drift from them.
        self.song_key = song_key(title=self.title, artist=self.artist, album=self.album)
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "song_key"}
        super().save(*args, **kwargs)
