"""The recommendation domain: listeners' inferred moods, what we recommended, their answers."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from catalogue.models import Track
from emotion.models import MoodModelVersion, ValenceArousalSource


class MoodBasis(models.TextChoices):
    INFERRED = "inferred", "inferred from the past week's top tracks"
    DECLARED = "declared", "declared by the listener"
    LAST_KNOWN = "last_known", "no recent plays: the last inferred mood"
    SPREAD = "spread", "no recent plays and no known mood: spread across emotions"


class MoodSnapshot(models.Model):
    """A listener's mood at one moment: a distribution over the active model's labels.

    ``tracks`` lists what the inference used (track id, plays, weight); ``skipped`` the top
    tracks it could not use and why (usually: audio not analysed yet).
    """

    listener = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mood_snapshots"
    )
    created_at = models.DateTimeField()
    basis = models.CharField(max_length=16, choices=MoodBasis.choices)
    label = models.CharField(max_length=64, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    probabilities = models.JSONField(default=dict)
    # The mood's point in the valence–arousal plane, as for a track (``TrackEmotion``); null
    # when the model's labels are not the quadrants.
    valence = models.FloatField(null=True, blank=True)
    arousal = models.FloatField(null=True, blank=True)
    valence_arousal_source = models.CharField(
        max_length=32, blank=True, choices=ValenceArousalSource.choices
    )
    model_version = models.ForeignKey(
        MoodModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    tracks = models.JSONField(default=list, blank=True)
    skipped = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["listener", "-created_at"], name="snapshot_listener_time")]

    def __str__(self) -> str:
        return (
            f"{self.listener.username} felt {self.label or 'no single emotion'} "
            f"at {self.created_at:%Y-%m-%d %H:%M}"
        )


class ListenerMoodState(models.Model):
    """What the loop currently aims at for one listener, and what it has learnt from feedback.

    ``rejected_labels`` are the emotions rejected since the last accept (the seed rule moves
    to the next most likely one). ``label_feedback`` counts accepts and rejects per emotion:
    the evidence the Thompson-sampling policy adds to the model's prior.
    """

    listener = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="mood_state",
    )
    declared_label = models.CharField(max_length=64, blank=True)
    declared_at = models.DateTimeField(null=True, blank=True)
    confirmed_label = models.CharField(
        max_length=64, blank=True, help_text="The emotion the listener last accepted."
    )
    rejected_labels = models.JSONField(default=list, blank=True)
    label_feedback = models.JSONField(
        default=dict, blank=True, help_text='{"Q1": {"accept": 3, "reject": 1}, ...}'
    )
    refresh_requested_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"mood state of {self.listener.username}"


class Feedback(models.TextChoices):
    ACCEPT = "accept", "accept"
    REJECT = "reject", "reject"


class Recommendation(models.Model):
    """One track recommended to one listener, why, and their answer.

    Unique per (listener, song key): a song, in any of its releases, is recommended to a
    listener at most once, and the database enforces it even under concurrent requests.
    """

    listener = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="recommendations"
    )
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="recommendations")
    song_key = models.CharField(max_length=1600)
    batch = models.UUIDField(help_text="The request that served it.")
    rank = models.PositiveSmallIntegerField()
    policy = models.CharField(max_length=16)
    target_label = models.CharField(max_length=64)
    target_confidence = models.FloatField(null=True, blank=True)
    track_probability = models.FloatField()
    score = models.FloatField()
    snapshot = models.ForeignKey(
        MoodSnapshot, null=True, on_delete=models.SET_NULL, related_name="recommendations"
    )
    model_version = models.ForeignKey(
        MoodModelVersion, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    explanation = models.JSONField(default=dict)
    created_at = models.DateTimeField()
    feedback = models.CharField(max_length=8, choices=Feedback.choices, blank=True)
    feedback_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["listener", "song_key"], name="recommend_song_once_per_listener"
            )
        ]
        indexes = [
            models.Index(fields=["listener", "-created_at"], name="recommendation_listener"),
            models.Index(fields=["feedback", "created_at"], name="recommendation_feedback"),
        ]

    def __str__(self) -> str:
        return f"{self.track} for {self.listener.username} ({self.target_label})"


class BeatRunOutcome(models.TextChoices):
    RUNNING = "running", "running"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"
    RETRYING = "retrying", "failed, retry queued"


class BeatRun(models.Model):
    """One run of a task that beat schedules (``CELERY_BEAT_SCHEDULE``), and how it ended.

    Written by the Celery task signals (``recommender.receivers``), so a run is recorded
    wherever the task runs: on a worker, or in-process without a broker. Only the latest
    ``BEAT_RUNS_KEPT_PER_TASK`` runs of each task are kept. A run whose worker died stays
    ``running``: nothing else ever finishes it, which is what the dashboard shows.
    """

    task_name = models.CharField(max_length=200)
    task_id = models.CharField(max_length=64, help_text="Celery's id of the task run.")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=16, choices=BeatRunOutcome.choices, default=BeatRunOutcome.RUNNING
    )
    result = models.CharField(
        max_length=200, blank=True, help_text="What the task returned (e.g. rows swept)."
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["task_name", "-started_at"], name="beat_run_task_time")]

    def __str__(self) -> str:
        return f"{self.task_name} at {self.started_at:%Y-%m-%d %H:%M}: {self.outcome}"

    @property
    def seconds(self) -> float | None:
        """How long the run took; None while it runs (or if its worker died)."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class JourneyCurve(models.TextChoices):
    STRAIGHT = "straight", "straight: even steps from the start to the target"
    EASE = "ease", "ease: stays near the start mood longer, then moves and settles"


class Journey(models.Model):
    """An emotion journey: tracks planned from a start mood towards a target mood (the iso
    principle). Its tracks are ``JourneyItem`` rows, each served as a ``Recommendation`` so
    the usual rules (a song once per listener, none played lately) hold across journeys and
    recommendations. README: "Emotion journeys"."""

    listener = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="journeys"
    )
    created_at = models.DateTimeField()
    model_version = models.ForeignKey(
        MoodModelVersion, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    length = models.PositiveSmallIntegerField(help_text="Tracks asked for.")
    curve = models.CharField(max_length=16, choices=JourneyCurve.choices)
    max_step = models.FloatField(help_text="Largest jump allowed between consecutive tracks.")
    start_valence = models.FloatField()
    start_arousal = models.FloatField()
    start_label = models.CharField(
        max_length=64, blank=True, help_text="The quadrant asked for as the start, if one was."
    )
    start_snapshot = models.ForeignKey(
        MoodSnapshot,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The mood the journey started from, when no start was given.",
    )
    target_label = models.CharField(
        max_length=64, blank=True, help_text="The target quadrant; empty for a target point."
    )
    target_valence = models.FloatField()
    target_arousal = models.FloatField()
    target_radius = models.FloatField(
        help_text="A target point's region: the disc of this radius (unused for a quadrant)."
    )
    replans = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["listener", "-created_at"], name="journey_listener")]

    def __str__(self) -> str:
        target = self.target_label or f"({self.target_valence:.2f}, {self.target_arousal:.2f})"
        return f"journey {self.pk} of {self.listener.username} to {target}"


class JourneyItem(models.Model):
    """One track of a journey at one position, the waypoint it was chosen for, and why.

    The answer lives on its ``recommendation``. A reject re-plans the items after it: those
    become ``replaced`` (kept for the record, their unanswered recommendations deleted so the
    songs may be planned again) and new items take the positions.
    """

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(help_text="1-based order on the journey.")
    plan = models.PositiveSmallIntegerField(
        default=0, help_text="0: the first plan; n: the n-th re-plan after a reject."
    )
    replaced = models.BooleanField(default=False)
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="+")
    recommendation = models.OneToOneField(
        Recommendation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="journey_item",
    )
    waypoint_valence = models.FloatField()
    waypoint_arousal = models.FloatField()
    valence = models.FloatField(help_text="The track's valence when it was planned.")
    arousal = models.FloatField()
    step = models.FloatField(help_text="Distance from the previous track (or the start).")
    reason = models.CharField(max_length=300)

    class Meta:
        ordering = ["position", "plan"]
        constraints = [
            models.UniqueConstraint(
                fields=["journey", "position"],
                condition=models.Q(replaced=False),
                name="journey_item_position",
            )
        ]

    def __str__(self) -> str:
        return f"step {self.position} of journey {self.journey_id}: {self.track}"
