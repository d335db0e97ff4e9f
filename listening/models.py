from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from catalogue.dedup import song_key
from catalogue.models import Track
from listening.matching import NAME_MAX_LENGTH, key_digest

UNMATCHED = Q(track__isnull=True)


class Play(models.Model):
    """One listen of one track by one listener.

    A play of a track the catalogue does not hold (yet) is kept *unmatched*: ``track`` is null
    and the metadata the client sent is stored, so the play can be attached when the catalogue
    gains the track. Matched plays keep the metadata they came with, if any.

    Unique per (listener, track, played_at) for matched plays and per (listener, played_at,
    metadata key) for unmatched ones: a client that resubmits a play after a timeout creates
    nothing new. The (listener, played_at) index serves both the history listing and "this
    listener's plays in the last 7 days, counted per track"; carrying ``track`` and
    ``chosen_by_user`` in it lets PostgreSQL answer the count from the index alone. The partial
    indexes on unmatched plays find the ones a new catalogue track can take.

    A track with plays cannot be deleted (PROTECT): history must not change, or silently
    become unmatched, because someone tidied the catalogue.
    """

    # No index of its own: play_listener_time_chosen starts with the listener, so it serves
    # every lookup by listener alone too (history, cascade deletes), and a second index on the
    # busiest table only slows every insert (README, "Beyond one machine").
    listener = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="plays", db_index=False
    )
    # No index of its own either: play_track_time starts with the track.
    track = models.ForeignKey(
        Track,
        on_delete=models.PROTECT,
        related_name="plays",
        null=True,
        blank=True,
        db_index=False,
        help_text="Empty while the play is unmatched: its track is not in the catalogue yet.",
    )
    played_at = models.DateTimeField()
    ms_played = models.PositiveIntegerField(null=True, blank=True)
    client = models.CharField(
        max_length=200, blank=True, help_text="The app that sent the play (name/version)."
    )
    received_at = models.DateTimeField(auto_now_add=True)
    chosen_by_user = models.BooleanField(
        default=True,
        help_text=(
            "False when the play came from a recommendation rather than the listener's own "
            "choice; such plays say what we suggested, not how the listener feels."
        ),
    )

    track_name = models.CharField("submitted title", max_length=NAME_MAX_LENGTH, blank=True)
    artist_name = models.CharField("submitted artist", max_length=NAME_MAX_LENGTH, blank=True)
    release_name = models.CharField("submitted album", max_length=NAME_MAX_LENGTH, blank=True)
    recording_mbid = models.UUIDField("submitted MusicBrainz recording id", null=True, blank=True)
    isrc = models.CharField("submitted ISRC", max_length=12, blank=True)
    duration_ms = models.PositiveIntegerField("submitted duration (ms)", null=True, blank=True)
    metadata_key = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="SHA-256 of the normalised title | artist | album that was submitted.",
    )

    class Meta:
        ordering = ["-played_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["listener", "track", "played_at"],
                condition=Q(track__isnull=False),
                name="play_unique_listener_track_time",
            ),
            models.UniqueConstraint(
                fields=["listener", "played_at", "metadata_key"],
                condition=UNMATCHED,
                name="play_unique_unmatched_listener_time_key",
            ),
            models.CheckConstraint(
                condition=Q(track__isnull=False) | (~Q(track_name="") & ~Q(artist_name="")),
                name="play_matched_or_described",
                violation_error_message="An unmatched play needs a title and an artist.",
            ),
        ]
        indexes = [
            # Carries chosen_by_user too (PostgreSQL; other databases leave it out), so "top
            # tracks of the week" for mood inference, which skips recommended plays, is read
            # from the index alone, never from the table (README, "Recommendation speed").
            models.Index(
                fields=["listener", "played_at", "track"],
                include=["chosen_by_user"],
                name="play_listener_time_chosen",
            ),
            # A track's plays since a day: the popularity of a page's candidates is counted
            # from this index alone, without reading the plays (README, "Recommendation
            # speed"); it also serves the lookups by track alone (PROTECT on delete).
            models.Index(fields=["track", "played_at"], name="play_track_time"),
            models.Index(fields=["played_at"], name="play_time"),
            # "Listeners whose plays arrived recently" (the periodic mood batch).
            models.Index(fields=["received_at"], name="play_received"),
            models.Index(fields=["id"], condition=UNMATCHED, name="play_unmatched"),
            models.Index(fields=["metadata_key"], condition=UNMATCHED, name="play_unmatched_key"),
            models.Index(
                fields=["recording_mbid"],
                condition=UNMATCHED & Q(recording_mbid__isnull=False),
                name="play_unmatched_mbid",
            ),
            models.Index(
                fields=["isrc"], condition=UNMATCHED & ~Q(isrc=""), name="play_unmatched_isrc"
            ),
        ]

    def __str__(self) -> str:
        what = self.track if self.track_id else f"unmatched {self.artist_name} – {self.track_name}"
        return f"{self.listener.username} played {what} at {self.played_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs) -> None:
        # Derived on every save, like Track.song_key, so an edit in the admin keeps it right.
        if self.track_name or self.artist_name:
            self.metadata_key = key_digest(
                song_key(title=self.track_name, artist=self.artist_name, album=self.release_name)
            )
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "metadata_key"}
        super().save(*args, **kwargs)

    @property
    def is_matched(self) -> bool:
        return self.track_id is not None

    @property
    def title(self) -> str:
        return self.track.title if self.track_id else self.track_name

    @property
    def artist(self) -> str:
        return self.track.artist if self.track_id else self.artist_name

    @property
    def album(self) -> str:
        return self.track.album if self.track_id else self.release_name


class ImportFormat(models.TextChoices):
    SPOTIFY = "spotify", "Spotify streaming history (JSON)"
    LISTENBRAINZ = "listenbrainz", "ListenBrainz export (JSON lines)"


class ImportStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


def import_upload_path(job: ImportJob, filename: str) -> str:
    # Storage picks a unique name on collision; the listener prefix keeps a bucket browsable.
    return f"imports/{job.listener_id}/{filename}"


class ImportJob(models.Model):
    """A listening-history file a listener uploaded, and how importing it went.

    ``processed`` of ``total`` entries counts the entries read and checked; the plays are then
    stored in one transaction, so a failed import leaves nothing behind. ``summary`` holds the
    counts of the outcome: accepted (of which unmatched), duplicate, skipped, rejected.
    """

    listener = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_jobs"
    )
    format = models.CharField(max_length=20, choices=ImportFormat.choices)
    file = models.FileField(upload_to=import_upload_path, max_length=500)
    original_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    processed = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True)
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["listener", "-created_at"], name="import_listener_time")]

    def __str__(self) -> str:
        return (
            f"{self.get_format_display()} import #{self.pk} of {self.listener.username}: "
            f"{self.status}"
        )
