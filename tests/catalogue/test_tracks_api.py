import io
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalogue.models import Track
from tests.factories import TrackFactory


def test_listeners_can_list_and_search_tracks(listener_client):
    TrackFactory(title="Blue Moon", artist="Someone")
    TrackFactory(title="Red Sun", artist="Blue Band")
    TrackFactory(title="Green", artist="Other")
    body = listener_client.get("/api/v1/tracks/", {"q": "blue"}).json()
    assert body["count"] == 2
    assert {item["title"] for item in body["results"]} == {"Blue Moon", "Red Sun"}
    assert listener_client.get("/api/v1/tracks/", {"q": "blue moon"}).json()["count"] == 1


def test_track_detail_and_unknown_track(listener_client):
    track = TrackFactory()
    assert listener_client.get(f"/api/v1/tracks/{track.id}/").json()["title"] == track.title
    response = listener_client.get("/api/v1/tracks/999999/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_only_staff_create_tracks(listener_client, staff_client):
    data = {"title": "New", "artist": "Band", "isrc": "USRC17607839"}
    assert listener_client.post("/api/v1/tracks/", data, format="json").status_code == 403
    mbid = str(uuid.uuid4())
    response = staff_client.post(
        "/api/v1/tracks/", {**data, "musicbrainz_recording_id": mbid}, format="json"
    )
    assert response.status_code == 201, response.json()
    track = Track.objects.get(pk=response.json()["id"])
    assert track.isrc == "USRC17607839"
    assert str(track.musicbrainz_recording_id) == mbid


def test_an_invalid_isrc_is_refused_with_a_reason(staff_client):
    response = staff_client.post(
        "/api/v1/tracks/", {"title": "T", "artist": "A", "isrc": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert "ISRC" in response.json()["error"]["message"]


def test_only_staff_upload_audio(listener_client, staff_client):
    track = TrackFactory()
    url = f"/api/v1/tracks/{track.id}/audio/"

    def upload():
        return {"audio": SimpleUploadedFile("song.txt", b"hello", content_type="text/plain")}

    assert listener_client.put(url, upload(), format="multipart").status_code == 403
    response = staff_client.put(url, upload(), format="multipart")
    assert response.status_code == 400
    assert "does not look like an audio file" in response.json()["error"]["message"]


def test_an_empty_audio_upload_is_refused(staff_client):
    track = TrackFactory()
    upload = SimpleUploadedFile("song.mp3", b"", content_type="audio/mpeg")
    response = staff_client.put(
        f"/api/v1/tracks/{track.id}/audio/", {"audio": upload}, format="multipart"
    )
    assert response.status_code == 400
    assert "empty" in response.json()["error"]["message"]


def test_an_oversized_upload_is_a_413(staff_client, settings):
    settings.AUDIO_MAX_UPLOAD_BYTES = 1000
    track = TrackFactory()
    upload = SimpleUploadedFile("song.wav", io.BytesIO(b"x" * 5000).read())
    response = staff_client.put(
        f"/api/v1/tracks/{track.id}/audio/", {"audio": upload}, format="multipart"
    )
    assert response.status_code == 413


@pytest.mark.django_db
def test_tracks_with_plays_cannot_be_deleted_so_no_play_is_lost():
    from django.db.models import ProtectedError

    from tests.factories import PlayFactory

    play = PlayFactory()
    with pytest.raises(ProtectedError):
        play.track.delete()
