from django.conf import settings
from django.db import models

from catalogue.models import Track


class Play(models.Model):
    """One listen of one track by one listener.

    Unique per (listener, track, played_at): a client that resubmits a play after a timeout
    creates nothing new. The (listener, played_at) index serves both the history listing and
    "this listener's plays in the last 7 days, counted per track"; carrying ``track`` in it
    lets PostgreSQL answer the count from the index alone.
    """

    listener = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="plays"
    )
    track = models.ForeignKey(Track, on_delete=models.PROTECT, related_name="plays")
    played_at = models.DateTimeField()
    ms_played = models.PositiveIntegerField(null=True, blank=True)
    client = models.CharField(
        max_length=200, blank=True, help_text="The app that sent the play (name/version)."
    )
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-played_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["listener", "track", "played_at"], name="play_unique_listener_track_time"
            ),
        ]
        indexes = [
            models.Index(
                fields=["listener", "played_at", "track"], name="play_listener_time_track"
            ),
            models.Index(fields=["played_at"], name="play_time"),
        ]

    def __str__(self) -> str:
        return f"{self.listener_id} played {self.track_id} at {self.played_at:%Y-%m-%d %H:%M}"
