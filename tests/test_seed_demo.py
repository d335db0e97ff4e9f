import datetime as dt
import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from catalogue.models import Track
from emotion.ml.evaluation import require_every_emotion_on_both_sides, stable_artist_holdout
from emotion.models import AnalysisStatus, TrackAnalysis, TrackEmotion
from emotion.selectors import active_model_version
from emotion.synth import render_catalogue
from tests.worker_process import wait_for


@pytest.mark.django_db(transaction=True)
def test_seed_demo_prints_a_token_that_records_plays_in_the_history():
    out = io.StringIO()
    call_command("seed_demo", "--tracks-per-quadrant", "2", stdout=out)
    token = re.search(r"API token \(demo\):\s+(\w+)", out.getvalue()).group(1)
    assert "curl" in out.getvalue() and "/admin/" in out.getvalue()
    # In-process, the analyses ran as the catalogue was stored, and the demo model after them.
    assert re.search(r"mood model v\d+ is active", out.getvalue())
    assert TrackAnalysis.objects.filter(status=AnalysisStatus.DONE).count() == 8
    assert_demo_model_has_held_out_metrics_over_every_emotion(active_model_version())

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    played_at = (timezone.now() - dt.timedelta(seconds=5)).isoformat()
    track_id = client.get("/api/v1/tracks/").json()["results"][0]["id"]
    body = client.post(
        "/api/v1/plays/", {"plays": [{"track": track_id, "played_at": played_at}]}, format="json"
    ).json()
    assert body["accepted"] == 1
    history = client.get("/api/v1/plays/").json()["results"]
    assert history[0]["id"] == body["results"][0]["play_id"]

    # The demo model is active and the catalogue tagged, so the loop works at once.
    recommendations = client.get("/api/v1/recommendations/", {"limit": 2})
    assert recommendations.status_code == 200, recommendations.json()
    assert recommendations.json()["mood"]["basis"] == "inferred"
    served = recommendations.json()["results"]
    assert served, "expected demo recommendations"
    answer = client.post(
        f"/api/v1/recommendations/{served[0]['id']}/feedback", {"action": "accept"}, format="json"
    )
    assert answer.status_code == 200
    assert client.get("/api/v1/me/mood").json()["current"]["basis"] == "inferred"

    # The staff token it prints uploads audio, which a listener's token may not.
    staff_token = re.search(r"API token \(admin, staff\):\s+(\w+)", out.getvalue()).group(1)
    staff = APIClient()
    staff.credentials(HTTP_AUTHORIZATION=f"Token {staff_token}")
    created = staff.post("/api/v1/tracks/", {"title": "Staff song", "artist": "Staff"})
    assert created.status_code == 201, created.json()
    assert client.post("/api/v1/tracks/", {"title": "x", "artist": "y"}).status_code == 403
    first_password = re.search(r"login admin / (\S+)", out.getvalue()).group(1)

    again = io.StringIO()
    call_command("seed_demo", stdout=again)
    assert token in again.getvalue() and staff_token in again.getvalue()
    assert first_password not in again.getvalue()

    reset = io.StringIO()
    call_command("seed_demo", "--reset-admin-password", stdout=reset)
    new_password = re.search(r"login admin / (\S+)", reset.getvalue()).group(1)
    assert new_password != first_password
    assert Client().login(username="admin", password=new_password)


def assert_demo_model_has_held_out_metrics_over_every_emotion(version) -> None:
    """Held-out metrics like a training run's: whole artists held out, every emotion among
    them and among the training tracks, a confusion matrix stored."""
    emotions = ["Q1", "Q2", "Q3", "Q4"]
    assert version.metrics["labels"] == emotions
    assert all(version.metrics["per_class"][label]["support"] >= 1 for label in emotions)
    assert version.metrics["n"] == version.evaluated_on["n_clips"] == 4
    assert sorted(version.evaluated_on["label_counts"]) == emotions
    assert sorted(version.trained_on["label_counts"]) == emotions
    held_out_artists = set(version.evaluated_on["artists"])
    assert len(held_out_artists) == 4
    held_out_tracks = Track.objects.filter(artist__in=held_out_artists)
    assert held_out_tracks.count() == 4  # no held-out artist has a track on the training side
    assert sorted(held_out_tracks.values_list("curator_label__label", flat=True)) == emotions
    assert version.confusion_image


@pytest.mark.parametrize("per_quadrant", [2, 3, 8])
def test_the_stable_split_holds_every_demo_emotion_on_both_sides(settings, per_quadrant):
    """The issue's training run over the demo catalogue held out 8 clips and no relaxed one;
    the demo's artists now put every emotion on both sides of the split that training runs
    and the demo model use, from seed_demo's smallest catalogue to its default (8)."""
    catalogue = render_catalogue(per_quadrant, seed=7, seconds=1.0)
    labels = [track.quadrant for track in catalogue]
    train, held_out = stable_artist_holdout(
        [track.artist for track in catalogue], fraction=settings.MOOD_MODEL_HOLDOUT_FRACTION
    )
    require_every_emotion_on_both_sides(labels, train, held_out)


@pytest.mark.django_db
def test_seed_demo_refuses_a_catalogue_too_small_to_hold_out_every_emotion():
    with pytest.raises(CommandError, match="--tracks-per-quadrant must be at least 2"):
        call_command("seed_demo", "--tracks-per-quadrant", "1", stdout=io.StringIO())
    assert not Track.objects.exists()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_on_a_worker_the_demo_model_follows_the_analyses(celery_worker):
    """The README's PostgreSQL + Redis + worker steps end with a model: seed_demo returns while
    the worker analyses the catalogue, and the demo model is trained once it is done."""
    out = io.StringIO()
    call_command("seed_demo", "--tracks-per-quadrant", "2", stdout=out)
    token = re.search(r"API token \(demo\):\s+(\w+)", out.getvalue()).group(1)

    wait_for(
        lambda: active_model_version() is not None,
        timeout=180,
        what="the demo mood model to follow the analyses on the worker",
    )
    version = active_model_version()
    assert version.trained_on["source"] == "seed_demo synthetic catalogue"
    assert_demo_model_has_held_out_metrics_over_every_emotion(version)
    assert TrackAnalysis.objects.filter(status=AnalysisStatus.DONE).count() == 8
    wait_for(
        lambda: TrackEmotion.objects.filter(model_version=version).count() == 8,
        timeout=60,
        what="the worker to tag the demo catalogue",
    )

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    recommendations = client.get("/api/v1/recommendations/", {"limit": 2})
    assert recommendations.status_code == 200, recommendations.json()
    assert recommendations.json()["mood"]["basis"] == "inferred"
    assert recommendations.json()["results"]
