"""Matching what a client says it played to a track of the catalogue.

Every ingestion path (the REST API, the ListenBrainz API, file imports) and every later
re-match (a new catalogue track, ``match_unmatched_plays``) goes through ``match_tracks``, so a
play resolves the same way wherever it came from.

The order, first hit wins:

1. the MusicBrainz recording id;
2. the ISRC;
3. the normalised song key (``catalogue.dedup.song_key``: title | artist | album, with
   packaging qualifiers such as "(Remastered 2011)" removed);
4. only when the play names **no album**: the normalised title + artist, if the catalogue
   holds exactly one song (one song key) by that title and artist. With two songs of that
   name, say the studio and the live album, guessing would put the play on the wrong one, so
   the play stays unmatched until a person or a later catalogue change makes it clear. A play
   that does name an album is never matched to a different album by title + artist alone.

Several catalogue tracks with the same recording id, ISRC or song key are re-releases of one
recording; the oldest (lowest id) is taken so the choice is stable.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from django.db.models import Q

from catalogue.dedup import KEY_SEPARATOR, normalise_part, song_key
from catalogue.models import Track

NAME_MAX_LENGTH = 500  # the catalogue's limit for title, artist and album
_ISRC = re.compile(r"^[A-Z]{2}[A-Z0-9]{3}\d{7}$")
_LOOKUP_CHUNK = 500
_PREFIX_LOOKUP_CHUNK = 100


def normalise_isrc(raw: str | None) -> str:
    """An ISRC as the catalogue stores it ("US-RC1-76-07839" -> "USRC17607839"), or "" when
    the value is not an ISRC at all (clients put odd things in free-form fields)."""
    candidate = re.sub(r"[\s-]", "", raw or "").upper()
    return candidate if _ISRC.match(candidate) else ""


def key_digest(key: str) -> str:
    """The stored form of a song key: fixed-length, so indexes stay small for long names."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class TrackMetadata:
    """What a client said about the track it played, cleaned to the catalogue's limits."""

    track_name: str
    artist_name: str
    release_name: str = ""
    recording_mbid: uuid.UUID | None = None
    isrc: str = ""
    duration_ms: int | None = None

    @classmethod
    def clean(
        cls,
        *,
        track_name: str,
        artist_name: str,
        release_name: str | None = "",
        recording_mbid: uuid.UUID | str | None = None,
        isrc: str | None = "",
        duration_ms: int | None = None,
    ) -> TrackMetadata:
        if recording_mbid is not None and not isinstance(recording_mbid, uuid.UUID):
            try:
                recording_mbid = uuid.UUID(str(recording_mbid))
            except ValueError:
                recording_mbid = None
        return cls(
            track_name=track_name.strip()[:NAME_MAX_LENGTH],
            artist_name=artist_name.strip()[:NAME_MAX_LENGTH],
            release_name=(release_name or "").strip()[:NAME_MAX_LENGTH],
            recording_mbid=recording_mbid,
            isrc=normalise_isrc(isrc),
            duration_ms=duration_ms,
        )

    @cached_property
    def song_key(self) -> str:
        return song_key(title=self.track_name, artist=self.artist_name, album=self.release_name)

    @cached_property
    def title_artist_key(self) -> str:
        """The song key without an album, which is also the prefix of every album's key."""
        return song_key(title=self.track_name, artist=self.artist_name, album="")

    @property
    def key_digest(self) -> str:
        return key_digest(self.song_key)

    @property
    def can_match_by_name(self) -> bool:
        # A title or artist that normalises to nothing ("???") would match anything.
        return bool(normalise_part(self.track_name)) and bool(normalise_part(self.artist_name))


def match_tracks(items: Sequence[TrackMetadata]) -> list[int | None]:
    """The catalogue track id for each item (None when unmatched), in a handful of queries."""
    by_mbid = _oldest_track_by(
        "musicbrainz_recording_id", {m.recording_mbid for m in items if m.recording_mbid}
    )
    by_isrc = _oldest_track_by("isrc", {m.isrc for m in items if m.isrc})
    by_name = [m for m in items if m.can_match_by_name]
    by_key = _oldest_track_by("song_key", {m.song_key for m in by_name})
    by_title_artist = _unambiguous_tracks_by_title_and_artist(
        {m.title_artist_key for m in by_name if not m.release_name and m.song_key not in by_key}
    )

    matches: list[int | None] = []
    for item in items:
        track_id = by_mbid.get(item.recording_mbid) or by_isrc.get(item.isrc)
        if track_id is None and item.can_match_by_name:
            track_id = by_key.get(item.song_key)
            if track_id is None and not item.release_name:
                track_id = by_title_artist.get(item.title_artist_key)
        matches.append(track_id)
    return matches


def _chunks(values: Iterable, size: int) -> Iterable[list]:
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _oldest_track_by(field: str, values: set) -> dict:
    found: dict = {}
    for chunk in _chunks(values, _LOOKUP_CHUNK):
        rows = (
            Track.objects.filter(**{f"{field}__in": chunk}).order_by("id").values_list(field, "id")
        )
        for value, track_id in rows:
            found.setdefault(value, track_id)
    return found


def _unambiguous_tracks_by_title_and_artist(title_artist_keys: set[str]) -> dict[str, int]:
    """title_artist_key -> the oldest track, for keys under which the catalogue has one song."""
    songs: dict[str, dict[str, int]] = defaultdict(dict)
    for chunk in _chunks(title_artist_keys, _PREFIX_LOOKUP_CHUNK):
        wanted = set(chunk)
        prefix_filter = Q()
        for prefix in wanted:
            prefix_filter |= Q(song_key__startswith=prefix)
        rows = Track.objects.filter(prefix_filter).order_by("id").values_list("song_key", "id")
        for key, track_id in rows:
            title, artist, *_ = key.split(KEY_SEPARATOR)
            prefix = KEY_SEPARATOR.join((title, artist, ""))
            if prefix in wanted:
                songs[prefix].setdefault(key, track_id)
    return {
        prefix: next(iter(tracks.values())) for prefix, tracks in songs.items() if len(tracks) == 1
    }
