from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from catalogue.models import Track
from listening.models import Play
from users.models import User


class PlayStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


@dataclass(frozen=True)
class PlayCandidate:
    """A play that passed field validation; ``index`` is its position in the request."""

    index: int
    track_id: int
    played_at: dt.datetime
    ms_played: int | None = None
    client: str = ""


@dataclass(frozen=True)
class PlayOutcome:
    index: int
    status: PlayStatus
    play_id: int | None = None
    reason: dict | None = None


def record_plays(*, listener: User, candidates: Sequence[PlayCandidate]) -> list[PlayOutcome]:
    """Store a batch of plays, reporting each one as accepted, duplicate or rejected.

    A play already stored (same listener, track and played_at), or repeated within the batch,
    is a duplicate and is not counted twice. Plays of unknown tracks are rejected with a
    reason while the rest of the batch is kept. The insert ignores conflicts, so a concurrent
    resubmission of the same plays can never create a second row.
    """
    known_track_ids = set(
        Track.objects.filter(id__in={c.track_id for c in candidates}).values_list("id", flat=True)
    )
    already_stored = _stored_play_keys(listener=listener, candidates=candidates)

    outcomes: dict[int, PlayOutcome] = {}
    seen_in_batch: set[tuple[int, dt.datetime]] = set()
    to_insert: list[PlayCandidate] = []
    for candidate in candidates:
        key = (candidate.track_id, candidate.played_at)
        if candidate.track_id not in known_track_ids:
            outcomes[candidate.index] = PlayOutcome(
                index=candidate.index,
                status=PlayStatus.REJECTED,
                reason={"track": [f"track {candidate.track_id} is not in the catalogue"]},
            )
        elif key in already_stored or key in seen_in_batch:
            outcomes[candidate.index] = PlayOutcome(
                index=candidate.index, status=PlayStatus.DUPLICATE
            )
        else:
            seen_in_batch.add(key)
            to_insert.append(candidate)

    with transaction.atomic():
        Play.objects.bulk_create(
            [
                Play(
                    listener=listener,
                    track_id=c.track_id,
                    played_at=c.played_at,
                    ms_played=c.ms_played,
                    client=c.client,
                )
                for c in to_insert
            ],
            batch_size=500,
            ignore_conflicts=True,
        )
    for candidate in to_insert:
        outcomes[candidate.index] = PlayOutcome(index=candidate.index, status=PlayStatus.ACCEPTED)

    play_ids = _stored_play_keys(listener=listener, candidates=candidates)
    return [
        _with_play_id(outcomes[c.index], play_ids.get((c.track_id, c.played_at)))
        for c in candidates
    ]


def _stored_play_keys(
    *, listener: User, candidates: Sequence[PlayCandidate]
) -> dict[tuple[int, dt.datetime], int]:
    if not candidates:
        return {}
    rows = Play.objects.filter(
        listener=listener,
        track_id__in={c.track_id for c in candidates},
        played_at__in={c.played_at for c in candidates},
    ).values_list("track_id", "played_at", "id")
    return {(track_id, played_at): play_id for track_id, played_at, play_id in rows}


def _with_play_id(outcome: PlayOutcome, play_id: int | None) -> PlayOutcome:
    if outcome.status is PlayStatus.REJECTED:
        return outcome
    return PlayOutcome(index=outcome.index, status=outcome.status, play_id=play_id)
