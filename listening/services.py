from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from catalogue.dedup import song_key
from catalogue.models import Track
from common.sql_parameters import in_one_parameter, json_default
from common.tasks import fail_abandoned_rows
from listening.importers import ImportFileError, detect_format, parse_import
from listening.matching import TrackMetadata, key_digest, match_tracks
from listening.models import ImportFormat, ImportJob, ImportStatus, Play
from listening.selectors import import_files_due_for_deletion, stalled_import_jobs
from listening.signals import plays_recorded
from users.models import User

logger = logging.getLogger(__name__)

# How many waiting plays a new catalogue track takes on inside the request that created it;
# past this, the rest are attached by a task so creating a track stays quick.
INLINE_ATTACH_LIMIT = 500
MATCH_BATCH_SIZE = 500
FORMAT_SNIFF_BYTES = 64 * 1024


class PlayStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True, kw_only=True)
class PlayCandidate:
    """A play that passed field validation; ``index`` is its position in the request.

    It names a catalogue track (``track_id``), describes one (``metadata``), or both; a play
    that only describes its track is matched to the catalogue and kept unmatched if that fails.
    """

    index: int
    played_at: dt.datetime
    track_id: int | None = None
    metadata: TrackMetadata | None = None
    ms_played: int | None = None
    client: str = ""
    chosen_by_user: bool = True

    def __post_init__(self) -> None:
        if self.track_id is None and self.metadata is None:
            raise ValueError("a play needs a track id or track metadata")


@dataclass(frozen=True)
class PlayOutcome:
    index: int
    status: PlayStatus
    play_id: int | None = None
    reason: dict | None = None
    matched: bool | None = None


# --- Storing plays ---------------------------------------------------------------------------


def record_plays(
    *, listener: User, candidates: Sequence[PlayCandidate], announce: bool = True
) -> list[PlayOutcome]:
    """Store a batch of plays, reporting each one as accepted, duplicate or rejected.

    Every way plays arrive ends here. A play that names an unknown catalogue id is rejected
    with a reason while the rest of the batch is kept; a play that only describes its track is
    matched (``listening.matching``) and kept unmatched when that fails.

    A play already stored, or repeated within the batch, is a duplicate and is not counted
    twice: same listener, track and played_at, or same listener, played_at and submitted
    metadata (so a described play is recognised whether or not it has been matched since).
    The insert ignores conflicts, so a concurrent resubmission can never create a second row;
    on PostgreSQL, which says which rows it skipped, a play a concurrent request stored first
    is answered as a duplicate of that request's play.

    PostgreSQL stores the batch in one statement (``_insert_plays_in_one_statement``); other
    databases (SQLite) through ``bulk_create``, with the same answers but for that race, which
    ``bulk_create`` cannot see (the play is answered as accepted).

    ``plays_recorded`` is sent after the commit when anything was accepted; callers storing
    one import in several batches pass ``announce=False`` and call ``announce_plays_recorded``
    once for the whole of it.
    """
    if not candidates:
        return []
    track_ids = _resolve_tracks(candidates)
    stored_by_track, stored_by_metadata = _stored_play_keys(
        listener_id=listener.id, played_at={c.played_at for c in candidates}
    )

    outcomes: dict[int, PlayOutcome] = {}
    seen_in_batch: set[tuple] = set()
    to_insert: list[tuple[PlayCandidate, int | None]] = []
    for candidate in candidates:
        track_id = track_ids.get(candidate.index)
        if candidate.track_id is not None and track_id is None:
            outcomes[candidate.index] = PlayOutcome(
                index=candidate.index,
                status=PlayStatus.REJECTED,
                reason={"track": [f"track {candidate.track_id} is not in the catalogue"]},
            )
            continue
        track_key, metadata_key = _dedup_keys(candidate, track_id)
        stored_id = stored_by_track.get(track_key) or stored_by_metadata.get(metadata_key)
        keys = set(_present((track_key, metadata_key)))
        if stored_id is not None or keys & seen_in_batch:
            outcomes[candidate.index] = PlayOutcome(
                index=candidate.index, status=PlayStatus.DUPLICATE, play_id=stored_id
            )
        else:
            seen_in_batch.update(keys)
            to_insert.append((candidate, track_id))

    # One statement on PostgreSQL; bulk_create wraps its batches in a transaction itself.
    inserted_ids = _insert_plays(listener=listener, plays=to_insert)
    # Each dedup key of a play this batch stored to its id: what a repeat within the batch is
    # a duplicate of.
    new_play_ids: dict[tuple, int] = {}
    lost_races: list[tuple[PlayCandidate, int | None]] = []
    for (candidate, track_id), play_id in zip(to_insert, inserted_ids, strict=True):
        if play_id is None:
            lost_races.append((candidate, track_id))
            continue
        new_play_ids.update(dict.fromkeys(_present(_dedup_keys(candidate, track_id)), play_id))
        outcomes[candidate.index] = PlayOutcome(
            index=candidate.index,
            status=PlayStatus.ACCEPTED,
            play_id=play_id,
            matched=track_id is not None,
        )
    if lost_races:
        # A concurrent request stored these first (the insert skipped them): duplicates of
        # its plays, like any resubmission.
        by_track, by_metadata = _stored_play_keys(
            listener_id=listener.id, played_at={candidate.played_at for candidate, _ in lost_races}
        )
        for candidate, track_id in lost_races:
            keys = _dedup_keys(candidate, track_id)
            play_id = by_track.get(keys[0]) or by_metadata.get(keys[1])
            new_play_ids.update(dict.fromkeys(_present(keys), play_id))
            outcomes[candidate.index] = PlayOutcome(
                index=candidate.index, status=PlayStatus.DUPLICATE, play_id=play_id
            )

    results = []
    for candidate in candidates:
        outcome = outcomes[candidate.index]
        if outcome.status is PlayStatus.DUPLICATE and outcome.play_id is None:
            track_key, metadata_key = _dedup_keys(candidate, track_ids.get(candidate.index))
            play_id = new_play_ids.get(track_key) or new_play_ids.get(metadata_key)
            outcome = PlayOutcome(index=outcome.index, status=outcome.status, play_id=play_id)
        results.append(outcome)

    accepted = len(to_insert) - len(lost_races)
    if announce and accepted:
        announce_plays_recorded(listener_id=listener.id, count=accepted)
    return results


def announce_plays_recorded(*, listener_id: int, count: int) -> None:
    """Send ``plays_recorded`` once the current transaction commits (at once outside one)."""

    def send() -> None:
        # A subscriber's failure must not turn a stored batch into an error for the client.
        for receiver, result in plays_recorded.send_robust(
            sender=Play, listener_id=listener_id, count=count
        ):
            if isinstance(result, Exception):
                logger.error(
                    "plays_recorded receiver failed",
                    exc_info=result,
                    extra={"listener_id": listener_id, "receiver": repr(receiver)},
                )

    transaction.on_commit(send)


def _resolve_tracks(candidates: Sequence[PlayCandidate]) -> dict[int, int | None]:
    """index -> catalogue track id: the one named if it exists, else the metadata's match."""
    named = {c.track_id for c in candidates if c.track_id is not None}
    known = set()
    if named:
        tracks = Track.objects.filter(id__in=in_one_parameter(named, "bigint"))
        known = set(tracks.values_list("id", flat=True))
    resolved: dict[int, int | None] = {
        c.index: c.track_id if c.track_id in known else None
        for c in candidates
        if c.track_id is not None
    }
    described = [c for c in candidates if c.track_id is None]
    for candidate, track_id in zip(
        described, match_tracks([c.metadata for c in described]), strict=True
    ):
        resolved[candidate.index] = track_id
    return resolved


def _dedup_keys(candidate: PlayCandidate, track_id: int | None) -> tuple[tuple, tuple]:
    track_key = ("track", track_id, candidate.played_at) if track_id is not None else ()
    metadata_key = (
        ("metadata", candidate.metadata.key_digest, candidate.played_at)
        if candidate.metadata is not None
        else ()
    )
    return track_key, metadata_key


def _present(keys: tuple[tuple, tuple]) -> list[tuple]:
    """The keys a play has: an empty one stands for "none of this kind"."""
    return [key for key in keys if key]


def _stored_play_keys(
    *, listener_id: int, played_at: set[dt.datetime]
) -> tuple[dict[tuple, int], dict[tuple, int]]:
    """The dedup keys of the listener's stored plays at those times, each to its play's id."""
    rows = Play.objects.filter(
        listener_id=listener_id, played_at__in=in_one_parameter(played_at, "timestamptz")
    ).values_list("id", "track_id", "metadata_key", "played_at")
    by_track: dict[tuple, int] = {}
    by_metadata: dict[tuple, int] = {}
    for play_id, track_id, metadata_key, stored_at in rows:
        if track_id is not None:
            by_track.setdefault(("track", track_id, stored_at), play_id)
        if metadata_key:
            by_metadata.setdefault(("metadata", metadata_key, stored_at), play_id)
    return by_track, by_metadata


def _insert_plays(
    *, listener: User, plays: Sequence[tuple[PlayCandidate, int | None]]
) -> list[int | None]:
    """Store the batch's new plays; each one's id, or None where a concurrent request stored
    the same play first (the insert skips what the unique constraints refuse).

    No two of the plays share a dedup key (``record_plays`` keeps the first).
    """
    if not plays:
        return []
    received_at = timezone.now()
    rows = [
        _new_play_row(
            listener_id=listener.id, received_at=received_at, candidate=candidate, track_id=track_id
        )
        for candidate, track_id in plays
    ]
    return _PLAY_INSERTS.get(connection.vendor, _insert_play_objects)(rows)


def _new_play_row(
    *, listener_id: int, received_at: dt.datetime, candidate: PlayCandidate, track_id: int | None
) -> dict[str, Any]:
    """A new play's values, by column."""
    metadata = candidate.metadata
    return {
        "listener_id": listener_id,
        "track_id": track_id,
        "played_at": candidate.played_at,
        "ms_played": candidate.ms_played,
        "client": candidate.client[:200],
        "received_at": received_at,
        "chosen_by_user": candidate.chosen_by_user,
        "track_name": metadata.track_name if metadata else "",
        "artist_name": metadata.artist_name if metadata else "",
        "release_name": metadata.release_name if metadata else "",
        "recording_mbid": metadata.recording_mbid if metadata else None,
        "isrc": metadata.isrc if metadata else "",
        "duration_ms": metadata.duration_ms if metadata else None,
        "metadata_key": metadata.key_digest if metadata else "",
    }


def _insert_plays_in_one_statement(rows: list[dict[str, Any]]) -> list[int | None]:
    """PostgreSQL: the whole batch in one statement, sent as one JSON parameter.

    Django's ``bulk_create`` builds a model instance per play and quotes 14 parameters per
    row, most of a 1,000-play request's time. Arrays (``unnest``) are a handful of parameters,
    but psycopg still quotes every value of them in a Python loop (about 15 ms for 1,000
    rows); the json module encodes the batch in about 5. The table's own row type gives each
    value its column's type and limits. The statement answers the position in the batch of
    each row it inserted, with the new id: nothing is read back, and no timestamp is parsed.
    """
    received_at = rows[0]["received_at"].isoformat()  # one time for the whole batch
    document = json.dumps(
        [
            {**row, "played_at": row["played_at"].isoformat(), "received_at": received_at}
            for row in rows
        ],
        default=json_default,
    )
    ids: list[int | None] = [None] * len(rows)
    with connection.cursor() as cursor:
        cursor.execute(_json_insert_sql(tuple(rows[0])), [document])
        for position, play_id in cursor.fetchall():
            ids[position - 1] = play_id
    return ids


@functools.cache
def _json_insert_sql(columns: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    table = quote(Play._meta.db_table)
    inserted = ", ".join(map(quote, columns))
    track, metadata_key, played_at = map(quote, ("track_id", "metadata_key", "played_at"))
    # An inserted row is told by its time, track and metadata key: no two rows share them.
    return f"""
        WITH batch AS (
            SELECT * FROM json_populate_recordset(NULL::{table}, %s) WITH ORDINALITY
        ), inserted AS (
            INSERT INTO {table} ({inserted}) SELECT {inserted} FROM batch
            ON CONFLICT DO NOTHING
            RETURNING {quote("id")}, {track}, {metadata_key}, {played_at}
        )
        SELECT batch.ordinality, inserted.{quote("id")}
        FROM batch JOIN inserted
            ON inserted.{played_at} = batch.{played_at}
            AND inserted.{metadata_key} = batch.{metadata_key}
            AND inserted.{track} IS NOT DISTINCT FROM batch.{track}
    """


def _insert_play_objects(rows: list[dict[str, Any]]) -> list[int | None]:
    """Any database: Django's ``bulk_create``, then the new plays read back for their ids.

    It cannot tell which rows a conflict skipped: a play a concurrent request stored first
    reads back as the batch's own.
    """
    attribute = {field.column: field.attname for field in Play._meta.concrete_fields}
    Play.objects.bulk_create(
        [Play(**{attribute[column]: value for column, value in row.items()}) for row in rows],
        batch_size=500,
        ignore_conflicts=True,
    )
    by_track, by_metadata = _stored_play_keys(
        listener_id=rows[0]["listener_id"], played_at={row["played_at"] for row in rows}
    )
    return [
        by_track.get(("track", row["track_id"], row["played_at"]))
        if row["track_id"] is not None
        else by_metadata.get(("metadata", row["metadata_key"], row["played_at"]))
        for row in rows
    ]


_PLAY_INSERTS: dict[str, Callable[[list[dict[str, Any]]], list[int | None]]] = {
    "postgresql": _insert_plays_in_one_statement
}


# --- Matching plays that were stored unmatched -----------------------------------------------


@dataclass
class MatchSummary:
    examined: int = 0
    matched: int = 0
    removed_duplicates: int = 0

    def add(self, other: MatchSummary) -> None:
        self.examined += other.examined
        self.matched += other.matched
        self.removed_duplicates += other.removed_duplicates


def match_waiting_plays(*, plays: Sequence[Play]) -> MatchSummary:
    """Match unmatched plays to the catalogue as it is now and attach those that match.

    A play that, once matched, repeats one already stored (same listener, track and
    played_at: the same listen sent twice with different metadata, say) is that listen; the
    unmatched copy is removed rather than counted twice. Call inside a transaction with the
    plays locked.
    """
    summary = MatchSummary(examined=len(plays))
    track_ids = match_tracks([play_metadata(play) for play in plays])
    matched = [
        (play, track_id) for play, track_id in zip(plays, track_ids, strict=True) if track_id
    ]
    if not matched:
        return summary
    taken = set(
        Play.objects.filter(
            track_id__in={track_id for _, track_id in matched},
            listener_id__in={play.listener_id for play, _ in matched},
            played_at__in={play.played_at for play, _ in matched},
        ).values_list("listener_id", "track_id", "played_at")
    )
    to_attach: list[Play] = []
    to_remove: list[int] = []
    for play, track_id in matched:
        key = (play.listener_id, track_id, play.played_at)
        if key in taken:
            to_remove.append(play.id)
        else:
            taken.add(key)
            play.track_id = track_id
            to_attach.append(play)
    if to_remove:
        Play.objects.filter(id__in=to_remove).delete()
    Play.objects.bulk_update(to_attach, ["track"], batch_size=500)
    summary.matched = len(to_attach)
    summary.removed_duplicates = len(to_remove)
    return summary


def play_metadata(play: Play) -> TrackMetadata:
    return TrackMetadata(
        track_name=play.track_name,
        artist_name=play.artist_name,
        release_name=play.release_name,
        recording_mbid=play.recording_mbid,
        isrc=play.isrc,
        duration_ms=play.duration_ms,
    )


def attach_waiting_plays(
    *, track: Track, after_id: int = 0, limit: int = MATCH_BATCH_SIZE
) -> tuple[MatchSummary, int | None]:
    """Attach one batch of the unmatched plays a (new) track may take.

    Candidates share the track's recording id, ISRC, song key, or its title + artist with no
    album; each is then matched by the full rules, so the outcome is the one the play would
    have had if the track had been there when it arrived. Returns the summary and the id to
    continue after, or None when no candidates are left.
    """
    waiting = waiting_plays_for_track(track=track).filter(id__gt=after_id).order_by("id")
    with transaction.atomic():
        plays = list(waiting.select_for_update()[:limit])
        summary = match_waiting_plays(plays=plays)
    return summary, (plays[-1].id if len(plays) == limit else None)


def waiting_plays_for_track(*, track: Track) -> QuerySet[Play]:
    keys = {
        key_digest(track.song_key),
        key_digest(song_key(title=track.title, artist=track.artist, album="")),
    }
    candidates = Q(metadata_key__in=keys)
    if track.musicbrainz_recording_id:
        candidates |= Q(recording_mbid=track.musicbrainz_recording_id)
    if track.isrc:
        candidates |= Q(isrc=track.isrc)
    return Play.objects.filter(candidates, track__isnull=True)


def attach_waiting_plays_to_new_track(*, track: Track) -> None:
    """Run inside the transaction that created ``track``: attach what it can take right away
    and leave the rest, if there is more than a request should do, to a task."""
    from listening.tasks import attach_waiting_plays_to_track

    try:
        with transaction.atomic():
            _, resume_after = attach_waiting_plays(track=track, limit=INLINE_ATTACH_LIMIT)
    except IntegrityError:
        # A play stored concurrently got in the way; the task retries from the start.
        logger.warning("attaching waiting plays deferred", extra={"track_id": track.id})
        resume_after = 0
    if resume_after is not None:
        track_id = track.id
        transaction.on_commit(lambda: attach_waiting_plays_to_track.delay(track_id, resume_after))


def attach_all_waiting_plays(*, track: Track, after_id: int = 0) -> MatchSummary:
    total = MatchSummary()
    resume_after: int | None = after_id
    while resume_after is not None:
        summary, resume_after = attach_waiting_plays(track=track, after_id=resume_after)
        total.add(summary)
    return total


def match_unmatched_plays(
    *, batch_size: int = MATCH_BATCH_SIZE, on_progress: Callable[[int], None] | None = None
) -> MatchSummary:
    """Try every unmatched play against the catalogue again, one locked batch at a time."""
    total = MatchSummary()
    last_id = 0
    while True:
        with transaction.atomic():
            plays = list(
                Play.objects.filter(track__isnull=True, id__gt=last_id)
                .order_by("id")
                .select_for_update()[:batch_size]
            )
            if not plays:
                return total
            total.add(match_waiting_plays(plays=plays))
        last_id = plays[-1].id
        if on_progress is not None:
            on_progress(len(plays))


# --- Imports ---------------------------------------------------------------------------------


class ImportTooLarge(Exception):
    def __init__(self, size: int) -> None:
        self.size = size
        self.limit = settings.IMPORT_MAX_UPLOAD_BYTES
        super().__init__(f"the file is {size} bytes; the limit for an import is {self.limit} bytes")


def create_import_job(*, listener: User, upload: File, format: str | None = None) -> ImportJob:
    """Store an uploaded export and queue its import once the caller commits.

    ``format`` None means: tell from the file's first bytes.
    """
    if upload.size > settings.IMPORT_MAX_UPLOAD_BYTES:
        raise ImportTooLarge(upload.size)
    if upload.size == 0:
        raise ValidationError({"file": ["the file is empty (0 bytes)"]})
    if format is None:
        upload.seek(0)
        format = detect_format(upload.read(FORMAT_SNIFF_BYTES))
        upload.seek(0)
        if format is None:
            raise ValidationError(
                {
                    "format": [
                        "could not tell the format from the file; send format=spotify for a "
                        "Spotify streaming-history JSON file or format=listenbrainz for a "
                        "ListenBrainz export (JSON lines)"
                    ]
                }
            )
    if format not in ImportFormat.values:
        raise ValidationError({"format": [f"{format!r} is not one of {ImportFormat.values}"]})

    name = PurePosixPath(upload.name or "upload.json").name
    with transaction.atomic():
        job = ImportJob(listener=listener, format=format, original_name=name[:255])
        job.file.save(name, upload, save=False)
        job.save()
        job_id = job.id
        transaction.on_commit(lambda: _queue_import(job_id))
    return job


def _queue_import(job_id: int) -> None:
    from listening.tasks import run_import_job

    run_import_job.delay(job_id)


def run_import(*, job: ImportJob) -> ImportJob:
    """Import a queued job's file: read and check all of it, then store it in one transaction.

    A malformed file fails the job with the reason and stores nothing. Progress (entries read
    and checked) is saved as it goes, outside the storing transaction, so a client polling the
    job sees it move. Running a job again is harmless: a finished job is left alone, and one
    whose worker died mid-way had nothing committed.
    """
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
            return job
        job.status = ImportStatus.RUNNING
        job.started_at = timezone.now()
        job.processed = 0
        job.failure_reason = ""
        job.save(update_fields=["status", "started_at", "processed", "failure_reason"])

    try:
        with job.file.open("rb") as stored:
            data = stored.read()
    except FileNotFoundError:
        return mark_import_failed(
            job=job,
            reason="the uploaded file is no longer in storage; nothing was stored. Upload again.",
        )

    def save_progress(processed: int, total: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(processed=processed, total=total)

    try:
        parsed = parse_import(data=data, format=job.format, on_progress=save_progress)
    except ImportFileError as error:
        return mark_import_failed(job=job, reason=str(error))

    candidates = [
        PlayCandidate(
            index=play.position,
            played_at=play.played_at,
            metadata=play.metadata,
            ms_played=play.ms_played,
            client=play.client,
        )
        for play in parsed.plays
    ]
    counts = {status: 0 for status in PlayStatus}
    unmatched = 0
    with transaction.atomic():
        for start in range(0, len(candidates), settings.MAX_PLAYS_PER_BATCH):
            batch = candidates[start : start + settings.MAX_PLAYS_PER_BATCH]
            for outcome in record_plays(listener=job.listener, candidates=batch, announce=False):
                counts[outcome.status] += 1
                if outcome.status is PlayStatus.ACCEPTED and not outcome.matched:
                    unmatched += 1
        job.status = ImportStatus.DONE
        job.processed = parsed.total
        job.total = parsed.total
        job.summary = {
            "accepted": counts[PlayStatus.ACCEPTED],
            "duplicate": counts[PlayStatus.DUPLICATE],
            "unmatched": unmatched,
            "skipped": parsed.skipped,
            "rejected": parsed.rejected + counts[PlayStatus.REJECTED],
        }
        job.finished_at = timezone.now()
        job.save()
        if counts[PlayStatus.ACCEPTED]:
            announce_plays_recorded(listener_id=job.listener_id, count=counts[PlayStatus.ACCEPTED])
        if settings.IMPORT_FILE_RETENTION == "delete-on-success":
            # Robust: a storage error is logged, and the sweep deletes the file later; the
            # import itself succeeded.
            transaction.on_commit(lambda: delete_import_file(job=job), robust=True)
    return job


def mark_import_failed(*, job: ImportJob, reason: str) -> ImportJob:
    job.status = ImportStatus.FAILED
    job.failure_reason = reason
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "failure_reason", "finished_at"])
    return job


def fail_stalled_imports(*, limit: int = 500) -> int:
    """Fail running imports that no task will finish, with the reason; returns how many.

    An import whose retries ran out, or whose worker was lost where the broker does not give
    its task back, would otherwise show "running" forever.
    """
    jobs = fail_abandoned_rows(
        stalled_import_jobs(now=timezone.now()),
        limit=limit,
        fail=lambda job: mark_import_failed(
            job=job,
            reason=(
                f"the import stopped without finishing: nothing was heard from it for "
                f"{settings.IMPORT_STALL_MINUTES} minutes after its last attempt started "
                f"({job.started_at:%Y-%m-%d %H:%M} UTC). Its worker was lost, or storage or "
                "the database stayed unavailable through every retry. Nothing was stored; "
                "upload the file again."
            ),
        ),
    )
    if jobs:
        logger.warning("failed stalled imports", extra={"jobs": [job.id for job in jobs]})
    return len(jobs)


def delete_import_file(*, job: ImportJob) -> None:
    """Delete an import's uploaded file from storage; the job and its summary stay."""
    if not job.file:
        return
    job.file.delete(save=False)
    job.save(update_fields=["file"])


def delete_expired_import_files(*, limit: int = 500) -> int:
    """Delete the uploaded files ``IMPORT_FILE_RETENTION`` says must go; returns how many."""
    jobs = list(import_files_due_for_deletion(now=timezone.now()).order_by("id")[:limit])
    for job in jobs:
        delete_import_file(job=job)
    return len(jobs)
