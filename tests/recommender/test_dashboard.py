"""The admin dashboard: its panels' numbers, its charts, who may see it, and the record of
beat's task runs it lists (in-process, as a worker runs tasks, and on a real worker)."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections import Counter

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from emotion.ml.metrics import classification_metrics
from emotion.ml.valence_arousal import point_from_distribution
from emotion.models import AnalysisStatus, TrackAnalysis, TrackEmotion, TrainingRun
from emotion.services.registry import activate_model_version, register_model_version
from listening.tasks import sweep_imports
from recommender.celery import app as celery_app
from recommender.dashboard import selectors
from recommender.dashboard.services import (
    BEAT_RUNS_KEPT_PER_TASK,
    record_beat_run_finished,
    record_beat_run_started,
)
from recommender.models import BeatRun, BeatRunOutcome, Feedback
from recommender.tasks import infer_listener_mood
from tests.factories import (
    ListenerFactory,
    PlayFactory,
    RecommendationFactory,
    StaffFactory,
    TrackFactory,
)
from tests.recommender.conftest import LABELS
from tests.worker_process import wait_for

DASHBOARD = "/admin/dashboard/"
CHART_COUNT = 8
# What each chart says (its alt text and its image) on an empty database, in page order.
EMPTY_DATABASE_CHARTS = [
    "No mood model is active yet, so there is no confusion matrix",
    "The catalogue has no tracks yet",
    "No track has been analysed yet",
    "No mood model is active, so no track has a valence/arousal point yet",
    "No recommendations served in the last 12 weeks",
    "No recommendations served in the last 12 weeks",
    "No plays in the last 30 days",
    "No beat task has run since runs were first recorded",
]

# Analyses in every state, and failures whose reasons differ only in numbers or file names.
FAILURE_REASONS = (
    "the audio is 1300 s long, more than the 1200 s limit; upload a shorter excerpt",
    "the audio is 1500 s long, more than the 1200 s limit; upload a shorter excerpt",
    "the audio file 'tracks/a.mp3' is missing from storage; upload it again",
    "the audio file 'tracks/b 2.mp3' is missing from storage; upload it again",
    "the track is silent (digital silence, below the -60 dBFS threshold), so it has no mood "
    "to tag; check the file or its volume and re-upload",
)
TAGGED = {"Q1": 4, "Q2": 3, "Q3": 2, "Q4": 1}
UNTAGGED_TRACKS = 8


# --- Data -----------------------------------------------------------------------------------


def register_evaluated_model(model):
    """``model`` registered with held-out metrics (so it has a confusion matrix) and active."""
    truth = [label for label in LABELS for _ in range(5)]
    predicted = [*truth[:-3], "Q1", "Q2", "Q2"]
    version = register_model_version(
        model=model,
        metrics=classification_metrics(truth, predicted, labels=list(LABELS)),
        evaluated_on={"split": "stable artist hash", "n_clips": len(truth)},
    )
    return activate_model_version(version=version)


def build_dashboard_data(*, version, now: dt.datetime) -> dict:
    """A catalogue tagged by ``version``, analyses in each state (failures included), plays
    over several days, recommendations answered under both policies, runs of beat's tasks.
    Returns what was made, for the expectations."""
    tracks = [TrackFactory() for _ in range(sum(TAGGED.values()) + UNTAGGED_TRACKS)]
    tagged = [label for label, n in TAGGED.items() for _ in range(n)]
    for track, label in zip(tracks, tagged, strict=False):
        probabilities = {other: 0.8 if other == label else 0.2 / 3 for other in LABELS}
        valence, arousal = point_from_distribution(probabilities)
        TrackEmotion.objects.create(
            track=track,
            model_version=version,
            label=label,
            confidence=0.8,
            probabilities=probabilities,
            valence=valence,
            arousal=arousal,
            valence_arousal_source="quadrant_probabilities",
            tagged_at=now,
        )

    states = (
        [(AnalysisStatus.DONE, "")] * 8
        + [(AnalysisStatus.PENDING, "")] * 2
        + [(AnalysisStatus.RUNNING, "")]
        + [(AnalysisStatus.FAILED, reason) for reason in FAILURE_REASONS]
    )
    for index, (track, (status, reason)) in enumerate(zip(tracks, states, strict=False)):
        TrackAnalysis.objects.create(
            track=track,
            status=status,
            failure_reason=reason,
            # One done analysis is of an older feature set: stale.
            feature_set_version="lld50-v0" if index == 0 else settings.AUDIO_FEATURE_SET,
            segment_seconds=settings.AUDIO_SEGMENT_SECONDS,
            requested_at=now - dt.timedelta(hours=index + 1),
        )

    alice, bob = ListenerFactory(), ListenerFactory()
    played_at = [now - dt.timedelta(days=days, minutes=1) for days in (0, 0, 0, 1, 1, 6, 40)]
    for index, moment in enumerate(played_at):
        PlayFactory(listener=alice if index % 2 else bob, track=tracks[index], played_at=moment)

    two_weeks_ago = now - dt.timedelta(weeks=2)
    answers = [
        # (listener, policy, target emotion, answer, served)
        (alice, "seed", "Q1", Feedback.ACCEPT, now),
        (alice, "seed", "Q1", Feedback.ACCEPT, now),
        (alice, "seed", "Q2", Feedback.REJECT, now),
        (alice, "seed", "Q1", "", now),
        (bob, "bandit", "Q1", Feedback.REJECT, now),
        (bob, "bandit", "Q2", Feedback.ACCEPT, now),
        (bob, "seed", "Q3", Feedback.REJECT, two_weeks_ago),
        (bob, "seed", "Q3", Feedback.ACCEPT, two_weeks_ago),
        # Outside the 12-week window: not counted.
        (bob, "seed", "Q4", Feedback.ACCEPT, now - dt.timedelta(weeks=20)),
    ]
    recommendations = [
        RecommendationFactory(
            listener=listener,
            track=tracks[index],
            policy=policy,
            target_label=label,
            feedback=answer,
            feedback_at=served if answer else None,
            created_at=served,
        )
        for index, (listener, policy, label, answer, served) in enumerate(answers)
    ]

    TrainingRun.objects.create(status="running", stage="training on 40 tracks", started_at=now)
    sweep_imports.delay()
    failed = record_beat_run_started(
        task_name="emotion.tasks.requeue_stalled_analyses", task_id="lost-database"
    )
    record_beat_run_finished(
        task_id=failed.task_id,
        outcome=BeatRunOutcome.FAILED,
        error="OperationalError: the database is restarting",
    )
    return {"tracks": tracks, "played_at": played_at, "recommendations": recommendations}


def chart_alts(content: bytes) -> list[str]:
    """The alt text of every chart on a page, in page order."""
    images = re.findall(
        r'<img class="chart" alt="([^"]*)" src="data:image/png;base64,', content.decode()
    )
    return [html.unescape(alt) for alt in images]


@pytest.fixture
def staff_browser_client(client, db):
    client.force_login(StaffFactory())
    return client


@pytest.fixture
def evaluated_model(db, trained_mood_model):
    return register_evaluated_model(trained_mood_model)


# --- The page -------------------------------------------------------------------------------


def test_an_empty_database_shows_every_chart_saying_there_is_nothing_yet(staff_browser_client):
    response = staff_browser_client.get(DASHBOARD)

    assert response.status_code == 200
    assert chart_alts(response.content) == EMPTY_DATABASE_CHARTS
    assert b"No mood model is active" in response.content
    assert b"No analysis has failed." in response.content


def test_the_dashboard_shows_the_model_the_catalogue_acceptance_plays_and_queues(
    staff_browser_client, evaluated_model
):
    now = timezone.now()
    build_dashboard_data(version=evaluated_model, now=now)

    response = staff_browser_client.get(DASHBOARD)

    assert response.status_code == 200
    page = response.content.decode()
    alts = chart_alts(response.content)
    assert len(alts) == CHART_COUNT
    confusion, emotions, analyses, valence_arousal, weekly, per_emotion, plays, beat = alts
    metrics = evaluated_model.metrics
    assert confusion.startswith(
        f"Held-out confusion matrix of model v{evaluated_model.pk} "
        f"(accuracy {metrics['accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f}, n = 20)"
    )
    names = evaluated_model.display_names
    assert f"Q4 {names['Q4']} recall 40%" in confusion
    per_label = ", ".join(f"{label} {names[label]}: {n}" for label, n in TAGGED.items())
    assert emotions.endswith(f"{per_label}, not tagged: 8")
    assert analyses == (
        "Audio analyses by state: pending: 2, running: 1, done (current): 7, done (stale): 1, "
        "failed: 5"
    )
    # 0.8 of a quadrant's centre and 0.2 spread over the other three: 0.75·0.8667 + 0.25·0.1333.
    assert valence_arousal == (
        f"Catalogue in the valence/arousal plane, model v{evaluated_model.pk}, all 10 tracks: "
        f"Q1 {names['Q1']}: 4 around (0.68, 0.68); Q2 {names['Q2']}: 3 around (0.32, 0.68); "
        f"Q3 {names['Q3']}: 2 around (0.32, 0.32); Q4 {names['Q4']}: 1 around (0.68, 0.32)"
    )
    assert "seed: " in weekly and "bandit: " in weekly
    assert per_emotion.endswith(
        "bandit: Q1 0% of 1, Q2 100% of 1, Q3 — of 0; seed: Q1 100% of 2, Q2 0% of 1, Q3 50% of 2"
    )
    assert plays.startswith("Plays per day over the last 30 days: 6 in all")
    assert "requeue-stalled-audio-analyses: last failed" in beat
    assert "sweep-imports: last succeeded" in beat

    # The model's family, when it was trained and on what.
    assert f"{evaluated_model.architecture['name']}" in page
    assert "stable artist hash" in page
    # Failure reasons grouped: numbers and file names do not split a group.
    groups = re.findall(r"<tr><td>(\d+)</td><td class=\"text\">([^<]*)</td></tr>", page)
    assert [(int(count), html.unescape(reason)) for count, reason in groups] == [
        (2, FAILURE_REASONS[2]),
        (2, FAILURE_REASONS[0]),
        (1, FAILURE_REASONS[4]),
    ]
    # Queue health.
    assert "training on 40 tracks" in page
    assert "OperationalError: the database is restarting" in page
    assert "{&#x27;failed_stalled&#x27;: 0, &#x27;deleted_files&#x27;: 0}" in page


def test_the_panels_count_in_the_database_over_their_windows(evaluated_model):
    now = timezone.now()
    data = build_dashboard_data(version=evaluated_model, now=now)

    daily = selectors.plays_per_day(now=now)
    assert len(daily.days) == 30 and daily.days[-1] == timezone.localdate(now)
    played_on = Counter(timezone.localdate(moment) for moment in data["played_at"])
    assert dict(zip(daily.days, daily.counts, strict=True)) == {
        day: played_on.get(day, 0) for day in daily.days
    }
    # The play of 40 days ago is outside the window.
    assert daily.total == 6

    acceptance = selectors.acceptance(now=now, labels=LABELS)
    assert acceptance.policies == ["bandit", "seed"]
    assert acceptance.labels == ["Q1", "Q2", "Q3"]
    this_week = selectors.week_start(now).date()
    seed_weeks = dict(zip(acceptance.weeks, acceptance.per_week(policy="seed"), strict=True))
    assert (seed_weeks[this_week].accepted, seed_weeks[this_week].answered) == (2, 3)
    assert seed_weeks[this_week].unanswered == 1
    two_weeks_ago = this_week - dt.timedelta(weeks=2)
    assert seed_weeks[two_weeks_ago].rate == 0.5
    assert acceptance.for_policy("seed").answered == 5
    assert acceptance.for_policy("bandit").rate == 0.5
    assert acceptance.total.answered == 7

    states = selectors.analysis_states()
    assert states.counts == {"pending": 2, "running": 1, "done": 8, "failed": 5}
    assert states.stale == 1
    assert states.oldest_pending == now - dt.timedelta(hours=10)

    distribution = selectors.catalogue_emotions(model=selectors.active_model())
    assert distribution.counts == [4, 3, 2, 1]
    assert (distribution.tracks, distribution.untagged) == (18, 8)


def test_a_large_catalogue_is_sampled_in_the_database_and_the_page_says_so(
    staff_browser_client, evaluated_model, monkeypatch
):
    build_dashboard_data(version=evaluated_model, now=timezone.now())
    monkeypatch.setattr(selectors, "VALENCE_AROUSAL_POINTS", 4)

    sample = selectors.catalogue_valence_arousal(
        distribution=selectors.catalogue_emotions(model=selectors.active_model()),
        model=selectors.active_model(),
    )
    assert (sample.tagged, sample.step, sample.sampled) == (10, 3, True)
    tagged = TrackEmotion.objects.filter(model_version=evaluated_model)
    tagged_ids = sorted(tagged.values_list("track_id", flat=True))
    expected = [track_id for track_id in tagged_ids if track_id % 3 == 0][:4]
    assert len(sample.points) == len(expected)
    stored = TrackEmotion.objects.in_bulk(expected)
    assert sample.points == [
        (stored[i].valence, stored[i].arousal, stored[i].label) for i in expected
    ]

    page = staff_browser_client.get(DASHBOARD).content
    (alt,) = [a for a in chart_alts(page) if a.startswith("Catalogue in the valence/arousal")]
    assert f"a sample of {len(expected)} of the 10 tagged tracks (one in every 3" in alt
    assert b"Sampled: " in page


def test_the_scatter_says_why_when_tracks_have_no_point(staff_browser_client, evaluated_model):
    nothing_tagged = chart_alts(staff_browser_client.get(DASHBOARD).content)[3]
    assert nothing_tagged == f"No track is tagged by model v{evaluated_model.pk} yet"
    build_dashboard_data(version=evaluated_model, now=timezone.now())
    TrackEmotion.objects.update(valence=None, arousal=None, valence_arousal_source="")

    alt = chart_alts(staff_browser_client.get(DASHBOARD).content)[3]

    assert alt == (
        f"None of the 10 tracks tagged by model v{evaluated_model.pk} has a valence/arousal "
        "point: its emotions are not the four quadrants and it has no valence/arousal head"
    )


def test_tracks_still_tagged_by_an_older_version_are_told_apart(
    evaluated_model, trained_mood_model
):
    now = timezone.now()
    data = build_dashboard_data(version=evaluated_model, now=now)
    older = register_model_version(model=trained_mood_model)
    TrackEmotion.objects.create(
        track=data["tracks"][-1], model_version=older, label="Q1", confidence=0.9,
        probabilities={}, tagged_at=now,
    )  # fmt: skip

    distribution = selectors.catalogue_emotions(model=selectors.active_model())

    assert distribution.counts == [4, 3, 2, 1]
    assert (distribution.tagged_by_other_versions, distribution.untagged) == (1, 7)


def test_the_page_runs_the_same_queries_whatever_the_amount_of_data(
    staff_browser_client, evaluated_model
):
    now = timezone.now()
    build_dashboard_data(version=evaluated_model, now=now)
    with CaptureQueriesContext(connection) as few:
        assert staff_browser_client.get(DASHBOARD).status_code == 200

    # As much again of everything the panels count.
    tracks = [TrackFactory() for _ in range(20)]
    listener = ListenerFactory()
    for index, track in enumerate(tracks):
        TrackEmotion.objects.create(
            track=track, model_version=evaluated_model, label=LABELS[index % 4],
            confidence=0.9, probabilities={}, tagged_at=now,
        )  # fmt: skip
        TrackAnalysis.objects.create(
            track=track, status=AnalysisStatus.FAILED, failure_reason=f"reason {index}'x'",
            requested_at=now,
        )  # fmt: skip
        PlayFactory(listener=listener, track=track, played_at=now - dt.timedelta(days=index))
        RecommendationFactory(
            listener=listener, track=track, feedback=Feedback.ACCEPT, created_at=now,
            policy="bandit" if index % 2 else "seed",
        )  # fmt: skip
    for _ in range(5):
        sweep_imports.delay()
    with CaptureQueriesContext(connection) as many:
        assert staff_browser_client.get(DASHBOARD).status_code == 200

    assert len(many) == len(few)


def test_only_staff_see_the_dashboard_and_the_admin_index_links_to_it(
    staff_browser_client, listener
):
    index = staff_browser_client.get(reverse("admin:index"))
    assert f'<a href="{DASHBOARD}">Dashboard</a>' in index.content.decode()

    client = Client()
    anonymous = client.get(DASHBOARD)
    client.force_login(listener)
    not_staff = client.get(DASHBOARD)
    for response in (anonymous, not_staff):
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_a_beat_entry_is_late_when_its_next_run_is_overdue(db, settings):
    settings.CELERY_BEAT_SCHEDULE = {
        "often": {"task": "tests.often", "schedule": dt.timedelta(minutes=10)},
        "just-ran": {"task": "tests.just_ran", "schedule": dt.timedelta(minutes=10)},
        "weekly": {"task": "tests.weekly", "schedule": crontab.from_string("0 4 * * 1")},
        "never": {"task": "tests.never", "schedule": dt.timedelta(hours=2)},
    }
    now = timezone.now()
    BeatRun.objects.create(
        task_name="tests.often", task_id="a", started_at=now - dt.timedelta(hours=1)
    )
    BeatRun.objects.create(task_name="tests.just_ran", task_id="b", started_at=now)
    BeatRun.objects.create(
        task_name="tests.weekly", task_id="c", started_at=now - dt.timedelta(days=2)
    )

    entries = {entry.name: entry for entry in selectors.beat_entries(runs_per_entry=5)}

    assert entries["often"].late
    assert dt.timedelta(minutes=49) < entries["often"].overdue_by < dt.timedelta(minutes=51)
    assert not entries["just-ran"].late
    assert entries["weekly"].schedule == "cron 0 4 * * 1"
    assert entries["never"].last_run is None and not entries["never"].late
    assert entries["never"].schedule == "every 2 h"


# --- Beat runs ------------------------------------------------------------------------------


@celery_app.task(name="tests.dashboard.failing_sweep")
def failing_sweep() -> None:
    raise RuntimeError("storage unreachable")


@celery_app.task(bind=True, name="tests.dashboard.flaky_sweep", max_retries=1)
def flaky_sweep(self) -> int:
    if self.request.retries == 0:
        raise self.retry(exc=OSError("database restarting"), countdown=0)
    return 7


@pytest.fixture
def beat_schedules_test_tasks(settings):
    settings.CELERY_BEAT_SCHEDULE = {
        **settings.CELERY_BEAT_SCHEDULE,
        "failing-sweep": {"task": failing_sweep.name, "schedule": dt.timedelta(minutes=5)},
        "flaky-sweep": {"task": flaky_sweep.name, "schedule": dt.timedelta(minutes=5)},
    }


@pytest.mark.django_db
def test_a_beat_task_run_in_process_is_recorded_with_what_it_returned():
    before = timezone.now()
    result = sweep_imports.delay()

    run = BeatRun.objects.get()
    assert (run.task_name, run.task_id) == ("listening.tasks.sweep_imports", result.id)
    assert run.outcome == BeatRunOutcome.SUCCEEDED
    assert run.result == "{'failed_stalled': 0, 'deleted_files': 0}"
    assert before <= run.started_at <= run.finished_at
    assert run.error == ""


@pytest.mark.django_db
def test_tasks_beat_does_not_schedule_are_not_recorded(listener):
    infer_listener_mood.delay(listener.pk)
    assert not BeatRun.objects.exists()


@pytest.mark.django_db
def test_a_failing_beat_task_in_process_is_recorded_with_its_error(beat_schedules_test_tasks):
    # Without a broker the exception reaches the caller (CELERY_TASK_EAGER_PROPAGATES).
    with pytest.raises(RuntimeError, match="storage unreachable"):
        failing_sweep.delay()

    run = BeatRun.objects.get()
    assert run.outcome == BeatRunOutcome.FAILED
    assert run.error == "RuntimeError: storage unreachable"
    assert run.finished_at is not None


@pytest.mark.django_db
def test_failures_and_retries_are_recorded_as_a_worker_runs_tasks(beat_schedules_test_tasks):
    # apply(throw=False) goes through the tracer as a worker does: the exception is caught
    # and the task ends in a state (FAILURE, RETRY), which the postrun signal carries.
    failing_sweep.apply(throw=False)
    flaky_sweep.apply(throw=False)

    failed = BeatRun.objects.get(task_name=failing_sweep.name)
    assert (failed.outcome, failed.error) == (
        BeatRunOutcome.FAILED,
        "RuntimeError: storage unreachable",
    )
    retried, succeeded = BeatRun.objects.filter(task_name=flaky_sweep.name).order_by("id")
    assert retried.outcome == BeatRunOutcome.RETRYING
    assert "database restarting" in retried.error
    assert (succeeded.outcome, succeeded.result) == (BeatRunOutcome.SUCCEEDED, "7")
    assert retried.task_id == succeeded.task_id


@pytest.mark.django_db
def test_a_retry_run_in_process_is_recorded_as_retrying(beat_schedules_test_tasks):
    with pytest.raises(Exception, match="database restarting"):
        flaky_sweep.delay()

    run = BeatRun.objects.get()
    assert run.outcome == BeatRunOutcome.RETRYING
    assert "database restarting" in run.error


@pytest.mark.django_db
def test_only_the_latest_runs_of_each_task_are_kept():
    for index in range(BEAT_RUNS_KEPT_PER_TASK + 3):
        record_beat_run_started(task_name="listening.tasks.sweep_imports", task_id=f"run-{index}")
    record_beat_run_started(task_name="emotion.tasks.requeue_stalled_analyses", task_id="other")

    kept = BeatRun.objects.filter(task_name="listening.tasks.sweep_imports")
    assert kept.count() == BEAT_RUNS_KEPT_PER_TASK
    assert not kept.filter(task_id__in=["run-0", "run-1", "run-2"]).exists()
    assert BeatRun.objects.filter(task_id="other").exists()


@pytest.mark.django_db
def test_a_run_whose_worker_died_stays_running_and_the_next_one_is_ended():
    lost = record_beat_run_started(task_name="listening.tasks.sweep_imports", task_id="same-id")
    redelivered = record_beat_run_started(
        task_name="listening.tasks.sweep_imports", task_id="same-id"
    )
    ended = record_beat_run_finished(task_id="same-id", outcome=BeatRunOutcome.SUCCEEDED)

    assert ended.pk == redelivered.pk
    lost.refresh_from_db()
    assert lost.outcome == BeatRunOutcome.RUNNING
    assert record_beat_run_finished(task_id="unknown", outcome=BeatRunOutcome.FAILED) is None


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_beat_task_run_on_a_real_worker_is_recorded(celery_worker):
    result = sweep_imports.delay()

    wait_for(
        lambda: BeatRun.objects.filter(
            task_id=result.id, outcome=BeatRunOutcome.SUCCEEDED
        ).exists(),
        timeout=60,
        what="the worker to run the sweep and record it",
    )
    run = BeatRun.objects.get(task_id=result.id)
    assert run.task_name == "listening.tasks.sweep_imports"
    assert run.result == "{'failed_stalled': 0, 'deleted_files': 0}"
    assert run.finished_at >= run.started_at
    # The worker runs every task through the same signals; only beat's are recorded.
    assert not BeatRun.objects.exclude(task_name__in=selectors.beat_task_names()).exists()
