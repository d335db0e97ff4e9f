from __future__ import annotations

import datetime as dt
import uuid

import factory
import numpy as np
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from rest_framework.authtoken.models import Token

from catalogue.models import Track
from emotion.features import N_LLD_FEATURES, feature_set
from emotion.models import AnalysisStatus, TrackAnalysis
from listening.models import ImportFormat, ImportJob, Play
from recommender.models import Journey, JourneyItem, Recommendation
from users.models import User


class ListenerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"listener{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    # Listeners authenticate with tokens; an unusable password keeps the admin closed to them.
    password = factory.LazyFunction(lambda: make_password(None))
    token = factory.RelatedFactory("tests.factories.TokenFactory", factory_related_name="user")


class StaffFactory(ListenerFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True


class TokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Token

    user = factory.SubFactory(ListenerFactory, token=None)


class TrackFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Track

    title = factory.Sequence(lambda n: f"Song {n}")
    artist = factory.Sequence(lambda n: f"Artist {n % 7}")
    album = factory.Sequence(lambda n: f"Album {n % 3}")
    duration_ms = 180_000


class PlayFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Play

    listener = factory.SubFactory(ListenerFactory)
    track = factory.SubFactory(TrackFactory)
    played_at = factory.Sequence(lambda n: timezone.now() - dt.timedelta(minutes=n + 1))
    ms_played = 180_000
    client = "factory"


class ImportJobFactory(factory.django.DjangoModelFactory):
    """A queued import; no file is stored (nothing here reads it)."""

    class Meta:
        model = ImportJob

    listener = factory.SubFactory(ListenerFactory)
    format = ImportFormat.LISTENBRAINZ
    file = "imports/listens.jsonl"
    original_name = "listens.jsonl"


class RecommendationFactory(factory.django.DjangoModelFactory):
    """A recommendation served and not answered yet."""

    class Meta:
        model = Recommendation

    listener = factory.SubFactory(ListenerFactory)
    track = factory.SubFactory(TrackFactory)
    song_key = factory.LazyAttribute(lambda recommendation: recommendation.track.song_key)
    batch = factory.LazyFunction(uuid.uuid4)
    rank = 1
    policy = "seed"
    target_label = "Q1"
    track_probability = 0.9
    score = 0.9
    created_at = factory.LazyFunction(timezone.now)


class JourneyFactory(factory.django.DjangoModelFactory):
    """A journey from sad (Q3) to happy (Q1), planned with nothing on it yet."""

    class Meta:
        model = Journey

    listener = factory.SubFactory(ListenerFactory)
    created_at = factory.LazyFunction(timezone.now)
    length = 5
    curve = "straight"
    max_step = 0.25
    start_valence = 0.25
    start_arousal = 0.25
    start_label = "Q3"
    target_label = "Q1"
    target_valence = 0.75
    target_arousal = 0.75
    target_radius = 0.1


class JourneyItemFactory(factory.django.DjangoModelFactory):
    """The journey's first track, at its start, served as an unanswered recommendation."""

    class Meta:
        model = JourneyItem

    journey = factory.SubFactory(JourneyFactory)
    position = 1
    track = factory.SubFactory(TrackFactory)
    recommendation = factory.SubFactory(
        RecommendationFactory,
        listener=factory.SelfAttribute("..journey.listener"),
        track=factory.SelfAttribute("..track"),
        policy="journey",
    )
    waypoint_valence = 0.25
    waypoint_arousal = 0.25
    valence = 0.25
    arousal = 0.25
    step = 0.0
    reason = "step 1 of 5: matching how you feel now (sad)"


def current_features(features: np.ndarray) -> np.ndarray:
    """``features`` as analyses of today's feature set hold them: n × 50 LLDs are widened with
    zero embedding columns, so tests of the loop can speak in LLDs alone."""
    matrix = np.ascontiguousarray(features, dtype=np.float32)
    width = feature_set(settings.AUDIO_FEATURE_SET).dims
    if matrix.shape[1] == N_LLD_FEATURES < width:
        matrix = np.hstack([matrix, np.zeros((len(matrix), width - N_LLD_FEATURES), np.float32)])
    return matrix


def analysed_track(features: np.ndarray, **track_fields) -> Track:
    """A track whose audio analysis is done and current, holding ``features`` (n × 50 LLDs, or
    today's full width; see ``current_features``)."""
    track = TrackFactory(**track_fields)
    matrix = current_features(features)
    TrackAnalysis.objects.create(
        track=track,
        status=AnalysisStatus.DONE,
        audio_name=track.audio.name,
        feature_set_version=settings.AUDIO_FEATURE_SET,
        segment_seconds=settings.AUDIO_SEGMENT_SECONDS,
        n_segments=matrix.shape[0],
        features=matrix.tobytes(),
        requested_at=timezone.now(),
        finished_at=timezone.now(),
    )
    return track
