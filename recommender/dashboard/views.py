"""The dashboard page. The URL conf wraps it in ``admin.site.admin_view``: staff only, like
every admin page (others are sent to the admin's login)."""

from __future__ import annotations

import datetime as dt

from django.contrib import admin
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone

from common.db_routers import replica_reads
from recommender.dashboard import charts, selectors
from recommender.dashboard.services import BEAT_RUNS_KEPT_PER_TASK

# Rows of the beat table per entry: the latest run, plus the failures among the kept runs.
BEAT_RUNS_PLOTTED = BEAT_RUNS_KEPT_PER_TASK


def dashboard(request: HttpRequest) -> TemplateResponse:
    now = timezone.now()
    # Its numbers are aggregates over the whole catalogue and the plays: the heaviest reads
    # of the admin, and a second of replication lag changes nothing on them. The admin's own
    # context (the session, the user) stays on the primary.
    with replica_reads():
        context = _dashboard_context(now=now)
    return TemplateResponse(
        request,
        "admin/dashboard.html",
        {**admin.site.each_context(request), "title": "Dashboard", "now": now, **context},
    )


def _dashboard_context(*, now: dt.datetime) -> dict:
    model = selectors.active_model()
    distribution = selectors.catalogue_emotions(model=model)
    valence_arousal = selectors.catalogue_valence_arousal(distribution=distribution, model=model)
    states = selectors.analysis_states()
    acceptance = selectors.acceptance(
        now=now, labels=model.version.labels if model is not None else ()
    )
    daily_plays = selectors.plays_per_day(now=now)
    beat_entries = selectors.beat_entries(runs_per_entry=BEAT_RUNS_PLOTTED)
    return {
        "model": model,
        "distribution": distribution,
        "valence_arousal": valence_arousal,
        "states": states,
        "failure_groups": selectors.failure_reason_groups(),
        "acceptance": acceptance,
        "acceptance_by_policy": [
            (policy, acceptance.for_policy(policy)) for policy in acceptance.policies
        ],
        "daily_plays": daily_plays,
        "training_runs": selectors.training_runs_under_way(),
        "import_jobs": selectors.import_jobs_waiting(),
        "beat_entries": beat_entries,
        "charts": {
            "confusion": charts.confusion_matrix_chart(model),
            "emotions": charts.emotion_distribution_chart(distribution, model=model),
            "analyses": charts.analysis_states_chart(states),
            "valence_arousal": charts.valence_arousal_chart(valence_arousal, model=model),
            "acceptance_weekly": charts.acceptance_per_week_chart(acceptance),
            "acceptance_emotions": charts.acceptance_per_emotion_chart(acceptance),
            "plays": charts.plays_per_day_chart(daily_plays),
            "beat": charts.beat_runs_chart(beat_entries, now=now),
        },
    }
