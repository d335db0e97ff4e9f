from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from django.core.files import File
from django.db import transaction

from catalogue.models import Track
from catalogue.signals import track_audio_changed, track_created
from catalogue.validators import validate_audio_file


@transaction.atomic
def create_track(
    *,
    title: str,
    artist: str,
    album: str = "",
    duration_ms: int | None = None,
    isrc: str = "",
    musicbrainz_recording_id: uuid.UUID | None = None,
    audio: File | None = None,
) -> Track:
    track = Track(
        title=title,
        artist=artist,
        album=album,
        duration_ms=duration_ms,
        isrc=isrc.upper(),
        musicbrainz_recording_id=musicbrainz_recording_id,
    )
    track.full_clean(exclude=["audio", "song_key"])
    track.save()
    track_created.send(sender=Track, track=track)
    if audio is not None:
        set_track_audio(track=track, audio=audio)
    return track


@transaction.atomic
def set_track_audio(*, track: Track, audio: File) -> Track:
    """Store new audio for a track and let subscribers (audio analysis) know.

    The previous file is deleted only after the commit, so a rolled-back upload never leaves
    a track pointing at a deleted file.
    """
    validate_audio_file(audio)
    previous_name = track.audio.name if track.audio else ""
    storage = track.audio.storage
    track.audio.save(PurePosixPath(audio.name).name, audio, save=False)
    track.save(update_fields=["audio", "updated_at"])
    if previous_name and previous_name != track.audio.name:
        transaction.on_commit(lambda: storage.delete(previous_name))
    track_audio_changed.send(sender=Track, track=track)
    return track


def record_decoded_duration(*, track_id: int, audio_seconds: float) -> bool:
    """Fill a track's unknown ``duration_ms`` from its decoded audio; returns whether it did.

    A duration the client sent is kept: it describes the recording the listener knows,
    while the stored file may be a preview or an excerpt.
    """
    updated = Track.objects.filter(pk=track_id, duration_ms__isnull=True).update(
        duration_ms=round(audio_seconds * 1000)
    )
    return bool(updated)
