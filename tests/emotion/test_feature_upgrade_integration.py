"""Upgrading a running catalogue from the seed's LLDs to LLDs + musicnn embeddings, on a live
worker: the README's "Upgrading the feature set" steps, in order.

The worker runs today's default feature set (``lld50-musicnn-v1``): it is the upgraded
deployment. The catalogue starts as the release before left it: ``lld50-v1`` analyses and
tags from an active ``lld50-v1`` model.
"""

from __future__ import annotations

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from emotion.features import (
    DEFAULT_FEATURE_SET_VERSION,
    LLD_FEATURE_SET_VERSION,
    analyse_audio,
)
from emotion.ml import train_mood_model
from emotion.ml.presets import PRESETS
from emotion.models import AnalysisStatus, CuratorLabel, TrackAnalysis, TrackEmotion
from emotion.selectors import curator_labelled_dataset
from emotion.services.analysis import requeue_stalled_and_stale_analyses
from emotion.services.registry import activate_model_version, register_model_version
from emotion.services.tagging import tag_tracks_with_model
from emotion.synth import render_clip, wav_bytes
from tests.conftest import client_for
from tests.emotion.ml.synthetic import TINY_CONFIG
from tests.factories import ListenerFactory, TrackFactory
from tests.worker_process import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

QUADRANTS = ("Q1", "Q2", "Q3", "Q4")


def catalogue_of_the_previous_release() -> list:
    """Tracks with audio, ``lld50-v1`` analyses and curator labels, as before the upgrade."""
    tracks = []
    for index in range(12):
        quadrant = QUADRANTS[index % 4]
        track = TrackFactory(artist=f"{quadrant} upgrade artist {index}")
        audio = wav_bytes(render_clip(quadrant, seed=index, seconds=7.0))
        # Straight into storage, as a bulk import would: no analysis is queued.
        track.audio.save(f"upgrade-{index}.wav", ContentFile(audio), save=True)
        features = analyse_audio(audio, feature_set_version=LLD_FEATURE_SET_VERSION).features
        TrackAnalysis.objects.update_or_create(
            track=track,
            defaults={
                "status": AnalysisStatus.DONE,
                "audio_name": track.audio.name,
                "feature_set_version": LLD_FEATURE_SET_VERSION,
                "segment_seconds": 3.0,
                "n_segments": len(features),
                "features": np.ascontiguousarray(features).tobytes(),
                "requested_at": timezone.now(),
                "finished_at": timezone.now(),
            },
        )
        CuratorLabel.objects.create(track=track, label=quadrant)
        tracks.append(track)
    return tracks


def test_upgrading_the_feature_set_re_extracts_then_a_new_model_retags(celery_worker, settings):
    assert settings.AUDIO_FEATURE_SET == DEFAULT_FEATURE_SET_VERSION  # the upgraded release
    with override_settings(AUDIO_FEATURE_SET=LLD_FEATURE_SET_VERSION):
        tracks = catalogue_of_the_previous_release()
        old_data = curator_labelled_dataset()
        old_model = train_mood_model(
            old_data.sequences,
            old_data.labels,
            old_data.artists,
            preset=TINY_CONFIG.with_overrides(max_epochs=5),
            feature_set_version=LLD_FEATURE_SET_VERSION,
        )
        with transaction.atomic():
            old_version = register_model_version(model=old_model)
            old_version.is_active = True
            old_version.save(update_fields=["is_active"])
        tag_tracks_with_model(version=old_version, track_ids=[t.pk for t in tracks])
    assert TrackEmotion.objects.filter(model_version=old_version).count() == len(tracks)

    def recommendations() -> dict:
        response = client_for(ListenerFactory()).get("/api/v1/recommendations/?limit=3")
        assert response.status_code == 200, response.content
        assert response.json()["results"], response.json()
        return response.json()

    # 1. Deployed, before the sweep: recommendations still serve from the old tags.
    assert recommendations()["model_version"] == old_version.pk

    # 2. The sweep finds every analysis stale and the worker re-extracts them.
    with transaction.atomic():
        assert requeue_stalled_and_stale_analyses() == len(tracks)
    wait_for(
        lambda: (
            TrackAnalysis.objects.filter(
                status=AnalysisStatus.DONE, feature_set_version=DEFAULT_FEATURE_SET_VERSION
            ).count()
            == len(tracks)
        ),
        timeout=180,
        what="the worker to re-extract every analysis with the new feature set",
    )
    # The old model reads the LLD columns of the new analyses, so tags stay whole.
    assert TrackEmotion.objects.filter(model_version=old_version).count() == len(tracks)
    assert recommendations()["model_version"] == old_version.pk

    # 3. A model of the new feature set, trained on the re-extracted features, is activated
    #    and the worker re-tags the catalogue with it.
    new_data = curator_labelled_dataset()
    assert new_data.feature_set_version == DEFAULT_FEATURE_SET_VERSION
    assert new_data.sequences[0].shape[1] == 550
    new_model = train_mood_model(
        new_data.sequences,
        new_data.labels,
        new_data.artists,
        preset=PRESETS["pooled-embeddings"].with_overrides(max_epochs=5, validation_fraction=0),
        feature_set_version=new_data.feature_set_version,
    )
    with transaction.atomic():
        new_version = register_model_version(model=new_model)
        activate_model_version(version=new_version)
    wait_for(
        lambda: TrackEmotion.objects.filter(model_version=new_version).count() == len(tracks),
        timeout=120,
        what="the worker to re-tag the catalogue with the new model",
    )
    assert new_version.feature_set_version == DEFAULT_FEATURE_SET_VERSION
    assert recommendations()["model_version"] == new_version.pk
