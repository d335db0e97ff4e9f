"""Reading listening-history exports: Spotify's streaming history and ListenBrainz's export.

Parsing never touches the database. A file is read and checked in full before anything is
stored: an entry that breaks the format (bad JSON, a missing field, a wrong type) makes the
whole file fail with an ``ImportFileError`` naming the line or entry, because a file that is
wrong in one place may be wrong in others and a half import is worse than none. Entries that
are well-formed but cannot be plays are counted instead: *skipped* when they are not music
(podcast and audiobook entries have no track name), *rejected* when their values are refused
(a play before 2000 or in the future, a music entry without an artist).

Spotify records when a stream *ended* (``endTime``, ``ts``); a play's ``played_at`` is when it
started, as in the REST API and in ListenBrainz's ``listened_at``, so the import subtracts
``ms_played``, to the second.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from common.parsers import parse_json
from listening.matching import TrackMetadata
from listening.models import ImportFormat
from listening.validation import played_at_problem

PROGRESS_EVERY = 1000
_MAX_MS_PLAYED = 24 * 3600 * 1000

ProgressCallback = Callable[[int, int], None]


class ImportFileError(Exception):
    """The file as a whole cannot be imported; the message says where and why."""


@dataclass(frozen=True)
class ImportedPlay:
    position: int  # the 1-based entry (JSON array) or line (JSON lines) it came from
    played_at: dt.datetime
    metadata: TrackMetadata
    ms_played: int | None = None
    client: str = ""


@dataclass
class ParsedImport:
    plays: list[ImportedPlay]
    total: int
    skipped: int = 0
    rejected: int = 0


def detect_format(head: bytes) -> str | None:
    """Guess the format from the first bytes of a file, or None when it is neither.

    ListenBrainz exports are JSON lines (one listen object per line); Spotify's are one JSON
    array. An array of ListenBrainz listens (the older export) is recognised too.
    """
    text = head.decode("utf-8-sig", errors="ignore").lstrip()
    if text.startswith("{"):
        return ImportFormat.LISTENBRAINZ
    if text.startswith("["):
        if '"track_metadata"' in text:
            return ImportFormat.LISTENBRAINZ
        if any(key in text for key in ('"endTime"', '"ts"', '"msPlayed"', '"ms_played"')):
            return ImportFormat.SPOTIFY
    return None


def parse_import(
    *, data: bytes, format: str, on_progress: ProgressCallback | None = None
) -> ParsedImport:
    text = _decode(data)
    if format == ImportFormat.SPOTIFY:
        entries = _json_array(text, what="Spotify streaming history")
        return _parse_entries(entries, _spotify_play, on_progress, unit="entry")
    if format == ImportFormat.LISTENBRAINZ:
        if text.lstrip().startswith("["):
            entries = _json_array(text, what="ListenBrainz listens")
            return _parse_entries(entries, _listenbrainz_play, on_progress, unit="entry")
        return _parse_entries(_json_lines(text), _listenbrainz_play, on_progress, unit="line")
    raise ImportFileError(f"unknown import format {format!r}")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(
            f"the file is not UTF-8 text (byte {error.start}); export it again as JSON"
        ) from error


def _json_array(text: str, *, what: str) -> list[tuple[int, Any]]:
    try:
        document = parse_json(text)
    except json.JSONDecodeError as error:
        raise ImportFileError(
            f"the file is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from error
    if not isinstance(document, list):
        raise ImportFileError(f"the file is not a JSON list of {what}")
    return list(enumerate(document, start=1))


def _json_lines(text: str) -> list[tuple[int, Any]]:
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append((number, parse_json(line)))
        except json.JSONDecodeError as error:
            raise ImportFileError(
                f"line {number}: not valid JSON ({error.msg} at column {error.colno})"
            ) from error
    return entries


class _Skip(Exception):
    """Not music: counted as skipped."""


class _Reject(Exception):
    """Well-formed, but not a play we can keep: counted as rejected."""


def _parse_entries(
    entries: list[tuple[int, Any]],
    parse_one: Callable[[Any], ImportedPlay],
    on_progress: ProgressCallback | None,
    *,
    unit: str,
) -> ParsedImport:
    parsed = ParsedImport(plays=[], total=len(entries))
    for done, (position, entry) in enumerate(entries, start=1):
        try:
            play = parse_one(entry)
        except _Skip:
            parsed.skipped += 1
        except _Reject:
            parsed.rejected += 1
        except ImportFileError as error:
            raise ImportFileError(f"{unit} {position}: {error}") from error
        else:
            parsed.plays.append(replace(play, position=position))
        if on_progress is not None and (done % PROGRESS_EVERY == 0 or done == len(entries)):
            on_progress(done, len(entries))
    return parsed


# --- Spotify ---------------------------------------------------------------------------------


def _spotify_play(entry: Any) -> ImportedPlay:
    entry = _object(entry)
    if "ts" in entry:  # Streaming_History_Audio_*.json (extended streaming history)
        ended_at = _spotify_extended_time(entry["ts"])
        ms_played = _ms_played(entry, "ms_played")
        track_name = _optional_text(entry, "master_metadata_track_name")
        artist_name = _optional_text(entry, "master_metadata_album_artist_name")
        album_name = _optional_text(entry, "master_metadata_album_album_name")
    elif "endTime" in entry:  # StreamingHistory*.json (account data)
        ended_at = _spotify_account_time(entry["endTime"])
        ms_played = _ms_played(entry, "msPlayed")
        track_name = _optional_text(entry, "trackName")
        artist_name = _optional_text(entry, "artistName")
        album_name = ""
    else:
        raise ImportFileError(
            "neither endTime (StreamingHistory*.json) nor ts (Streaming_History_Audio_*.json); "
            "is this a Spotify streaming-history file?"
        )
    if not track_name:
        raise _Skip  # a podcast episode, an audiobook or a video: no track name
    if not artist_name:
        raise _Reject
    played_at = (ended_at - dt.timedelta(milliseconds=ms_played)).replace(microsecond=0)
    _check_time(played_at)
    return ImportedPlay(
        position=0,
        played_at=played_at,
        metadata=TrackMetadata.clean(
            track_name=track_name, artist_name=artist_name, release_name=album_name
        ),
        ms_played=ms_played,
        client="Spotify (import)",
    )


def _spotify_extended_time(value: Any) -> dt.datetime:
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    raise ImportFileError(f"ts {value!r} is not a time like '2024-01-01T10:00:00Z'")


def _spotify_account_time(value: Any) -> dt.datetime:
    if isinstance(value, str):
        try:
            return dt.datetime.strptime(value, "%Y-%m-%d %H:%M").replace(tzinfo=dt.UTC)
        except ValueError:
            pass
    raise ImportFileError(f"endTime {value!r} is not a time like '2024-01-01 10:00'")


def _ms_played(entry: dict, key: str) -> int:
    if key not in entry:
        raise ImportFileError(f"{key} is missing")
    value = entry[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_MS_PLAYED:
        raise ImportFileError(f"{key} {value!r} is not a number of milliseconds")
    return value


# --- ListenBrainz ----------------------------------------------------------------------------


def _listenbrainz_play(entry: Any) -> ImportedPlay:
    entry = _object(entry)
    if "listened_at" not in entry:
        raise ImportFileError("listened_at is missing")
    listened_at = entry["listened_at"]
    if isinstance(listened_at, bool) or not isinstance(listened_at, int | float):
        raise ImportFileError(f"listened_at {listened_at!r} is not a unix time in seconds")
    try:
        played_at = dt.datetime.fromtimestamp(int(listened_at), tz=dt.UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise ImportFileError(f"listened_at {listened_at!r} is out of range") from error
    track = entry.get("track_metadata")
    if not isinstance(track, dict):
        raise ImportFileError("track_metadata is missing or not an object")
    track_name = _optional_text(track, "track_name", prefix="track_metadata.")
    artist_name = _optional_text(track, "artist_name", prefix="track_metadata.")
    if not track_name or not artist_name:
        raise ImportFileError("track_metadata.track_name and artist_name are required")
    info = track.get("additional_info") or {}
    mapping = track.get("mbid_mapping") or {}
    if not isinstance(info, dict) or not isinstance(mapping, dict):
        raise ImportFileError("track_metadata.additional_info is not an object")
    _check_time(played_at)
    return ImportedPlay(
        position=0,
        played_at=played_at,
        metadata=metadata_from_listenbrainz(track, info=info, mapping=mapping),
        client=client_from_listenbrainz(info) or "ListenBrainz (import)",
    )


def metadata_from_listenbrainz(
    track_metadata: dict, *, info: dict | None = None, mapping: dict | None = None
) -> TrackMetadata:
    """A ListenBrainz ``track_metadata`` object as TrackMetadata.

    ``mbid_mapping`` (present in exports) is ListenBrainz's own match to MusicBrainz; the
    client's ``additional_info.recording_mbid`` wins when both are there.
    """
    info = info if info is not None else track_metadata.get("additional_info") or {}
    mapping = mapping if mapping is not None else track_metadata.get("mbid_mapping") or {}
    duration_ms = info.get("duration_ms")
    if duration_ms is None and info.get("duration") is not None:
        duration_ms = _int_or_none(info.get("duration"))
        duration_ms = duration_ms * 1000 if duration_ms is not None else None
    return TrackMetadata.clean(
        track_name=track_metadata["track_name"],
        artist_name=track_metadata["artist_name"],
        release_name=_text_or_empty(track_metadata.get("release_name")),
        recording_mbid=info.get("recording_mbid") or mapping.get("recording_mbid"),
        isrc=_text_or_empty(info.get("isrc")),
        duration_ms=_positive_or_none(_int_or_none(duration_ms)),
    )


def client_from_listenbrainz(info: dict) -> str:
    """The sending app as "client/version", from the fields ListenBrainz documents."""
    for name_key, version_key in (
        ("submission_client", "submission_client_version"),
        ("media_player", "media_player_version"),
        ("listening_from", None),
    ):
        name = _text_or_empty(info.get(name_key))
        if name:
            version = _text_or_empty(info.get(version_key)) if version_key else ""
            return (f"{name}/{version}" if version else name)[:200]
    return ""


# --- shared ----------------------------------------------------------------------------------


def _object(entry: Any) -> dict:
    if not isinstance(entry, dict):
        raise ImportFileError(f"expected a JSON object, found {type(entry).__name__}")
    return entry


def _optional_text(entry: dict, key: str, *, prefix: str = "") -> str:
    value = entry.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ImportFileError(f"{prefix}{key} {value!r} is not text")
    return value.strip()


def _text_or_empty(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _positive_or_none(value: int | None) -> int | None:
    return value if value is not None and 0 < value <= 2_147_483_647 else None


def _check_time(played_at: dt.datetime) -> None:
    if played_at_problem(played_at) is not None:
        raise _Reject
