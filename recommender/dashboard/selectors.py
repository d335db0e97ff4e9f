"""Reads of the admin dashboard: one function per panel.

Each is a fixed, small number of queries whose counting happens in the database (GROUP BY),
over bounded windows where the table grows with use (plays, recommendations), so the page
stays fast on a catalogue of a million tracks and ten million plays: no query returns more
rows than a panel shows.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from celery.schedules import maybe_schedule
from django.conf import settings
from django.db.models import Case, Count, F, Min, Q, TextField, Value, When
from django.db.models.functions import Left, Mod, Replace, StrIndex, TruncDay, TruncWeek
from django.utils import timezone

from catalogue.models import Track
from emotion.models import (
    AnalysisStatus,
    MoodModelVersion,
    TrackAnalysis,
    TrackEmotion,
    TrainingRun,
)
from emotion.selectors import active_model_version, current_feature_set_version
from emotion.selectors import training_runs_under_way as emotion_training_runs_under_way
from listening.models import ImportJob, ImportStatus, Play
from recommender.celery import app as celery_app
from recommender.models import BeatRun, BeatRunOutcome, Feedback, Recommendation

ACCEPTANCE_WEEKS = 12
PLAY_DAYS = 30
FAILURE_REASON_GROUPS = 10
# A group of failure reasons is named by its text up to here (numbers and quoted names
# removed), so the key stays short however long the reasons are.
FAILURE_REASON_KEY_LENGTH = 120
TRAINING_RUNS_SHOWN = 10
# The valence/arousal scatter draws at most this many tracks (a sample beyond it).
VALENCE_AROUSAL_POINTS = 5000
# A beat entry is late when its next run is overdue by more than this: beat itself, or every
# worker, has stopped.
BEAT_LATE_AFTER = dt.timedelta(minutes=5)


# --- The active model ------------------------------------------------------------------------


@dataclass(frozen=True)
class ActiveModel:
    version: MoodModelVersion

    @property
    def family(self) -> str:
        return str(self.version.architecture.get("name") or "unknown")

    @property
    def preset(self) -> str:
        return str(self.version.architecture.get("preset") or "")

    @property
    def input_blocks(self) -> list[str]:
        return list(self.version.architecture.get("input_blocks") or [])

    @property
    def metrics(self) -> dict[str, Any]:
        return self.version.metrics or {}

    @property
    def has_confusion(self) -> bool:
        return bool(self.metrics.get("confusion")) and bool(self.metrics.get("labels"))

    def display_name(self, label: str) -> str:
        name = self.version.display_names.get(label)
        return f"{label} {name}" if name and name != label else label

    @property
    def per_class(self) -> list[tuple[str, dict[str, Any]]]:
        per_class = self.metrics.get("per_class") or {}
        return [(self.display_name(label), scores) for label, scores in per_class.items()]

    @property
    def emotion_names(self) -> str:
        return ", ".join(self.display_name(label) for label in self.version.labels)

    @property
    def trained_on(self) -> list[tuple[str, str]]:
        return _describe(self.version.trained_on or {})

    @property
    def evaluated_on(self) -> list[tuple[str, str]]:
        return _describe(self.version.evaluated_on or {})


def _describe(data: dict[str, Any]) -> list[tuple[str, str]]:
    """A JSON description (what a model was trained on) as (what, value) lines to read."""
    lines = []
    for key, value in data.items():
        if isinstance(value, dict):
            text = ", ".join(f"{inner} {inner_value}" for inner, inner_value in value.items())
        elif isinstance(value, list):
            text = ", ".join(str(item) for item in value)
        else:
            text = "" if value is None else str(value)
        if text:
            lines.append((str(key).replace("_", " "), text))
    return lines


def active_model() -> ActiveModel | None:
    version = active_model_version()
    return ActiveModel(version) if version is not None else None


# --- The catalogue ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EmotionDistribution:
    """Tracks per emotion as the active model tagged them."""

    labels: list[str]
    display_names: list[str]
    counts: list[int]
    tracks: int
    tagged_by_other_versions: int

    @property
    def tagged(self) -> int:
        return sum(self.counts)

    @property
    def untagged(self) -> int:
        return max(self.tracks - self.tagged - self.tagged_by_other_versions, 0)


def catalogue_emotions(*, model: ActiveModel | None) -> EmotionDistribution:
    tracks = Track.objects.count()
    if model is None:
        return EmotionDistribution([], [], [], tracks, TrackEmotion.objects.count())
    version = model.version
    # One pass over the (model_version, label, confidence) index, never the table: counted
    # columns are all in the index.
    rows = (
        TrackEmotion.objects.values_list("label")
        .annotate(
            active=Count("label", filter=Q(model_version=version)),
            # While activation re-tags the catalogue, some tracks still carry older tags.
            older=Count("label", filter=~Q(model_version=version)),
        )
        .order_by()
    )
    active = {}
    older = 0
    for label, active_count, older_count in rows:
        if active_count:
            active[label] = active_count
        older += older_count
    # Labels the model knows come in its output order; anything else (never expected) after.
    labels = list(version.labels) + sorted(set(active) - set(version.labels))
    return EmotionDistribution(
        labels=labels,
        display_names=[model.display_name(label) for label in labels],
        counts=[active.get(label, 0) for label in labels],
        tracks=tracks,
        tagged_by_other_versions=older,
    )


@dataclass(frozen=True)
class ValenceArousalSample:
    """Tracks of the active model placed in the valence–arousal plane: all of them, or every
    ``step``-th track id when there are more than ``VALENCE_AROUSAL_POINTS``."""

    labels: list[str]
    display_names: list[str]
    tagged: int
    step: int
    # (valence, arousal, label) per track shown.
    points: list[tuple[float, float, str]]

    @property
    def sampled(self) -> bool:
        return self.step > 1


def catalogue_valence_arousal(
    *, distribution: EmotionDistribution, model: ActiveModel | None
) -> ValenceArousalSample:
    """The catalogue's points, at most ``VALENCE_AROUSAL_POINTS``, chosen in the database.

    One query. The sample is every k-th track id (k from the tagged count the catalogue panel
    already has), so it is spread over the catalogue like the ids are, and the same on every
    reload; the hard limit still bounds the rows if ids are unevenly spread.
    """
    if model is None or distribution.tagged == 0:
        return ValenceArousalSample(
            distribution.labels, distribution.display_names, distribution.tagged, 1, []
        )
    step = max(1, math.ceil(distribution.tagged / VALENCE_AROUSAL_POINTS))
    rows = TrackEmotion.objects.filter(
        model_version=model.version, valence__isnull=False, arousal__isnull=False
    )
    if step > 1:
        rows = rows.alias(bucket=Mod("track_id", step)).filter(bucket=0)
    points = list(
        rows.order_by("track_id").values_list("valence", "arousal", "label")[
            :VALENCE_AROUSAL_POINTS
        ]
    )
    return ValenceArousalSample(
        distribution.labels, distribution.display_names, distribution.tagged, step, points
    )


@dataclass(frozen=True)
class AnalysisStates:
    counts: dict[str, int]
    stale: int
    oldest_pending: dt.datetime | None

    def count(self, status: str) -> int:
        return self.counts.get(status, 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def analysis_states() -> AnalysisStates:
    """Analyses per state; of the done ones, how many are stale (another feature set or
    segment length, so the beat re-extracts them); when the oldest pending one was asked for."""
    current = Q(
        feature_set_version=current_feature_set_version(),
        segment_seconds=settings.AUDIO_SEGMENT_SECONDS,
    )
    rows = (
        TrackAnalysis.objects.values("status")
        .annotate(
            n=Count("pk"),
            stale=Count("pk", filter=Q(status=AnalysisStatus.DONE) & ~current),
            oldest=Min("requested_at"),
        )
        .order_by()
    )
    counts = {status: 0 for status in AnalysisStatus.values}
    stale = 0
    oldest_pending = None
    for row in rows:
        counts[row["status"]] = row["n"]
        stale += row["stale"]
        if row["status"] == AnalysisStatus.PENDING:
            oldest_pending = row["oldest"]
    return AnalysisStates(counts=counts, stale=stale, oldest_pending=oldest_pending)


@dataclass(frozen=True)
class FailureReasonGroup:
    example: str
    count: int


def _failure_reason_key():
    """A failure reason without its particulars: digits removed (durations, levels) and cut
    at the first quote (a file name), so "the audio is 1300 s long…" and "…1500 s long…" are
    one group. Plain REPLACE/INSTR/SUBSTR, so it runs on PostgreSQL and SQLite alike."""
    text = F("failure_reason")
    for digit in "0123456789":
        text = Replace(text, Value(digit), Value(""))
    return text


def failure_reason_groups(*, limit: int = FAILURE_REASON_GROUPS) -> list[FailureReasonGroup]:
    """The most common kinds of analysis failure, each with one of its reasons as written."""
    rows = (
        TrackAnalysis.objects.filter(status=AnalysisStatus.FAILED)
        .annotate(unquoted=_failure_reason_key())
        .annotate(quote_at=StrIndex("unquoted", Value("'")))
        .annotate(
            kind=Left(
                Case(
                    When(quote_at__gt=0, then=Left("unquoted", F("quote_at") - 1)),
                    default=F("unquoted"),
                    output_field=TextField(),
                ),
                FAILURE_REASON_KEY_LENGTH,
            )
        )
        .values("kind")
        .annotate(n=Count("pk"), example=Min("failure_reason"))
        .order_by("-n", "kind")[:limit]
    )
    return [FailureReasonGroup(example=row["example"], count=row["n"]) for row in rows]


# --- Recommendations -------------------------------------------------------------------------


@dataclass(frozen=True)
class AcceptanceCounts:
    accepted: int = 0
    rejected: int = 0
    unanswered: int = 0

    @property
    def answered(self) -> int:
        return self.accepted + self.rejected

    @property
    def rate(self) -> float | None:
        return self.accepted / self.answered if self.answered else None

    def __add__(self, other: AcceptanceCounts) -> AcceptanceCounts:
        return AcceptanceCounts(
            self.accepted + other.accepted,
            self.rejected + other.rejected,
            self.unanswered + other.unanswered,
        )


@dataclass(frozen=True)
class Acceptance:
    """Recommendations served in the window, counted per week (Monday first), policy and
    target emotion (the emotion a recommendation was served for)."""

    weeks: list[dt.date]
    policies: list[str]
    labels: list[str]
    cells: dict[tuple[dt.date, str, str], AcceptanceCounts] = field(default_factory=dict)

    def per_week(self, *, policy: str) -> list[AcceptanceCounts]:
        totals = {week: AcceptanceCounts() for week in self.weeks}
        for (week, row_policy, _), counts in self.cells.items():
            if row_policy == policy:
                totals[week] += counts
        return list(totals.values())

    def per_emotion(self, *, policy: str) -> list[AcceptanceCounts]:
        totals = {label: AcceptanceCounts() for label in self.labels}
        for (_, row_policy, label), counts in self.cells.items():
            if row_policy == policy:
                totals[label] += counts
        return list(totals.values())

    def for_policy(self, policy: str) -> AcceptanceCounts:
        return sum(self.per_week(policy=policy), AcceptanceCounts())

    @property
    def total(self) -> AcceptanceCounts:
        return sum(self.cells.values(), AcceptanceCounts())


def week_start(moment: dt.datetime) -> dt.datetime:
    """Midnight of the Monday of ``moment``'s week, in the current time zone (as TruncWeek)."""
    local = timezone.localtime(moment)
    monday = local.date() - dt.timedelta(days=local.weekday())
    return timezone.make_aware(dt.datetime.combine(monday, dt.time()))


def acceptance(
    *, now: dt.datetime, weeks: int = ACCEPTANCE_WEEKS, labels: Iterable[str] = ()
) -> Acceptance:
    """Answers to the recommendations served in the last ``weeks`` weeks (this one included).

    ``labels`` orders the emotions (the active model's); others follow, sorted.
    """
    start = week_start(now) - dt.timedelta(weeks=weeks - 1)
    end = start + dt.timedelta(weeks=weeks)
    rows = (
        Recommendation.objects.filter(created_at__gte=start, created_at__lt=end)
        .annotate(week=TruncWeek("created_at"))
        .values("week", "policy", "target_label")
        .annotate(
            accepted=Count("pk", filter=Q(feedback=Feedback.ACCEPT)),
            rejected=Count("pk", filter=Q(feedback=Feedback.REJECT)),
            unanswered=Count("pk", filter=Q(feedback="")),
        )
        .order_by()
    )
    cells = {}
    for row in rows:
        week = timezone.localtime(row["week"]).date()
        cells[(week, row["policy"], row["target_label"])] = AcceptanceCounts(
            row["accepted"], row["rejected"], row["unanswered"]
        )
    known = list(labels)
    seen = {label for _, _, label in cells}
    return Acceptance(
        weeks=[(start + dt.timedelta(weeks=i)).date() for i in range(weeks)],
        policies=sorted({policy for _, policy, _ in cells}),
        labels=[label for label in known if label in seen] + sorted(seen - set(known)),
        cells=cells,
    )


# --- Listening -------------------------------------------------------------------------------


@dataclass(frozen=True)
class DailyPlays:
    days: list[dt.date]
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


def plays_per_day(*, now: dt.datetime, days: int = PLAY_DAYS) -> DailyPlays:
    """Plays per day (by when they were played) over the last ``days`` days, today included;
    a day without plays is a 0. Its cost grows with the plays in the window: an index-only
    scan, about 0.3 s per million plays."""
    today = timezone.localtime(now).date()
    first_day = today - dt.timedelta(days=days - 1)
    start = timezone.make_aware(dt.datetime.combine(first_day, dt.time()))
    end = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=1), dt.time()))
    rows = (
        Play.objects.filter(played_at__gte=start, played_at__lt=end)
        .annotate(day=TruncDay("played_at"))
        .values_list("day")
        # COUNT(*), not of the id: the (played_at) index then answers it alone.
        .annotate(n=Count("*"))
        .order_by()
    )
    per_day = {timezone.localtime(day).date(): n for day, n in rows}
    all_days = [first_day + dt.timedelta(days=i) for i in range(days)]
    return DailyPlays(days=all_days, counts=[per_day.get(day, 0) for day in all_days])


# --- Queue health ----------------------------------------------------------------------------


def training_runs_under_way(*, limit: int = TRAINING_RUNS_SHOWN) -> list[TrainingRun]:
    return list(emotion_training_runs_under_way()[:limit])


def import_jobs_waiting() -> dict[str, int]:
    rows = dict(
        ImportJob.objects.filter(status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING])
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {status: rows.get(status, 0) for status in (ImportStatus.QUEUED, ImportStatus.RUNNING)}


def beat_task_names() -> set[str]:
    """The tasks beat schedules: only their runs are recorded."""
    return {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}


def describe_schedule(schedule: Any) -> str:
    if isinstance(schedule, dt.timedelta):
        minutes = schedule.total_seconds() / 60
        if minutes >= 60 and minutes % 60 == 0:
            return f"every {minutes / 60:g} h"
        return f"every {minutes:g} min"
    # crontab's str is "<crontab: 0 4 * * 1 (m/h/dM/MY/d)>", fields in cron order.
    match = re.fullmatch(r"<crontab: (.*) \(m/h/dM/MY/d\)>", str(schedule))
    return f"cron {match[1]}" if match else str(schedule)


@dataclass(frozen=True)
class BeatEntry:
    name: str
    task_name: str
    schedule: str
    runs: list[BeatRun]
    # When the run after the last recorded one was due, and by how much that is past.
    due_at: dt.datetime | None = None
    overdue_by: dt.timedelta | None = None

    @property
    def last_run(self) -> BeatRun | None:
        return self.runs[0] if self.runs else None

    @property
    def failures(self) -> int:
        return sum(run.outcome == BeatRunOutcome.FAILED for run in self.runs)

    @property
    def late(self) -> bool:
        return self.overdue_by is not None and self.overdue_by > BEAT_LATE_AFTER


def beat_entries(*, runs_per_entry: int) -> list[BeatEntry]:
    """Every beat entry with its latest recorded runs, newest first, and when its next run was
    due by the schedule (unknown until it ran once: until then only beat's own state knows).
    Due times are measured on the clock the schedule itself reads."""
    runs_by_task: dict[str, list[BeatRun]] = defaultdict(list)
    # At most BEAT_RUNS_KEPT_PER_TASK rows per task exist (services prunes older ones).
    for run in BeatRun.objects.filter(task_name__in=beat_task_names()).order_by(
        "-started_at", "-id"
    ):
        runs_by_task[run.task_name].append(run)
    entries = []
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        runs = runs_by_task[entry["task"]][:runs_per_entry]
        due_at = overdue_by = None
        if runs:
            schedule = maybe_schedule(entry["schedule"], app=celery_app)
            now = schedule.now()
            due_at = now + schedule.remaining_estimate(runs[0].started_at)
            overdue_by = max(now - due_at, dt.timedelta(0))
        entries.append(
            BeatEntry(
                name=name,
                task_name=entry["task"],
                schedule=describe_schedule(entry["schedule"]),
                runs=runs,
                due_at=due_at,
                overdue_by=overdue_by,
            )
        )
    return entries
