"""The emotion side of the admin: the track page explains a tag, versions and runs read as
tables, and a training run added without a worker does not hold the browser."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from django.urls import reverse

from emotion.admin import training_thread_name
from emotion.ml.inference import ATTENTION, SEGMENT_PROBABILITY
from emotion.models import CuratorLabel, TrackEmotion, TrainingRun, TrainingRunStatus
from emotion.selectors import track_segments
from emotion.services.registry import activate_model_version, register_model_version
from emotion.services.tagging import tag_tracks_with_model
from tests.emotion.ml.synthetic import make_synthetic
from tests.emotion.ml.test_architectures import combined_sequences
from tests.factories import TrackFactory, analysed_track

pytestmark = pytest.mark.django_db


def activate(model, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        version = register_model_version(model=model)
        activate_model_version(version=version)
    version.refresh_from_db()
    return version


def tagged_track(version, features, **fields):
    track = analysed_track(features, **fields)
    tag_tracks_with_model(version=version, track_ids=[track.pk])
    return track


@pytest.fixture
def pooled_version(pooled_mlp, django_capture_on_commit_callbacks):
    return activate(pooled_mlp, django_capture_on_commit_callbacks)


def test_track_segments_explain_a_pooled_models_tag_segment_by_segment(pooled_version):
    sequences, _, _ = combined_sequences(1)
    track = tagged_track(pooled_version, sequences[0], title="Pooled")
    emotion = TrackEmotion.objects.get(track=track)

    segments = track_segments(track=track)

    assert segments.model_version == pooled_version
    np.testing.assert_allclose(segments.lld, sequences[0][:, :50], rtol=1e-6)
    assert segments.explanation.kind == SEGMENT_PROBABILITY
    assert segments.explanation.label == emotion.label
    assert segments.explanation.values.shape == (len(sequences[0]),)
    assert ((segments.explanation.values >= 0) & (segments.explanation.values <= 1)).all()


def test_track_segments_show_an_attentive_models_attention(
    attentive_lstm, django_capture_on_commit_callbacks
):
    version = activate(attentive_lstm, django_capture_on_commit_callbacks)
    sequences, _, _ = make_synthetic(1)
    track = tagged_track(version, sequences[1])

    segments = track_segments(track=track)

    assert segments.explanation.kind == ATTENTION
    assert segments.explanation.values.sum() == pytest.approx(1.0, abs=1e-5)


def test_track_segments_without_analysis_or_model():
    assert track_segments(track=TrackFactory()) is None
    unexplained = track_segments(track=analysed_track(np.ones((3, 50))))
    assert unexplained.explanation is None
    assert unexplained.unexplained_reason == "no mood model is active"
    assert unexplained.lld.shape == (3, 50)


def test_the_track_list_and_page_show_analysis_emotion_and_why(admin_client, pooled_version):
    sequences, _, _ = combined_sequences(1)
    track = tagged_track(pooled_version, sequences[0], title="Explained song")
    TrackFactory(title="Silent song")
    emotion = TrackEmotion.objects.get(track=track)

    listing = admin_client.get(reverse("admin:catalogue_track_changelist"))
    assert listing.status_code == 200
    content = listing.content.decode()
    assert f"done, {len(sequences[0])} segments" in content
    assert f"{emotion.label} (" in content and "not tagged" in content
    tagged_only = admin_client.get(
        reverse("admin:catalogue_track_changelist"), {"emotion": emotion.label}
    )
    assert b"Explained song" in tagged_only.content and b"Silent song" not in tagged_only.content
    untagged = admin_client.get(reverse("admin:catalogue_track_changelist"), {"emotion": "none"})
    assert b"Explained song" not in untagged.content and b"Silent song" in untagged.content
    done = admin_client.get(reverse("admin:catalogue_track_changelist"), {"analysis": "done"})
    assert b"Explained song" in done.content and b"Silent song" not in done.content

    page = admin_client.get(reverse("admin:catalogue_track_change", args=[track.pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert 'class="chart"' in content and "data:image/png;base64," in content
    assert "has no attention" in content and f"probability of {emotion.label}" in content
    assert "Valence / arousal" in content
    assert f"valence {emotion.valence:.2f}, arousal {emotion.arousal:.2f} (derived from" in content
    assert "Curator label (training data)" in content and "curator_label-0-label" in content


def test_a_curator_labels_a_track_on_its_page(admin_client, pooled_version):
    track = analysed_track(np.ones((3, 50)), title="To label", artist="Someone")
    form = {
        "title": track.title,
        "artist": track.artist,
        "album": "",
        "duration_ms": "",
        "isrc": "",
        "musicbrainz_recording_id": "",
        "curator_label-TOTAL_FORMS": "1",
        "curator_label-INITIAL_FORMS": "0",
        "curator_label-MIN_NUM_FORMS": "0",
        "curator_label-MAX_NUM_FORMS": "1",
        "curator_label-0-label": "Q3",
        "curator_label-0-note": "a slow lament",
        "curator_label-0-track": str(track.pk),
    }

    response = admin_client.post(reverse("admin:catalogue_track_change", args=[track.pk]), form)

    assert response.status_code == 302, response.content.decode()[:3000]
    label = CuratorLabel.objects.get(track=track)
    assert (label.label, label.note) == ("Q3", "a slow lament")


def test_the_version_list_names_each_versions_family(admin_client, pooled_version):
    listing = admin_client.get(reverse("admin:emotion_moodmodelversion_changelist"))

    assert listing.status_code == 200
    assert '<span title="architecture: pooled_head">pooled-mlp</span>' in listing.content.decode()


def test_a_version_page_reads_as_tables_not_json(admin_client, pooled_version):
    page = admin_client.get(
        reverse("admin:emotion_moodmodelversion_change", args=[pooled_version.pk])
    )
    content = page.content.decode()
    assert page.status_code == 200
    assert 'class="readable"' in content
    assert "pooled_head" in content and "hidden size" in content
    assert '{"' not in content and "{&quot;" not in content


@pytest.mark.django_db(transaction=True)
def test_without_a_worker_an_added_training_run_trains_after_the_response(admin_client):
    # No curator labels: the run fails with its reason, quickly; what matters is where and
    # when it runs, and what the page says meanwhile.
    response = admin_client.post(
        reverse("admin:emotion_trainingrun_add"),
        {
            "source": "curator",
            "dataset_path": "",
            "label_column": "quadrant",
            "preset": "fast",
            "seed": "0",
        },
        follow=True,
    )

    run = TrainingRun.objects.get()
    messages = [str(message) for message in response.context["messages"]]
    assert messages == [
        f"Training run {run.pk} started in this web process (no worker is configured). "
        "Refresh this page to follow its stage; it ends promoted, kept or failed."
    ]
    for thread in threading.enumerate():
        if thread.name == training_thread_name(run.pk):
            thread.join(timeout=120)
    run.refresh_from_db()
    assert run.status == TrainingRunStatus.FAILED
    assert run.outcome
    page = admin_client.get(reverse("admin:emotion_trainingrun_change", args=[run.pk]))
    assert b"failed" in page.content
